package oauthproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
)

const (
	upClient  = "proxy-app-client"
	upSecret  = "s3cr3t-of-the-upstream-app-0123456789"
	alice     = "alice"
	alicePass = "correct horse battery staple"
	bob       = "bob"
	bobPass   = "bob's own very long password"
	// clientCB is a redirect URI, never dialed: the test clients stop at
	// redirects (CheckRedirect), so nothing listens on this port.
	clientCB   = "http://127.0.0.1:8765/callback"
	testScopes = "openid email"
)

// fakeClock is a settable clock shared by the proxy and the fake.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a proxy on a real HTTP server in front of a fake Cognito, with
// every log line and page it produces scanned for secrets when the test
// ends.
type env struct {
	t        testing.TB
	fake     *fakecognito.Fake
	srv      *httptest.Server
	proxy    *Server
	origin   string
	resource string
	key      []byte
	logs     *observer.ObservedLogs
	clock    *fakeClock
	scan     *secretscan.Scanner
	client   *http.Client // no cookies, no redirects: a client app's HTTP
}

func newEnv(t testing.TB, adjust ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, clock: &fakeClock{t: time.Now()}, scan: secretscan.New()}
	e.fake = fakecognito.Start()
	t.Cleanup(e.fake.Close)
	e.fake.SetClock(e.clock.now)
	e.fake.AddUser(fakecognito.User{Username: alice, Password: alicePass, Email: "alice@example.com"})
	e.fake.AddUser(fakecognito.User{Username: bob, Password: bobPass, Email: "bob@example.com"})

	e.srv = httptest.NewUnstartedServer(nil)
	e.origin = "http://" + e.srv.Listener.Addr().String()
	e.resource = e.origin + "/mcp"
	e.fake.AddClient(fakecognito.AppClient{ID: upClient, Secret: upSecret, CallbackURLs: []string{e.origin + PathCallback}})

	e.key = NewKey()
	e.scan.Add("sealing key", b64.EncodeToString(e.key))
	kr, err := NewKeyRing(e.resource, e.key)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	cfg := Config{
		Resource: e.resource,
		Scopes:   strings.Fields(testScopes),
		Upstream: Upstream{Issuer: e.fake.URL(), ClientID: upClient, ClientSecret: upSecret},
		Keys:     kr,
		Logger:   zap.New(core),
		Now:      e.clock.now,
	}
	for _, f := range adjust {
		f(&cfg)
	}
	e.proxy, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.proxy.Close)
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.proxy.ServeHTTP(w, r) {
			http.Error(w, "not a proxy endpoint", http.StatusTeapot)
		}
	})
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.client = &http.Client{
		Transport:     e.scan.Transport(nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(e.checkLeaks)
	return e
}

// checkLeaks scans every log line the proxy wrote. (Responses read
// through e.client are captured too; token responses legitimately carry
// tokens, so tests that read them use e.do, which does not capture.)
func (e *env) checkLeaks() {
	var sb strings.Builder
	for _, l := range e.logs.All() {
		b, _ := json.Marshal(l.ContextMap())
		sb.WriteString(l.Message)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	e.scan.Capture("proxy log", []byte(sb.String()))
	e.scan.Check(e.t)
}

// do sends a request without capturing the response for the leak scan.
func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	c := &http.Client{CheckRedirect: e.client.CheckRedirect}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// send makes a request through the scanned client (no cookie jar, no
// redirects followed).
func (e *env) send(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// get requests a proxy URL through the scanned client.
func (e *env) get(rawURL string) (*http.Response, string) {
	e.t.Helper()
	return e.send(mustRequest(http.MethodGet, rawURL))
}

// register registers a client with the given redirect URIs.
func (e *env) register(redirects ...string) string {
	e.t.Helper()
	status, body := e.registerRaw(map[string]any{"client_name": "Test Client", "redirect_uris": redirects})
	if status != http.StatusCreated {
		e.t.Fatalf("register: %d %s", status, body)
	}
	var r struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	return r.ClientID
}

func (e *env) registerRaw(meta any) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(meta)
	req, _ := http.NewRequest(http.MethodPost, e.origin+PathRegister, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	resp, body := e.send(req)
	return resp.StatusCode, body
}

// authRequest is a client's authorization request.
type authRequest struct {
	clientID, redirectURI, state, verifier string
	params                                 url.Values // overrides
}

func newAuthRequest(clientID, redirectURI string) *authRequest {
	return &authRequest{clientID: clientID, redirectURI: redirectURI, state: randomToken(16), verifier: newVerifier(), params: url.Values{}}
}

func (e *env) authURL(a *authRequest) string {
	e.scan.Add("client PKCE verifier", a.verifier)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {a.clientID},
		"redirect_uri":          {a.redirectURI},
		"state":                 {a.state},
		"code_challenge":        {s256(a.verifier)},
		"code_challenge_method": {"S256"},
		"resource":              {e.resource},
		"scope":                 {testScopes},
	}
	for k, v := range a.params {
		if len(v) == 0 || v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return e.origin + PathAuthorize + "?" + q.Encode()
}

// browser returns a scripted browser for user that stops at redirectURI.
// Its redirects carry codes by design (that is the protocol); the pages it
// is shown are scanned when the test ends.
func (e *env) browser(user, pass, redirectURI string) *loginbrowser.Browser {
	b := loginbrowser.New(user, pass, loginbrowser.StopAt(redirectURI))
	e.t.Cleanup(func() {
		for _, p := range b.Pages {
			e.scan.Capture("page "+p.URL, []byte(p.Body))
		}
	})
	return b
}

// login runs the browser part of a flow and returns the client redirect.
func (e *env) login(b *loginbrowser.Browser, a *authRequest) *url.URL {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, err := b.Login(ctx, e.authURL(a))
	if err != nil {
		for _, p := range b.Pages {
			e.t.Logf("page %s (%d):\n%s", p.URL, p.Status, p.Body)
		}
		e.t.Fatalf("login: %v", err)
	}
	return u
}

// codeFor runs a whole browser login for a and returns the proxy's code.
func (e *env) codeFor(a *authRequest, user, pass string) string {
	e.t.Helper()
	u := e.login(e.browser(user, pass, a.redirectURI), a)
	q := u.Query()
	if q.Get("state") != a.state || q.Get("iss") != e.origin || q.Get("code") == "" {
		e.t.Fatalf("client redirect %v: want code, state %q and iss %q", u, a.state, e.origin)
	}
	e.scan.Add("proxy code", q.Get("code"))
	return q.Get("code")
}

// authorized registers a client and runs alice's login for it: the
// client's request and the proxy code it got.
func (e *env) authorized() (*authRequest, string) {
	e.t.Helper()
	a := newAuthRequest(e.register(clientCB), clientCB)
	return a, e.codeFor(a, alice, alicePass)
}

// token posts to the token endpoint; the response is not leak-scanned
// (it carries tokens by design).
func (e *env) token(form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.origin+PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := e.do(req)
	if resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Errorf("token response Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		e.t.Fatalf("token response is not JSON: %d %s", resp.StatusCode, body)
	}
	if rt, _ := m["refresh_token"].(string); rt != "" {
		e.scan.Add("proxy refresh token", rt)
	}
	if _, ok := m["error"]; ok {
		// Error bodies must be clean: scan them.
		e.scan.Capture("token error", []byte(body))
	}
	return resp.StatusCode, m
}

func (e *env) redeem(a *authRequest, code string) (int, map[string]any) {
	return e.token(url.Values{
		"grant_type": {"authorization_code"}, "client_id": {a.clientID}, "code": {code},
		"redirect_uri": {a.redirectURI}, "code_verifier": {a.verifier}, "resource": {e.resource},
	})
}

func wantOAuthError(t testing.TB, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d %s", status, body, wantStatus, wantCode)
	}
}

// secondInstance is another proxy with the same configuration and key
// but its own memory (used-code set, caches), on its own server: a second
// member of a cluster.
func (e *env) secondInstance() *env {
	e.t.Helper()
	return e.secondInstanceWith(nil)
}

// secondInstanceWith is secondInstance with the given used-code set (nil:
// its own in-process one).
func (e *env) secondInstanceWith(used UsedCodes) *env {
	e.t.Helper()
	kr, _ := NewKeyRing(e.resource, e.key)
	cfg := e.proxy.cfg
	cfg.Keys = kr
	cfg.UsedCodes = used
	p, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(p.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.ServeHTTP(w, r) {
			http.Error(w, "not a proxy endpoint", http.StatusTeapot)
		}
	}))
	e.t.Cleanup(srv.Close)
	o := *e
	o.proxy, o.srv, o.origin = p, srv, srv.URL
	return &o
}
