// Package fakeaws is a wire-level stand-in for the AWS services this project
// calls. One HTTP server answers every service the way AWS does on the wire
// (JSON 1.1, Smithy RPCv2 CBOR, the STS query protocol and REST JSON), so the
// real aws-sdk-go-v2 clients run unmodified against it. It verifies SigV4 on
// the operations AWS signs, records which key signed each call, and can
// inject faults. Tests, benchmarks and the zero-setup demo all use it.
package fakeaws

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// OpHandler answers one operation. It returns a Go value that the fake
// encodes in the service's protocol, RawXML for the query protocol, or an
// error (preferably *Error) that is encoded as that protocol's error shape.
type OpHandler func(r *Request) (any, error)

// Request is one decoded AWS call.
type Request struct {
	Service     string // SigV4 signing name, e.g. "logs", "monitoring"
	Op          string
	Region      string
	AccessKeyID string // "" when the call was unsigned
	Owner       string // owner of the signing key, as given to IssueCredentials
	Input       map[string]any
	Form        url.Values
	HTTP        *http.Request
	Body        []byte
	fake        *Fake
}

// Now is the fake's clock.
func (r *Request) Now() time.Time { return r.fake.now() }

// Fake returns the server the request arrived at.
func (r *Request) Fake() *Fake { return r.fake }

// Error is an AWS service error. Status defaults to 400.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds a 400 *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// RawXML is a pre-rendered query-protocol response body.
type RawXML string

// Fault makes matching calls fail or slow down.
type Fault struct {
	Status  int    // HTTP status of the injected error; 0 = no error, only Delay
	Code    string // AWS error code, e.g. "ThrottlingException"
	Message string
	Delay   time.Duration // wait before answering (honours client cancellation)
	Reset   bool          // after Delay, drop the connection (TCP RST) without answering
	Times   int           // how many calls it applies to; 0 = until ClearFaults
}

// Call records one request that reached an operation.
type Call struct {
	Service     string
	Op          string
	Region      string
	AccessKeyID string
	Owner       string
	Signed      bool
	Time        time.Time
	// Throttled: a RateLimit refused the call.
	Throttled bool
}

type key struct {
	creds aws.Credentials
	owner string
}

// Fake is the running server.
type Fake struct {
	// URL is the base endpoint for every service.
	URL string

	srv *httptest.Server
	// closing is closed by Close, so long-lived streams (Live Tail) end
	// and let the server shut down.
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	clock    func() time.Time
	keys     map[string]key
	handlers map[string]OpHandler   // service + "." + op
	faults   map[string]*Fault      // op (or service.op)
	rates    map[string]*rateBucket // op (or service.op), see SetRateLimit
	calls    []Call
	state    map[string]any  // per-service state, see State
	answered map[string]bool // SDK invocation IDs answered successfully
	observe  []func(*http.Request, []byte)
}

// Start starts a fake on a loopback port with the default operations of
// every service registered. It speaks plain HTTP: HTTP/1.1, and HTTP/2
// to clients that start with the HTTP/2 preface (h2c with prior
// knowledge, see HTTPClient).
func Start() *Fake {
	f := New()
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Config.Protocols = new(http.Protocols)
	f.srv.Config.Protocols.SetHTTP1(true)
	f.srv.Config.Protocols.SetUnencryptedHTTP2(true)
	f.srv.Start()
	f.URL = f.srv.URL
	return f
}

// StartTLS starts a fake that serves HTTPS with a self-signed certificate
// and negotiates HTTP/2 by ALPN, as AWS endpoints do. Clients must trust
// CertPool (or use HTTPClient).
func StartTLS() *Fake {
	f := New()
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	f.URL = f.srv.URL
	return f
}

