package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// Hostile-world tests through the real edge (issue 8, tests 2, 4 and 5).
// Each test gets a private fake AWS, so it can replace operations and
// inject faults without disturbing the other tests of this binary.

// hostileCaddyfile is the edge with short, test-sized timeouts. The %s
// holes take cloudwatch_mcp options and extra site directives.
const hostileCaddyfile = globalOptions + `
http://localhost:9103 {
	log {
		output file {$E2E_LOGS}/access.log
		format json
	}
	%s
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		role_arn {$E2E_ROLE}
		exchange_timeout 1s
	}
	cloudwatch_mcp {
		%s
	}
}
`

// privateFake starts a fake AWS that trusts the test issuer and points
// every AWS client provisioned from now on (the edge's) at it.
func privateFake(t *testing.T) *fakeaws.Fake {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	f.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{issuer.Issuer()}})
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	// The SDK's default retryer backs off up to 20 s; two attempts keep the
	// outage tests short while still exercising a retry.
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	return f
}

func startHostile(t *testing.T, siteExtra, mcpOptions string) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort: adminPort, LoadRequestTimeout: 30 * time.Second, TestRequestTimeout: 30 * time.Second,
	})
	// Debug logs, access logs and every response read through
	// hostileClient must be free of issued secrets and JWTs (secretscan).
	scan.Begin(t)
	tester.InitServer(fmt.Sprintf(hostileCaddyfile, siteExtra, mcpOptions), "caddyfile")
	return tester
}

// mcpReply is one answered MCP HTTP request.
type mcpReply struct {
	status  int
	header  http.Header
	session string
	msg     struct {
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	body string
}

func (r mcpReply) text() string {
	if len(r.msg.Result.Content) == 0 {
		return ""
	}
	return r.msg.Result.Content[0].Text
}

// hostileClient's responses (status, headers, bodies) are captured for the
// secret scan.
var hostileClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: scan.Transport(&http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}),
}

// mcpDo sends one raw MCP request. session "" sends none; method is the
// HTTP method. The JSON-RPC answer is read from JSON or from an SSE stream.
func mcpDo(client *http.Client, method, tok, session, body string) (mcpReply, error) {
	return mcpDoAt(client, endpoint(), method, tok, session, body)
}

// mcpDoAt is mcpDo against another URL of the edge.
func mcpDoAt(client *http.Client, url, method, tok, session, body string) (mcpReply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp, err := client.Do(mcpRequest(method, url, tok, session, rd))
	if err != nil {
		return mcpReply{}, err
	}
	defer resp.Body.Close()
	var out mcpReply
	out.status, out.header, out.session = resp.StatusCode, resp.Header, resp.Header.Get("Mcp-Session-Id")
	if method == http.MethodGet && resp.StatusCode == http.StatusOK {
		return out, nil // an SSE stream that stays open; the status is the answer
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return out, err
	}
	out.body = string(raw)
	payload := raw
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		payload = nil
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok && strings.Contains(d, `"id"`) {
				payload = []byte(strings.TrimSpace(d))
			}
		}
	}
	if resp.StatusCode == http.StatusOK && len(payload) > 0 {
		if err := json.Unmarshal(payload, &out.msg); err != nil {
			return out, fmt.Errorf("answer %q: %w", payload, err)
		}
	}
	return out, nil
}

const hostileInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}`

func describeCall(id int, prefix string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":%q}}}`, id, prefix)
}

// initSession opens a session for tok and returns its ID.
func initSession(t *testing.T, tok string) string {
	t.Helper()
	r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit)
	if err != nil || r.status != http.StatusOK || r.session == "" {
		t.Fatalf("initialize: %v %d %q %s", err, r.status, r.session, r.body)
	}
	return r.session
}

// taggedLogGroups answers DescribeLogGroups with one group named after the
// requested prefix and records, per call, the prefix and the key owner.
type taggedLogGroups struct {
	mu    sync.Mutex
	calls []taggedCall
}

type taggedCall struct{ prefix, owner, keyID string }

// saw reports whether a call with exactly this prefix reached the fake.
func (tl *taggedLogGroups) saw(prefix string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, c := range tl.calls {
		if c.prefix == prefix {
			return true
		}
	}
	return false
}

