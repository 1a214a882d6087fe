package cloudwatchmcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// Test-only stand-in for cognito_auth: a request carrying testUserHeader is
// treated as authenticated as that user (issuer testIssuer), and gets the
// user's fake-AWS credentials in the cognito_auth var when the test server
// has some for them.
const (
	testUserHeader = "X-Test-User"
	testToolGroup  = "transport_testkit"
	// The stand-in publishes these as {http.auth.user.scope} and
	// {http.auth.user.groups}, as cognito_auth does from the token.
	testScopeHeader  = "X-Test-Scope"  // space-separated
	testGroupsHeader = "X-Test-Groups" // comma-separated
	// testPRM is what the stand-in puts in cognito_auth.resource_metadata.
	testPRM = "https://mcp.test/.well-known/oauth-protected-resource/mcp"
)

func init() {
	for _, t := range transportTestTools() {
		toolkit.Register(t)
	}
}

// transportTestTools are throwaway tools that exercise the transport: they
// report the caller's credentials identity, emit notifications, and panic.
func transportTestTools() []toolkit.Tool {
	return []toolkit.Tool{
		{
			Group: testToolGroup,
			Tool: mcp.NewTool("test_whoami",
				mcp.WithDescription("Reports the AWS credentials identity this call would use."),
				mcp.WithString("profile_name", mcp.Description("server profile (credentials default only)"))),
			Handler: func(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				profile, err := toolkit.ArgsOf(req).Str("profile_name", "")
				if err != nil {
					return toolkit.ErrorResult(ctx, err), nil
				}
				_, id, err := e.CallerCredentials(ctx, profile)
				if err != nil {
					return toolkit.ErrorResult(ctx, err), nil
				}
				return mcp.NewToolResultText(id), nil
			},
		},
		{
			Group: testToolGroup,
			Tool: mcp.NewTool("test_notify",
				mcp.WithDescription("Sends count logging notifications, then answers."),
				mcp.WithNumber("count", mcp.Required(), mcp.Description("how many"))),
			Handler: func(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				n, err := toolkit.ArgsOf(req).Int("count", 1)
				if err != nil {
					return toolkit.ErrorResult(ctx, err), nil
				}
				srv := server.ServerFromContext(ctx)
				for i := range n {
					if err := srv.SendNotificationToClient(ctx, "notifications/message",
						map[string]any{"level": "info", "data": fmt.Sprintf("note %d", i)}); err != nil {
						return toolkit.ErrorResult(ctx, err), nil
					}
				}
				return mcp.NewToolResultText(fmt.Sprintf("sent %d", n)), nil
			},
		},
		{
			Group: testToolGroup,
			Tool: mcp.NewTool("test_notify_later",
				mcp.WithDescription("Answers, then 100ms later notifies the session (which only its GET stream can carry).")),
			Handler: func(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				srv := server.ServerFromContext(ctx)
				session := server.ClientSessionFromContext(ctx).SessionID()
				go func() {
					time.Sleep(100 * time.Millisecond)
					_ = srv.SendNotificationToSpecificClient(session, "notifications/message",
						map[string]any{"level": "info", "data": "later"})
				}()
				return mcp.NewToolResultText("scheduled"), nil
			},
		},
		{
			Group: testToolGroup,
			Tool:  mcp.NewTool("test_panic", mcp.WithDescription("Panics.")),
			Handler: func(context.Context, *toolkit.Env, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				panic("boom")
			},
		},
	}
}

// testServer is a provisioned Handler behind httptest. Each request goes
// through what Caddy does before a handler runs: PrepareRequest (vars and
// replacer) and a ResponseWriterWrapper, which, like Caddy's writers, does
// not implement http.Flusher.
type testServer struct {
	*httptest.Server
	h     *Handler
	fake  *fakeaws.Fake
	creds map[string]aws.Credentials
}

// newTestServer provisions h (nil = defaults, serving only the test tool
// group) against a fresh fake AWS. Users alice and bob have vended
// credentials; carol is authenticated but has none.
func newTestServer(t testing.TB, h *Handler) *testServer {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	ts := &testServer{
		fake: f,
		creds: map[string]aws.Credentials{
			"alice": f.IssueCredentials("alice", time.Now().Add(time.Hour)),
			"bob":   f.IssueCredentials("bob", time.Now().Add(time.Hour)),
		},
	}
	ts.h = provisionTestHandler(t, h, f)
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(func() {
		// End streams first: Close waits for open requests.
		_ = ts.h.Cleanup()
		ts.Server.Close()
	})
	return ts
}

