package cloudwatchmcp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func callText(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", mcptest.ResultText(t, res))
	}
	return mcptest.ResultText(t, res)
}

func TestMCPInitializeListAndCall(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient(t, "alice")
	ctx := context.Background()

	if id := c.GetSessionId(); !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(id) {
		t.Fatalf("session ID %q is not 256 random bits, URL-safe", id)
	}
	caps := c.GetServerCapabilities()
	if caps.Tools == nil || caps.Logging == nil {
		t.Fatalf("server must declare tools and logging, got %+v", caps)
	}

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" {
			t.Errorf("%s has no description", tool.Name)
		}
		schema, _ := json.Marshal(tool.InputSchema)
		if tool.RawInputSchema != nil {
			schema = tool.RawInputSchema
		}
		if !strings.Contains(string(schema), `"type":"object"`) {
			t.Errorf("%s input schema %s", tool.Name, schema)
		}
	}
	if got := strings.Join(names, ","); got != "test_notify,test_notify_later,test_panic,test_whoami" {
		t.Fatalf("tools/list = %s; want exactly the configured group", got)
	}

	// The tool sees the credentials the edge vended for this request.
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_whoami"
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := callText(t, res), "key:"+ts.creds["alice"].AccessKeyID; got != want {
		t.Fatalf("whoami = %q, want %q", got, want)
	}

	// A caller without vended credentials gets an actionable tool error.
	carol := ts.newClient(t, "carol")
	res, err = carol.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	mcptest.WantToolError(t, res, toolkit.NoCredentialsMessage)

	// profile_name is refused outside credentials default.
	req.Params.Arguments = map[string]any{"profile_name": "prod-admin"}
	res, _ = c.CallTool(ctx, req)
	mcptest.WantToolError(t, res, "profile_name is only honoured")

	// WithRecovery: a panicking tool is an error, and the session lives on.
	req = mcp.CallToolRequest{}
	req.Params.Name = "test_panic"
	if _, err := c.CallTool(ctx, req); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("panicking tool: %v", err)
	}
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		t.Fatalf("session broken after a tool panic: %v", err)
	}
}

// Notifications a tool sends while it runs reach the client on the POST's
// SSE stream, every time (the event store closes mcp-go's drop race).
func TestMCPToolNotificationsAreNotDropped(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient(t, "alice")
	var mu sync.Mutex
	got := 0
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/message" {
			mu.Lock()
			got++
			mu.Unlock()
		}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_notify"
	req.Params.Arguments = map[string]any{"count": 3}
	const rounds = 20
	for range rounds {
		res, err := c.CallTool(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		callText(t, res)
	}
	// Notifications are dispatched before the response that follows them.
	mu.Lock()
	defer mu.Unlock()
	if got != 3*rounds {
		t.Fatalf("client received %d of %d notifications", got, 3*rounds)
	}
}