func (tl *taggedLogGroups) install(f *fakeaws.Fake) {
	f.Handle("logs", "DescribeLogGroups", func(r *fakeaws.Request) (any, error) {
		p := r.String("logGroupNamePrefix")
		tl.mu.Lock()
		tl.calls = append(tl.calls, taggedCall{prefix: p, owner: r.Owner, keyID: r.AccessKeyID})
		tl.mu.Unlock()
		return map[string]any{"logGroups": []map[string]any{{
			"logGroupName": p, "creationTime": time.Now().UnixMilli(),
			"arn": "arn:aws:logs:us-east-1:123456789012:log-group:" + p + ":*",
		}}}, nil
	})
}

// TestIsolationUnderLoad: 8 users make 500 interleaved tool calls each
// through Caddy (JWT check, per-user credential exchange, MCP, SigV4) while
// a ninth goroutine keeps trying every user's session with another user's
// token. The fake verifies every signature against the key it issued, and
// every call must have been signed with the key issued to the user whose
// request caused it: the log group prefix names the user, the key names
// its owner.
func TestIsolationUnderLoad(t *testing.T) {
	const users, perUser = 8, 500
	f := privateFake(t)
	tagged := &taggedLogGroups{}
	tagged.install(f)
	startHostile(t, "", "")

	names := make([]string, users)
	toks := make([]string, users)
	sessions := make([]string, users)
	for u := range users {
		names[u] = fmt.Sprintf("iso-%d-%d", u, time.Now().UnixNano())
		toks[u] = token(names[u])
		sessions[u] = initSession(t, toks[u])
	}

	var wg sync.WaitGroup
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	start := make(chan struct{})
	for u := range users {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			<-start
			for i := range perUser {
				prefix := fmt.Sprintf("/tenant/%s/%d", names[u], i)
				r, err := mcpDo(hostileClient, http.MethodPost, toks[u], sessions[u], describeCall(i+2, prefix))
				if err != nil || r.status != http.StatusOK || r.msg.Result.IsError {
					fail("%s call %d: %v %d %s", names[u], i, err, r.status, r.body)
					continue
				}
				txt := r.text()
				if !strings.Contains(txt, prefix+`"`) {
					fail("%s call %d did not get its own answer: %s", names[u], i, txt)
				}
				for v, other := range names {
					if v != u && strings.Contains(txt, other) {
						fail("%s call %d saw %s's data: %s", names[u], i, other, txt)
					}
				}
			}
		}(u)
	}
	// Sessions swapped between users while the load runs.
	var swaps, swapRefused atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for k := range 300 {
			a, b := k%users, (k+1+k/users)%users
			if a == b {
				b = (b + 1) % users
			}
			method, body := http.MethodPost, describeCall(9000+k, "/tenant/"+names[a]+"/swapped")
			switch k % 3 {
			case 1:
				method, body = http.MethodGet, ""
			case 2:
				method, body = http.MethodDelete, ""
			}
			r, err := mcpDo(hostileClient, method, toks[a], sessions[b], body)
			swaps.Add(1)
			if err != nil || (r.status != http.StatusForbidden && r.status != http.StatusNotFound) {
				fail("%s %s on %s's session: %v %d %s", names[a], method, names[b], err, r.status, r.body)
				continue
			}
			swapRefused.Add(1)
		}
	}()
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	tagged.mu.Lock()
	calls := append([]taggedCall(nil), tagged.calls...)
	tagged.mu.Unlock()
	if len(calls) != users*perUser {
		t.Fatalf("fake saw %d DescribeLogGroups calls, want %d (a swapped session reached AWS?)", len(calls), users*perUser)
	}
	keyOf := map[string]string{}
	foreign := 0
	for _, c := range calls {
		rest, _ := strings.CutPrefix(c.prefix, "/tenant/")
		user, _, _ := strings.Cut(rest, "/")
		sess, ok := f.Session(c.keyID)
		if c.owner != user || !ok || sess.Owner != user || sess.RoleARN != roleARN {
			foreign++
			continue
		}
		if prev, seen := keyOf[user]; seen && prev != c.keyID {
			t.Errorf("%s signed with two keys", user)
		}
		keyOf[user] = c.keyID
	}
	if foreign != 0 {
		t.Fatalf("%d of %d calls carried a key not issued to the calling user", foreign, len(calls))
	}
	distinct := map[string]bool{}
	for _, k := range keyOf {
		distinct[k] = true
	}
	if len(keyOf) != users || len(distinct) != users {
		t.Fatalf("want %d users with %d distinct keys, got %v", users, users, keyOf)
	}
	if n := f.CallCount("AssumeRoleWithWebIdentity"); n != users {
		t.Fatalf("credential exchanges = %d, want one per user (%d)", n, users)
	}
	if swapRefused.Load() != swaps.Load() {
		t.Fatalf("%d of %d swapped-session requests were not refused", swaps.Load()-swapRefused.Load(), swaps.Load())
	}
	t.Logf("%d users x %d calls: %d calls checked, 0 foreign keys; %d swapped-session requests, all 403/404",
		users, perUser, len(calls), swaps.Load())

	// A session its owner ended stays dead for everyone.
	if r, err := mcpDo(hostileClient, http.MethodDelete, toks[0], sessions[0], ""); err != nil || r.status != http.StatusOK {
		t.Fatalf("owner DELETE: %v %d", err, r.status)
	}
	for _, u := range []int{0, 1} {
		r, err := mcpDo(hostileClient, http.MethodPost, toks[u], sessions[0], describeCall(1, "/tenant/x/1"))
		if err != nil || (r.status != http.StatusNotFound && r.status != http.StatusForbidden) {
			t.Fatalf("%s on an ended session: %v %d", names[u], err, r.status)
		}
	}
}