// HTTPClient returns an HTTP client that speaks HTTP/2 to the fake: over
// TLS (trusting its certificate) for a StartTLS fake, over cleartext
// (h2c, prior knowledge) for a Start fake. Put it in aws.Config.HTTPClient
// to run the SDK over HTTP/2 as it runs against AWS.
func (f *Fake) HTTPClient() *http.Client {
	if f.srv.TLS != nil {
		return f.srv.Client()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// CertPool returns a pool holding the certificate of a StartTLS fake (nil
// for a plain one), for clients that build their own transport.
func (f *Fake) CertPool() *x509.CertPool {
	if f.srv.TLS == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return pool
}

// New returns a fake that is not listening; serve it with any http.Server.
func New() *Fake {
	f := &Fake{
		closing:  make(chan struct{}),
		clock:    time.Now,
		keys:     map[string]key{},
		handlers: map[string]OpHandler{},
		faults:   map[string]*Fault{},
		state:    map[string]any{},
		answered: map[string]bool{},
	}
	for _, reg := range registry {
		reg(f)
	}
	allMu.Lock()
	all = append(all, f)
	allMu.Unlock()
	return f
}

// every fake of the process, so secret scans cover keys of fakes a test
// made on its own.
var (
	allMu sync.Mutex
	all   []*Fake
)

// AllSecrets returns Secrets of every fake of this process.
func AllSecrets() []string {
	allMu.Lock()
	fakes := append([]*Fake(nil), all...)
	allMu.Unlock()
	var out []string
	for _, f := range fakes {
		out = append(out, f.Secrets()...)
	}
	return out
}

// registry holds the functions with which service files add their default
// operations (see Register).
var registry []func(*Fake)

// Register adds a function that installs default operations on every new
// Fake. Service files call it from init.
func Register(fn func(*Fake)) { registry = append(registry, fn) }

// Close stops the server. Open Live Tail streams end first.
func (f *Fake) Close() {
	f.closeOnce.Do(func() { close(f.closing) })
	if f.srv != nil {
		f.srv.Close()
	}
}

// CloseClientConnections drops every open connection to the fake (idle
// keep-alive ones included), e.g. before counting goroutines: the clients
// under test keep idle pools of varying size.
func (f *Fake) CloseClientConnections() { f.srv.CloseClientConnections() }

// SetClock replaces the fake's clock (expiry, query state machines).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	f.clock = now
	f.mu.Unlock()
}

func (f *Fake) now() time.Time {
	f.mu.Lock()
	c := f.clock
	f.mu.Unlock()
	return c()
}

// Handle registers (or replaces) the handler of service.op.
func (f *Fake) Handle(service, op string, h OpHandler) {
	f.mu.Lock()
	f.handlers[service+"."+op] = h
	f.mu.Unlock()
}

// IssueCredentials mints distinct temporary credentials that the fake will
// accept until expires.
func (f *Fake) IssueCredentials(owner string, expires time.Time) aws.Credentials {
	c := aws.Credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(randHex(8)),
		SecretAccessKey: randHex(20),
		SessionToken:    "FwoG" + randHex(32),
		CanExpire:       !expires.IsZero(),
		Expires:         expires,
		Source:          "fakeaws",
	}
	f.AddCredentials(c, owner)
	return c
}

// AddCredentials makes the fake accept the given keys, e.g. a server's own
// long-term credentials.
func (f *Fake) AddCredentials(c aws.Credentials, owner string) {
	f.mu.Lock()
	f.keys[c.AccessKeyID] = key{creds: c, owner: owner}
	f.mu.Unlock()
}

// OnRequest makes fn see every request the fake receives, headers and
// body, before routing or signature checks: token-passthrough and secret
// tests inspect everything that reached "AWS", not only decoded calls.
func (f *Fake) OnRequest(fn func(r *http.Request, body []byte)) {
	f.mu.Lock()
	f.observe = append(f.observe, fn)
	f.mu.Unlock()
}

// Secrets returns every secret access key and session token the fake has
// issued or accepted, for secret scans.
func (f *Fake) Secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range f.keys {
		for _, s := range []string{k.creds.SecretAccessKey, k.creds.SessionToken} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Owner returns who a key was issued to.
func (f *Fake) Owner(accessKeyID string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[accessKeyID]
	return k.owner, ok
}

// SetFault injects a fault for an operation name ("GetId") or a
// service-qualified one ("sts.AssumeRole").
func (f *Fake) SetFault(op string, fl Fault) {
	f.mu.Lock()
	f.faults[op] = &fl
	f.mu.Unlock()
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = map[string]*Fault{}
	f.mu.Unlock()
}

// Calls returns the recorded calls of op ("" = all). op may be qualified
// with the service ("sts.AssumeRole").
func (f *Fake) Calls(op string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if op == "" || c.Op == op || c.Service+"."+c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// CallCount returns len(Calls(op)).
func (f *Fake) CallCount(op string) int { return len(f.Calls(op)) }

// ResetCalls forgets recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

func (f *Fake) takeFault(service, op string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.faults[service+"."+op]
	name := service + "." + op
	if !ok {
		fl, ok = f.faults[op]
		name = op
	}
	if !ok {
		return nil
	}
	cp := *fl
	if fl.Times > 0 {
		fl.Times--
		if fl.Times == 0 {
			delete(f.faults, name)
		}
	}
	return &cp
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// State returns the per-service state stored under name, creating it with
// init on first use. Service files keep their seeded data here (log groups,
// metrics, alarms, identities) so each Fake has its own.
func (f *Fake) State(name string, init func() any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.state[name]; ok {
		return v
	}
	v := init()
	f.state[name] = v
	return v
}