// provisionTestHandler provisions h against the fake AWS (nil f = none).
func provisionTestHandler(t testing.TB, h *Handler, f *fakeaws.Fake) *Handler {
	t.Helper()
	if h == nil {
		h = &Handler{}
	}
	if h.Tools == nil {
		h.Tools = []string{testToolGroup}
	}
	if h.logger == nil {
		h.logger = zap.NewNop()
	}
	if h.auditLogger == nil {
		h.auditLogger = zap.NewNop()
	}
	if f != nil {
		cfg := fakeaws.TestConfig(f, nil)
		cfg.Credentials = nil
		h.awsConfig = &cfg
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	// Handlers with equal configurations share sessions until the last is
	// cleaned up (sessionpool.go); a test must not see the last one's.
	t.Cleanup(func() { _ = h.Cleanup() })
	if err := h.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return h
}

// endpoint is the MCP endpoint URL.
func (ts *testServer) endpoint() string { return ts.URL + "/mcp" }

func (ts *testServer) serve(w http.ResponseWriter, r *http.Request) {
	serveLikeCaddy(ts.h, ts.creds, w, r)
}

// serveLikeCaddy runs h the way a Caddy route would, with the test
// stand-in for cognito_auth, and renders handler errors as Caddy does
// without handle_errors (status only).
func serveLikeCaddy(h *Handler, creds map[string]aws.Credentials, w http.ResponseWriter, r *http.Request) {
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, nil)
	if user := r.Header.Get(testUserHeader); user != "" {
		repl.Set("http.auth.user.id", user)
		repl.Set("http.auth.user.issuer", mcptest.Issuer)
		repl.Set("http.auth.user.username", user+"-user")
		repl.Set("http.auth.user.client_id", "test-client")
		repl.Set("http.auth.user.scope", r.Header.Get(testScopeHeader))
		repl.Set("http.auth.user.groups", r.Header.Get(testGroupsHeader))
		caddyhttp.SetVar(r.Context(), resourceMetadataVar, testPRM)
		if c, ok := creds[user]; ok {
			caddyhttp.SetVar(r.Context(), toolkit.CredentialsVar, fakeaws.StaticCredentials(c))
		}
	}
	ww := &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return errors.New("cloudwatch_mcp called next")
	})
	if err := h.ServeHTTP(ww, r, next); err != nil {
		status := http.StatusInternalServerError
		var he caddyhttp.HandlerError
		if errors.As(err, &he) {
			status = he.StatusCode
		}
		http.Error(ww, err.Error(), status)
	}
}

// legacyInit pins the session-based protocol (mcp-go's client would
// otherwise pick the sessionless 2026-07-28 core).
func legacyInit() mcp.InitializeRequest {
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "transport-test", Version: "1"}
	return req
}

// newClient returns an initialized mcp-go client acting as user ("" =
// unauthenticated), closed (DELETE) at the end of the test.
func (ts *testServer) newClient(t testing.TB, user string, opts ...transport.StreamableHTTPCOption) *client.Client {
	t.Helper()
	return newMCPClient(t, ts.endpoint(), user, legacyInit(), nil, opts...)
}

// userTransport authenticates every request as user, including the DELETE
// mcp-go's client sends on Close (which ignores WithHTTPHeaders).
type userTransport struct {
	user string
	base http.RoundTripper
}

func (u userTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if u.user != "" {
		req = req.Clone(req.Context())
		req.Header.Set(testUserHeader, u.user)
	}
	return u.base.RoundTrip(req)
}

// newMCPClient connects to url as user through base (nil = default).
func newMCPClient(t testing.TB, url, user string, init mcp.InitializeRequest, base http.RoundTripper, opts ...transport.StreamableHTTPCOption) *client.Client {
	t.Helper()
	if base == nil {
		base = http.DefaultTransport
	}
	opts = append([]transport.StreamableHTTPCOption{
		transport.WithHTTPBasicClient(&http.Client{Transport: userTransport{user: user, base: base}}),
	}, opts...)
	c, err := client.NewStreamableHttpClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Start's context bounds the GET listener for the client's lifetime.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// rawRequest sends one MCP HTTP request. body "" sends none.
func (ts *testServer) rawRequest(t testing.TB, method, user, session, body string, hdr ...string) *http.Response {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequest(method, ts.endpoint(), rd)
	} else {
		req, err = http.NewRequest(method, ts.endpoint(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if user != "" {
		req.Header.Set(testUserHeader, user)
	}
	if session != "" {
		req.Header.Set(server.HeaderKeySessionID, session)
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

const toolsListBody = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

// rawInit initializes a session as user over plain HTTP and returns its ID.
func (ts *testServer) rawInit(t testing.TB, user string) string {
	t.Helper()
	resp := ts.rawRequest(t, http.MethodPost, user, "", initializeBody)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %s", resp.Status)
	}
	id := resp.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		t.Fatal("initialize returned no Mcp-Session-Id")
	}
	return id
}

// wantStatus asserts a response status and closes the body.
func wantStatus(t testing.TB, resp *http.Response, want int) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != want {
		buf := new(strings.Builder)
		_, _ = fmt.Fprint(buf, resp.Header)
		t.Fatalf("status %d, want %d (headers %s)", resp.StatusCode, want, buf)
	}
}