// The standalone GET stream works behind Caddy's writers and carries
// server notifications to the client.
func TestMCPGETStreamDeliversNotifications(t *testing.T) {
	ts := newTestServer(t, nil)
	//lint:ignore SA1019 the standalone GET stream is what this test covers; the session protocol (legacyInit) still has it
	c := ts.newClient(t, "alice", transport.WithContinuousListening())
	got := make(chan mcp.JSONRPCNotification, 4)
	c.OnNotification(func(n mcp.JSONRPCNotification) { got <- n })
	// An idle session holds no mcp-go state (sessionrelease.go); the
	// client's GET stream, opened after initialize, registers it.
	mcptest.WaitUntil(t, "the GET stream to register the session", func() bool {
		return ts.h.mcp.SendNotificationToSpecificClient(c.GetSessionId(), "notifications/message",
			map[string]any{"level": "info", "data": "hello over GET"}) == nil
	})
	select {
	case n := <-got:
		if n.Params.AdditionalFields["data"] != "hello over GET" {
			t.Fatalf("notification %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("notification never arrived on the GET stream")
	}
}

// The GET stream is flushed incrementally through a writer that hides
// http.Flusher, as Caddy's do; without the adapter mcp-go refuses it.
func TestGETStreamFlushesThroughCaddyWriters(t *testing.T) {
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")

	resp := ts.rawRequest(t, http.MethodGet, "alice", session, "", "Accept", "text/event-stream")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if err := ts.h.mcp.SendNotificationToSpecificClient(session, "notifications/message",
		map[string]any{"level": "info", "data": "streamed"}); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	select {
	case l := <-line:
		if !strings.Contains(l, "streamed") {
			t.Fatalf("event %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not flushed while the stream is open")
	}

	// Control: mcp-go alone behind the same kind of writer cannot stream.
	bare := server.NewStreamableHTTPServer(server.NewMCPServer("bare", "1"))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/mcp", nil)
	bare.ServeHTTP(&caddyhttp.ResponseWriterWrapper{ResponseWriter: rec}, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("control: bare mcp-go behind a Caddy writer answered %d, expected 405 (Streaming unsupported)", rec.Code)
	}
}

func TestDELETEEndsSession(t *testing.T) {
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, toolsListBody), http.StatusOK)
	wantStatus(t, ts.rawRequest(t, http.MethodDelete, "alice", session, ""), http.StatusOK)
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, toolsListBody), http.StatusNotFound)
	wantStatus(t, ts.rawRequest(t, http.MethodGet, "alice", session, ""), http.StatusNotFound)
	wantStatus(t, ts.rawRequest(t, http.MethodDelete, "alice", session, ""), http.StatusNotFound)
	if n := ts.h.sessions.len(); n != 0 {
		t.Fatalf("registry still holds %d sessions", n)
	}

	// mcp-go's client ends its session with DELETE on Close.
	c := ts.newClient(t, "alice")
	if ts.h.sessions.len() != 1 {
		t.Fatal("client session not registered")
	}
	_ = c.Close()
	if n := ts.h.sessions.len(); n != 0 {
		t.Fatalf("client Close left %d sessions", n)
	}
}

func TestSessionBoundToIdentity(t *testing.T) {
	ts := newTestServer(t, nil)
	alice := ts.newClient(t, "alice")
	session := alice.GetSessionId()
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_whoami"}}`

	for _, user := range []string{"bob", ""} {
		resp := ts.rawRequest(t, http.MethodPost, user, session, call)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%q using alice's session: %d", user, resp.StatusCode)
		}
		if strings.Contains(string(body), ts.creds["alice"].AccessKeyID) {
			t.Fatal("another identity saw alice's context")
		}
		wantStatus(t, ts.rawRequest(t, http.MethodGet, user, session, ""), http.StatusForbidden)
		wantStatus(t, ts.rawRequest(t, http.MethodDelete, user, session, ""), http.StatusForbidden)
	}
	// Same subject from another issuer is another identity.
	resp := ts.rawRequest(t, http.MethodPost, "", session, toolsListBody)
	wantStatus(t, resp, http.StatusForbidden)

	// Alice's session survived the attempts.
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_whoami"
	res, err := alice.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := callText(t, res); got != "key:"+ts.creds["alice"].AccessKeyID {
		t.Fatalf("whoami = %q", got)
	}
}

func TestIdentityIncludesIssuer(t *testing.T) {
	reg := newSessionRegistry(time.Hour, nil)
	mk := func(iss, sub string) *http.Request {
		repl := caddy.NewReplacer()
		repl.Set("http.auth.user.id", sub)
		repl.Set("http.auth.user.issuer", iss)
		return httptest.NewRequest(http.MethodPost, "/", nil).WithContext(context.WithValue(context.Background(), caddy.ReplacerCtxKey, repl))
	}
	id := reg.ResolveSessionIdManager(mk("https://a", "u1")).Generate()
	if _, err := reg.ResolveSessionIdManager(mk("https://a", "u1")).Validate(id); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ResolveSessionIdManager(mk("https://b", "u1")).Validate(id); err == nil {
		t.Fatal("same sub from another issuer must not use the session")
	}
	if notAllowed, _ := reg.ResolveSessionIdManager(mk("https://b", "u1")).Terminate(id); !notAllowed || reg.len() != 1 {
		t.Fatal("another identity ended the session")
	}
}