// TestAWSOutageAndThrottling breaks the vending endpoint and then the
// CloudWatch endpoint in every way we know (5xx, throttling, a hang past
// the timeout, connection resets). Callers get 503 + Retry-After (vending)
// or a readable isError result (tools), never a 500, never a wait much past
// the configured timeout, and the edge recovers with no restart.
func TestAWSOutageAndThrottling(t *testing.T) {
	f := privateFake(t)
	startHostile(t, "", "max_query_timeout 2s")
	faults := []struct {
		name  string
		fault fakeaws.Fault
	}{
		{"5xx", fakeaws.Fault{Status: 500, Code: "InternalFailure", Message: "We encountered an internal error"}},
		{"503", fakeaws.Fault{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable"}},
		{"throttle", fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}},
		{"hang", fakeaws.Fault{Delay: time.Minute}},
		{"reset", fakeaws.Fault{Reset: true}},
	}
	// Generous bounds: the point is "bounded by the configured timeout",
	// not a latency figure (exchange_timeout 1s, max_query_timeout 2s).
	const vendBound, toolBound = 8 * time.Second, 12 * time.Second
	cases := 0

	for i, fc := range faults {
		t.Run("vending "+fc.name, func(t *testing.T) {
			f.ClearFaults()
			f.SetFault("AssumeRoleWithWebIdentity", fc.fault)
			tok := token(fmt.Sprintf("outage-vend-%d-%d", i, time.Now().UnixNano()))
			began := time.Now()
			r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit)
			took := time.Since(began)
			cases++
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q, body %s", r.status, r.header.Get("Retry-After"), r.body)
			}
			if took > vendBound {
				t.Fatalf("answered after %v, past exchange_timeout 1s", took)
			}
			t.Logf("%s: 503 Retry-After %s after %v", fc.name, r.header.Get("Retry-After"), took.Round(time.Millisecond))
			// Recovery without a restart.
			f.ClearFaults()
			if r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit); err != nil || r.status != http.StatusOK {
				t.Fatalf("after the outage: %v %d %s", err, r.status, r.body)
			}
		})
	}

	f.ClearFaults()
	tok := token(fmt.Sprintf("outage-tools-%d", time.Now().UnixNano()))
	session := initSession(t, tok)
	call := func(t *testing.T, id int) (mcpReply, time.Duration) {
		t.Helper()
		began := time.Now()
		r, err := mcpDo(hostileClient, http.MethodPost, tok, session, describeCall(id, "/aws/"))
		if err != nil {
			t.Fatal(err)
		}
		return r, time.Since(began)
	}
	for i, fc := range faults {
		for _, op := range []string{"DescribeLogGroups"} {
			t.Run("tools "+fc.name, func(t *testing.T) {
				f.ClearFaults()
				f.SetFault(op, fc.fault)
				r, took := call(t, 100+i)
				cases++
				if r.status != http.StatusOK || !r.msg.Result.IsError {
					t.Fatalf("want an isError tool result, got %d %s", r.status, r.body)
				}
				if txt := r.text(); len(txt) < 10 || strings.Contains(txt, "panic") || strings.Contains(txt, "goroutine") {
					t.Fatalf("unreadable tool error %q", txt)
				}
				if took > toolBound {
					t.Fatalf("tool answered after %v, past max_query_timeout 2s", took)
				}
				t.Logf("%s: %s (%v)", fc.name, r.text(), took.Round(time.Millisecond))
				f.ClearFaults()
				if r, _ := call(t, 200+i); r.status != http.StatusOK || r.msg.Result.IsError {
					t.Fatalf("after the outage: %d %s", r.status, r.body)
				}
			})
		}
	}
	t.Logf("%d outage cases, each followed by a successful call", cases)
}