func TestTransportStatusCodes(t *testing.T) {
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")

	t.Run("missing session is 400", func(t *testing.T) {
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", "", toolsListBody), http.StatusBadRequest)
		wantStatus(t, ts.rawRequest(t, http.MethodGet, "alice", "", ""), http.StatusBadRequest)
		wantStatus(t, ts.rawRequest(t, http.MethodDelete, "alice", "", ""), http.StatusBadRequest)
	})
	t.Run("unknown session is 404", func(t *testing.T) {
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", newSessionID(), toolsListBody), http.StatusNotFound)
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", "mcp-session-garbage", toolsListBody), http.StatusNotFound)
	})
	t.Run("bad protocol version is 400", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			body := ""
			if m == http.MethodPost {
				body = toolsListBody
			}
			resp := ts.rawRequest(t, m, "alice", session, body, mcp.HeaderProtocolVersion, "1999-01-01")
			wantStatus(t, resp, http.StatusBadRequest)
		}
	})
	t.Run("body over 1 MiB is 413", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"test_whoami","arguments":{"x":"` +
			strings.Repeat("a", maxBodyBytes) + `"}}}`
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, big), http.StatusRequestEntityTooLarge)
		// Without Content-Length (chunked), the cap still applies.
		req, _ := http.NewRequest(http.MethodPost, ts.endpoint(), io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(testUserHeader, "alice")
		req.Header.Set(server.HeaderKeySessionID, session)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, resp, http.StatusRequestEntityTooLarge)
		// Just under the cap is fine.
		ok := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"test_whoami","arguments":{"x":"` +
			strings.Repeat("a", maxBodyBytes-200) + `"}}}`
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, ok), http.StatusOK)
	})
	t.Run("other methods are 405", func(t *testing.T) {
		resp := ts.rawRequest(t, http.MethodPut, "alice", session, toolsListBody)
		if resp.Header.Get("Allow") == "" {
			t.Error("405 without Allow")
		}
		wantStatus(t, resp, http.StatusMethodNotAllowed)
	})
	t.Run("notification is 202", func(t *testing.T) {
		resp := ts.rawRequest(t, http.MethodPost, "alice", session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		wantStatus(t, resp, http.StatusAccepted)
	})
}

func TestRebindingGuardOverHTTP(t *testing.T) {
	// httptest listens on 127.0.0.1: a loopback connection.
	ts := newTestServer(t, nil)
	host := strings.TrimPrefix(ts.URL, "http://")
	init := func(hdr ...string) *http.Response {
		return ts.rawRequest(t, http.MethodPost, "alice", "", initializeBody, hdr...)
	}
	// The conformance scenario dns-rebinding-protection.
	wantStatus(t, init("Host", "evil.example.com", "Origin", "http://evil.example.com"), http.StatusForbidden)
	wantStatus(t, init("Host", host, "Origin", "http://"+host), http.StatusOK)
	// Either one hostile is enough.
	wantStatus(t, init("Host", "evil.example.com"), http.StatusForbidden)
	wantStatus(t, init("Origin", "http://evil.example.com"), http.StatusForbidden)
	wantStatus(t, init("Origin", "http://localhost:1"), http.StatusForbidden)
	wantStatus(t, init("Origin", "null"), http.StatusForbidden)
	wantStatus(t, init("Host", "localhost:"+ts.port()), http.StatusOK)

	// Behind a local proxy: public names are listed, loopback Host is then
	// not special, and listed origins are allowed.
	ts2 := newTestServer(t, &Handler{
		AllowedHosts:   []string{"mcp.example.com"},
		AllowedOrigins: []string{"https://app.example.org"},
	})
	init2 := func(hdr ...string) *http.Response {
		return ts2.rawRequest(t, http.MethodPost, "alice", "", initializeBody, hdr...)
	}
	wantStatus(t, init2("Host", "mcp.example.com", "Origin", "https://mcp.example.com"), http.StatusOK)
	wantStatus(t, init2("Host", "mcp.example.com", "Origin", "https://app.example.org"), http.StatusOK)
	wantStatus(t, init2("Host", "mcp.example.com", "Origin", "https://evil.example.org"), http.StatusForbidden)
	wantStatus(t, init2("Host", strings.TrimPrefix(ts2.URL, "http://")), http.StatusForbidden)

	// CORS preflight for a listed origin is answered.
	resp := ts2.rawRequest(t, http.MethodOptions, "", "", "", "Host", "mcp.example.com",
		"Origin", "https://app.example.org", "Access-Control-Request-Method", "POST")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.org" {
		t.Errorf("preflight Allow-Origin %q", got)
	}
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Mcp-Protocol-Version") {
		t.Errorf("preflight Allow-Headers %q lacks Mcp-Protocol-Version", resp.Header.Get("Access-Control-Allow-Headers"))
	}
	resp.Body.Close()
}

func (ts *testServer) port() string {
	return ts.URL[strings.LastIndex(ts.URL, ":")+1:]
}

// roundRobin sends each request to the next of several servers.
type roundRobin struct {
	mu    sync.Mutex
	hosts []string
	next  int
	hits  []int
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	i := rr.next % len(rr.hosts)
	rr.next++
	rr.hits[i]++
	rr.mu.Unlock()
	req = req.Clone(req.Context())
	req.URL.Host = rr.hosts[i]
	req.Host = ""
	return http.DefaultTransport.RoundTrip(req)
}

func TestStatelessAcrossInstances(t *testing.T) {
	a := newTestServer(t, &Handler{Stateless: true})
	b := newTestServer(t, &Handler{Stateless: true})
	b.creds = a.creds // one identity provider in front of both
	b.fake = a.fake
	rr := &roundRobin{hosts: []string{strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")}, hits: make([]int, 2)}
	c := newMCPClient(t, a.endpoint(), "alice", legacyInit(), rr)
	if id := c.GetSessionId(); id != "" {
		t.Fatalf("stateless server issued session %q", id)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_whoami"
	for i := range 6 {
		if i%2 == 0 {
			if _, err := c.ListTools(context.Background(), mcp.ListToolsRequest{}); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			continue
		}
		res, err := c.CallTool(context.Background(), req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := callText(t, res); got != "key:"+a.creds["alice"].AccessKeyID {
			t.Fatalf("whoami = %q", got)
		}
	}
	if rr.hits[0] < 3 || rr.hits[1] < 3 {
		t.Fatalf("requests were not spread over both instances: %v", rr.hits)
	}
	if a.h.sessions != nil || b.h.sessions != nil {
		t.Fatal("stateless handlers keep a session registry")
	}
	// No session: no standalone stream.
	wantStatus(t, a.rawRequest(t, http.MethodGet, "alice", "", ""), http.StatusMethodNotAllowed)
}

func TestIdleSessionsAreReclaimed(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	ts := newTestServer(t, &Handler{now: clock, SessionIdleTimeout: caddy.Duration(10 * time.Minute)})
	idle := ts.rawInit(t, "alice")
	busy := ts.rawInit(t, "alice")
	for range 3 {
		advance(6 * time.Minute)
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", busy, toolsListBody), http.StatusOK)
	}
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", idle, toolsListBody), http.StatusNotFound)
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", busy, toolsListBody), http.StatusOK)
	if n := ts.h.sessions.len(); n != 1 {
		t.Fatalf("registry holds %d sessions, want 1", n)
	}
}

func TestCredentialsDefaultWarnsAndRequestModeDropsServerCredentials(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	h := provisionTestHandler(t, &Handler{Credentials: "default", logger: zap.New(core)}, nil)
	t.Cleanup(func() { _ = h.Cleanup() })
	if logs.FilterMessageSnippet("every MCP caller shares this server's AWS permissions").Len() != 1 {
		t.Fatalf("no shared-permissions warning: %v", logs.All())
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVERKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	core, logs = observer.New(zapcore.WarnLevel)
	h = provisionTestHandler(t, &Handler{logger: zap.New(core)}, nil)
	t.Cleanup(func() { _ = h.Cleanup() })
	if logs.Len() != 0 {
		t.Fatalf("request mode warned: %v", logs.All())
	}
	if h.env.Clients.Base.Credentials != nil {
		t.Fatal("credentials request must not keep the server's credential chain")
	}
	if _, _, err := h.env.CallerCredentials(context.Background(), ""); err == nil || err.Error() != toolkit.NoCredentialsMessage {
		t.Fatalf("request mode without vended credentials: %v", err)
	}
}

func TestProvisionErrors(t *testing.T) {
	for name, h := range map[string]*Handler{
		"credentials": {Credentials: "server"},
		"tools":       {Tools: []string{"nope"}},
		"region":      {Region: "US East"},
		"origin":      {AllowedOrigins: []string{"app.example.org"}},
		"host":        {AllowedHosts: []string{"https://x/"}},
	} {
		h.logger = zap.NewNop()
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		if err := h.Provision(ctx); err == nil {
			t.Errorf("%s: provisioned", name)
		}
		cancel()
	}
}

// Reloads provision a new handler and clean up the old one; nothing may
// be left running, including sessions with open GET streams.
func TestReloadsDoNotLeakGoroutines(t *testing.T) {
	cycle := func() {
		h := &Handler{Tools: []string{testToolGroup}, logger: zap.NewNop()}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		defer cancel()
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serveLikeCaddy(h, nil, w, r)
		}))
		ts := &testServer{Server: srv, h: h}
		session := ts.rawInit(t, "alice")
		stream := ts.rawRequest(t, http.MethodGet, "alice", session, "")
		if stream.StatusCode != http.StatusOK {
			t.Fatalf("GET %d", stream.StatusCode)
		}
		if err := h.Cleanup(); err != nil {
			t.Fatal(err)
		}
		// Cleanup ended the open stream.
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, stream.Body); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Cleanup left a GET stream open")
		}
		stream.Body.Close()
		srv.Close()
	}
	cycle() // warm up lazily started runtime/pool goroutines
	runtime.GC()
	base := runtime.NumGoroutine()
	for range 50 {
		cycle()
	}
	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= base+2 {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("goroutines %d -> %d after 50 reloads\n%s", base, n, buf[:runtime.Stack(buf, true)])
}

func TestCleanupIsIdempotent(t *testing.T) {
	h := provisionTestHandler(t, nil, nil)
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

// tools/list is answered from a cache that holds exactly what mcp-go
// answers, for any request ID; other pages go to mcp-go.
func TestToolsListCacheMatchesMCPGo(t *testing.T) {
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")
	direct, _ := json.Marshal(ts.h.mcp.HandleMessage(context.Background(),
		json.RawMessage(`{"jsonrpc":"2.0","id":"req-7","method":"tools/list"}`)))
	resp := ts.rawRequest(t, http.MethodPost, "alice", session, `{"jsonrpc":"2.0","id":"req-7","method":"tools/list","params":{}}`)
	cached, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	var a, b any
	if err := json.Unmarshal(direct, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cached, &b); err != nil {
		t.Fatalf("cached answer is not JSON: %s", cached)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("cached tools/list differs from mcp-go's:\n%s\n%s", cached, direct)
	}
	// A cursor is mcp-go's business (this one is invalid: a JSON-RPC error).
	resp = ts.rawRequest(t, http.MethodPost, "alice", session, `{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"cursor":"bogus"}}`)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"error"`) {
		t.Fatalf("cursor request answered from cache: %s", body)
	}
	// The cache sits behind the session checks.
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "bob", session, toolsListBody), http.StatusForbidden)
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", "", toolsListBody), http.StatusBadRequest)
}

// Every registered tool group can be served: each tool lists with a
// description and an object input schema.
func TestAllRegisteredToolsAreListable(t *testing.T) {
	ts := newTestServer(t, &Handler{Tools: toolkit.Groups()})
	c := ts.newClient(t, "alice")
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if tool.Description == "" {
			t.Errorf("%s has no description", tool.Name)
		}
		schema, _ := json.Marshal(tool.InputSchema)
		if tool.RawInputSchema != nil {
			schema = tool.RawInputSchema
		}
		var s struct{ Type string }
		if err := json.Unmarshal(schema, &s); err != nil || s.Type != "object" {
			t.Errorf("%s input schema %s", tool.Name, schema)
		}
	}
	t.Logf("%d tools from groups %v", len(list.Tools), toolkit.Groups())
}