// TestReloadsUnderLoad reloads the config 50 times while two users keep
// calling a tool, once with MCP sessions (the default: each user keeps one
// session through every reload) and once stateless. No request may fail,
// goroutines and heap must come back to where they were, and the caches
// must survive: no JWKS fetch and no credential exchange because of a
// reload.
func TestReloadsUnderLoad(t *testing.T) {
	t.Run("sessions", func(t *testing.T) { testReloadsUnderLoad(t, "", false) })
	t.Run("stateless", func(t *testing.T) { testReloadsUnderLoad(t, "stateless", false) })
	t.Run("sessions over HTTP/2", func(t *testing.T) { testReloadsUnderLoad(t, "", true) })
}

func testReloadsUnderLoad(t *testing.T, mcpOptions string, h2 bool) {
	const reloads = 50
	f := privateFake(t)
	tagged := &taggedLogGroups{}
	tagged.install(f)
	url := endpoint()
	load := func(gen int) string {
		cf := fmt.Sprintf(hostileCaddyfile, fmt.Sprintf("header X-Config-Generation %d", gen), mcpOptions)
		if h2 {
			cf = strings.Replace(cf, fmt.Sprintf("http://localhost:%d {", httpPort), fmt.Sprintf("https://localhost:%d {\n\ttls internal", httpsPort), 1)
		}
		return cf
	}
	if h2 {
		url = fmt.Sprintf("https://localhost:%d/mcp", httpsPort)
	}
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort: adminPort, LoadRequestTimeout: 30 * time.Second, TestRequestTimeout: 30 * time.Second,
	})
	scan.Begin(t)
	tester.InitServer(load(0), "caddyfile")
	adminClient := &http.Client{Timeout: 30 * time.Second}
	reload := func(gen int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/load", adminPort), strings.NewReader(load(gen)))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := adminClient.Do(req)
		if err != nil {
			t.Fatalf("reload %d: %v", gen, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload %d: %d %s", gen, resp.StatusCode, body)
		}
	}

	// Responses of the load are not kept for the secret scan (that would
	// grow the heap being measured); the debug and access logs are scanned.
	users := []string{fmt.Sprintf("reload-a-%d", time.Now().UnixNano()), fmt.Sprintf("reload-b-%d", time.Now().UnixNano())}
	toks := []string{token(users[0]), token(users[1])}
	// With sessions, each user initializes once; every later request of
	// the run, across all reloads, carries that session.
	sessions := []string{"", ""}
	// Keep-alive connections to a retiring server can be closed under a
	// request in flight; a client that does not retry POSTs would see that
	// as a failure. Over HTTP/1.1 the load uses a fresh connection per
	// request. Over HTTP/2 it keeps one connection, as MCP clients do: the
	// retiring server's GOAWAY tells the client which requests it never
	// processed, and Go's client retries exactly those.
	loadClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if h2 {
		loadClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			// Caddy's internal CA is not in the system pool (skip_install_trust).
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test only
		}}
	}
	if mcpOptions == "" {
		for u := range users {
			r, err := mcpDoAt(loadClient, url, http.MethodPost, toks[u], "", hostileInit)
			// Caddy issues the internal certificate in the background.
			for try := 0; err != nil && h2 && try < 50; try++ {
				time.Sleep(100 * time.Millisecond)
				r, err = mcpDoAt(loadClient, url, http.MethodPost, toks[u], "", hostileInit)
			}
			if err != nil || r.status != http.StatusOK || r.session == "" {
				t.Fatalf("initialize: %v %d %q %s", err, r.status, r.session, r.body)
			}
			sessions[u] = r.session
		}
	}
	var sent, failed, redials, dropped atomic.Int64
	var firstErr atomic.Value
	runLoad := func(stop <-chan struct{}, done *sync.WaitGroup) {
		defer done.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := i % 2
			var r mcpReply
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				prefix := fmt.Sprintf("/tenant/%s/%d/%d", users[u], i, attempt)
				r, err = mcpDoAt(loadClient, url, http.MethodPost, toks[u], sessions[u], describeCall(i+1, prefix))
				if err == nil {
					break
				}
				// Caddy hands its listening socket to the new config; a
				// connection caught in the old server's accept queue is reset
				// or closed before the request is routed. That is Caddy's
				// listener handoff, not a request our handlers failed: it is
				// retried only when the fake AWS proves the tool never ran,
				// and counted.
				var oe *net.OpError
				if errors.As(err, &oe) && oe.Op == "dial" {
					redials.Add(1)
					continue
				}
				time.Sleep(50 * time.Millisecond)
				if tagged.saw(prefix) {
					break // the handler ran and its answer was lost: a failure
				}
				dropped.Add(1)
			}
			sent.Add(1)
			if err != nil || r.status != http.StatusOK || r.msg.Result.IsError {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %d %v %s", err, r.status, r.header, r.body))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// measure settles first: connections of the retired servers and
	// clients wind down asynchronously, so it takes the lowest goroutine
	// count over two seconds (a leak stays; stragglers go).
	measure := func(target uint64) (int, uint64) {
		adminClient.CloseIdleConnections()
		loadClient.CloseIdleConnections()
		// The edge's AWS and JWKS clients keep idle keep-alive pools whose
		// size depends on how requests overlapped; they are not leaks.
		f.CloseClientConnections()
		issuer.CloseClientConnections()
		g := runtime.NumGoroutine()
		for range 20 {
			time.Sleep(100 * time.Millisecond)
			g = min(g, runtime.NumGoroutine())
		}
		// The same for the heap: the lowest live heap over collections a
		// quarter second apart, for up to 5 s or until it is at target. A
		// retiring config (about 600 KiB here) can stay reachable for a
		// while after its last connection closes; a leak never goes.
		heap := uint64(math.MaxUint64)
		for i := 0; i < 20 && (i < 4 || (target > 0 && heap > target)); i++ {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = min(heap, ms.HeapAlloc)
			time.Sleep(250 * time.Millisecond)
		}
		return g, heap
	}

	// Warm-up: first use of every path, then a few reloads, so one-time
	// allocations (module registration, SDK endpoint tables) are in the
	// baseline.
	phase := func(from, to int) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go runLoad(stop, &wg)
		for gen := from; gen < to; gen++ {
			reload(gen)
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
	}
	phase(1, 11)
	if failed.Load() != 0 {
		t.Fatalf("warm-up: %d of %d requests failed, first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	// The fake AWS keeps a log of every call (and the strings in it keep
	// each request's header block alive); empty the test's own records so
	// the heap figure is the edge's.
	forget := func() {
		f.ResetCalls()
		tagged.mu.Lock()
		tagged.calls = nil
		tagged.mu.Unlock()
	}
	forget()
	g0, h0 := measure(0)
	jwks0 := issuer.JWKSFetches()
	sent0 := sent.Load()

	phase(11, 11+reloads)
	exch := f.CallCount("AssumeRoleWithWebIdentity")
	forget()
	g1, h1 := measure(h0 + h0/20)
	jwks1 := issuer.JWKSFetches()
	t.Logf("%d reloads under load: %d requests, %d failed; retried: %d resets on connect, %d connections closed before routing; goroutines %d -> %d; heap %d KiB -> %d KiB; JWKS fetches +%d; credential exchanges +%d",
		reloads, sent.Load()-sent0, failed.Load(), redials.Load(), dropped.Load(), g0, g1, h0>>10, h1>>10, jwks1-jwks0, exch)
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during reloads, first: %v", failed.Load(), firstErr.Load())
	}
	if sent.Load()-sent0 < reloads {
		t.Errorf("only %d requests were sent during %d reloads", sent.Load()-sent0, reloads)
	}
	if d := g1 - g0; d*20 > g0 {
		t.Errorf("goroutines grew from %d to %d over %d reloads", g0, g1, reloads)
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Logf("goroutines:\n%.6000s", buf.String())
	}
	if h1 > h0+h0/20 {
		t.Errorf("heap grew from %d KiB to %d KiB (> 5%%) over %d reloads", h0>>10, h1>>10, reloads)
	}
	if jwks1 != jwks0 {
		t.Errorf("reloads caused %d JWKS fetches", jwks1-jwks0)
	}
	if exch != 0 {
		t.Errorf("reloads caused %d credential exchanges (the credential cache did not survive)", exch)
	}
}
