package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// headerTransport adds fixed headers (the stand-in's scope and groups) to
// every request.
type headerTransport struct {
	hdr  map[string]string
	base http.RoundTripper
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h.hdr {
		req.Header.Set(k, v)
	}
	return h.base.RoundTrip(req)
}

func grants(scope, groups string) http.RoundTripper {
	return headerTransport{hdr: map[string]string{testScopeHeader: scope, testGroupsHeader: groups}, base: http.DefaultTransport}
}

// authorizedHandler serves the logs group and the test group with:
// every logs tool needs logs:read; describe_log_groups also needs
// logs:list and membership in sre or oncall; test_whoami needs admins.
func authorizedHandler() *Handler {
	return &Handler{
		Tools: []string{"logs", testToolGroup},
		Authorize: []AuthorizeRule{
			{Tools: []string{"logs"}, Scopes: []string{"logs:read"}},
			{Tools: []string{"describe_log_groups"}, Scopes: []string{"logs:list"}, Groups: []string{"sre", "oncall"}},
			{Tools: []string{"test_whoami"}, Groups: []string{"admins"}},
		},
	}
}

func listToolNames(t *testing.T, c interface {
	ListTools(context.Context, mcp.ListToolsRequest) (*mcp.ListToolsResult, error)
}) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func TestToolsListShowsOnlyPermittedTools(t *testing.T) {
	ts := newTestServer(t, authorizedHandler())
	logsTools := []string{"analyze_log_group", "cancel_logs_insight_query", "execute_cwl_insights_batch",
		"execute_log_insights_query", "filter_log_events", "get_log_record", "get_logs_insight_query_results",
		"list_log_anomalies", "recommend_indexes_account", "recommend_indexes_loggroup", "tail_log_group"}
	open := []string{"test_notify", "test_notify_later", "test_panic"}
	sorted := func(lists ...[]string) []string {
		out := slices.Concat(lists...)
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name, scope, groups string
		want                []string
	}{
		{"nothing", "", "", open},
		{"logs:read", "openid logs:read", "", sorted(open, logsTools)},
		{"group without scope", "logs:list", "sre", open},
		{"all of describe", "logs:read logs:list", "developers,oncall", sorted(open, logsTools, []string{"describe_log_groups"})},
		{"admins", "", "admins", sorted(open, []string{"test_whoami"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := newMCPClient(t, ts.endpoint(), "alice", legacyInit(), grants(c.scope, c.groups))
			if got := listToolNames(t, cl); !slices.Equal(got, c.want) {
				t.Fatalf("tools/list\n got  %v\n want %v", got, c.want)
			}
		})
	}
	// The answers are cached per permission set (which rules a caller
	// satisfies), not per caller: bob with alice's grants adds nothing.
	n := len(ts.h.authz.lists)
	if n != len(cases) {
		t.Fatalf("%d cached lists for %d permission sets", n, len(cases))
	}
	cl := newMCPClient(t, ts.endpoint(), "bob", legacyInit(), grants("logs:read", ""))
	if got := listToolNames(t, cl); !slices.Equal(got, cases[1].want) {
		t.Fatalf("bob sees %v", got)
	}
	if len(ts.h.authz.lists) != n {
		t.Fatal("a caller with a known permission set grew the cache")
	}
}

// The sessionless 2026-07-28 protocol is not served from the cache; mcp-go
// filters it through the tool filter.
func TestToolsListFilteredForModernProtocol(t *testing.T) {
	ts := newTestServer(t, authorizedHandler())
	modern := mcp.InitializeRequest{}
	modern.Params.ClientInfo = mcp.Implementation{Name: "modern", Version: "1"}
	cl := newMCPClient(t, ts.endpoint(), "alice", modern, grants("", "admins"))
	got := listToolNames(t, cl)
	if want := []string{"test_notify", "test_notify_later", "test_panic", "test_whoami"}; !slices.Equal(got, want) {
		t.Fatalf("modern tools/list: %v, want %v", got, want)
	}
	if len(ts.h.authz.lists) != 0 {
		t.Fatal("the modern protocol must not use the legacy-shaped cache")
	}
}

const wantChallenge = `Bearer error="insufficient_scope", scope="logs:read logs:list", resource_metadata="` + testPRM + `"`

func callBody(tool string, args string) string {
	return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
}

// wantStepUp asserts the MCP step-up answer.
func wantStepUp(t *testing.T, resp *http.Response, challenge string) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != challenge {
		t.Fatalf("WWW-Authenticate\n got  %s\n want %s", got, challenge)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "insufficient_scope" || !strings.Contains(e.Description, "describe_log_groups") {
		t.Fatalf("body %s", body)
	}
}

// A call without the tool's scopes gets 403 insufficient_scope naming every
// scope the tool needs, granted ones included, in every protocol version,
// before mcp-go (or AWS) sees it.
func TestToolCallWithoutScopesGetsStepUp(t *testing.T) {
	ts := newTestServer(t, authorizedHandler())
	fakeaws.LogsOf(ts.fake).AddLogGroup(fakeaws.LogGroup{Name: "/aws/lambda/checkout"})
	call := callBody("describe_log_groups", `{}`)
	hdr := []string{testScopeHeader, "openid logs:read", testGroupsHeader, "sre"}

	for _, version := range []string{mcp.ProtocolVersion20250326, mcp.ProtocolVersion20250618, mcp.ProtocolVersion20251125} {
		t.Run(version, func(t *testing.T) {
			init := strings.Replace(initializeBody, "2025-11-25", version, 1)
			resp := ts.rawRequest(t, http.MethodPost, "alice", "", init)
			sid := resp.Header.Get(server.HeaderKeySessionID)
			wantStatus(t, resp, http.StatusOK)
			resp = ts.rawRequest(t, http.MethodPost, "alice", sid, call, append(hdr, mcp.HeaderProtocolVersion, version)...)
			wantStepUp(t, resp, wantChallenge)
		})
	}
	t.Run("2026-07-28", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
		resp := ts.rawRequest(t, http.MethodPost, "alice", "", body, append(hdr, mcp.HeaderProtocolVersion, "2026-07-28")...)
		wantStepUp(t, resp, wantChallenge)
	})
	t.Run("no scopes at all", func(t *testing.T) {
		sid := ts.rawInit(t, "bob")
		resp := ts.rawRequest(t, http.MethodPost, "bob", sid, call)
		wantStepUp(t, resp, wantChallenge)
	})
	if n := ts.fake.CallCount("DescribeLogGroups"); n != 0 {
		t.Fatalf("a refused call reached AWS %d times", n)
	}

	// With the scopes, the same call runs (and only then reaches AWS).
	sid := ts.rawInit(t, "alice")
	resp := ts.rawRequest(t, http.MethodPost, "alice", sid, call, testScopeHeader, "logs:read logs:list", testGroupsHeader, "oncall")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/aws/lambda/checkout") || strings.Contains(string(body), `"isError":true`) {
		t.Fatalf("authorized call: %d %s", resp.StatusCode, body)
	}
	if calls := ts.fake.Calls("DescribeLogGroups"); len(calls) != 1 || calls[0].Owner != "alice" {
		t.Fatalf("calls %+v", calls)
	}
}

// Without cognito_auth's metadata var the challenge still names the
// scopes; unknown tools and open tools are mcp-go's business.
func TestStepUpEdges(t *testing.T) {
	ts := newTestServer(t, authorizedHandler())
	sid := ts.rawInit(t, "alice")

	resp := ts.rawRequest(t, http.MethodPost, "alice", sid, callBody("no_such_tool", `{}`))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "not found") {
		t.Fatalf("unknown tool: %d %s", resp.StatusCode, body)
	}
	resp = ts.rawRequest(t, http.MethodPost, "alice", sid, callBody("test_notify", `{"count":0}`))
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "sent 0") {
		t.Fatalf("open tool: %d %s", resp.StatusCode, body)
	}

	// Direct: no metadata var, and handle_errors routes present, so the
	// refusal is a caddyhttp.Error for them to render, header already set.
	stateless := authorizedHandler()
	stateless.Stateless = true // no session to present
	h := provisionTestHandler(t, stateless, nil)
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(callBody("describe_log_groups", `{}`)))
	w := httptest.NewRecorder()
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, nil)
	srv := &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{{}}}}
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ServerCtxKey, srv))
	repl.Set("http.auth.user.id", "alice")
	repl.Set("http.auth.user.scope", "logs:list")
	err := h.serveMCP(w, r)
	var he caddyhttp.HandlerError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("want a 403 caddyhttp.Error, got %v", err)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="logs:read logs:list"` {
		t.Fatalf("challenge %q", got)
	}
	if w.Body.Len() != 0 {
		t.Fatalf("body written although handle_errors renders it: %s", w.Body)
	}
}

// Scopes are present but a group is missing: no token can help, so the
// answer is a tool error naming the groups, and AWS is not called.
func TestToolCallWithoutGroupIsToolError(t *testing.T) {
	ts := newTestServer(t, authorizedHandler())
	cl := newMCPClient(t, ts.endpoint(), "alice", legacyInit(), grants("logs:read logs:list", "developers"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "describe_log_groups"
	res, err := cl.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	mcptest.WantToolError(t, res, `describe_log_groups requires membership in one of the groups "sre", "oncall"`)
	req.Params.Name = "test_whoami"
	res, err = cl.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	mcptest.WantToolError(t, res, `test_whoami requires membership in group "admins"`)
	if n := ts.fake.CallCount("DescribeLogGroups"); n != 0 {
		t.Fatalf("AWS called %d times", n)
	}

	admin := newMCPClient(t, ts.endpoint(), "alice", legacyInit(), grants("", "admins"))
	res, err = admin.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || mcptest.ResultText(t, res) != "key:"+ts.creds["alice"].AccessKeyID {
		t.Fatalf("admin: %+v", res)
	}
}

// mcp-go's own enforcement: whatever the HTTP layer parsed, a call that
// reaches mcp-go unchecked meets the tool filter (not found), and one
// marked checked still meets the middleware.
func TestAuthorizationInsideMCPServer(t *testing.T) {
	h := provisionTestHandler(t, authorizedHandler(), nil)
	repl := caddy.NewReplacer()
	repl.Set("http.auth.user.scope", "logs:read")
	ctx := context.WithValue(context.Background(), caddy.ReplacerCtxKey, repl)
	call := json.RawMessage(callBody("describe_log_groups", `{}`))

	out, _ := json.Marshal(h.mcp.HandleMessage(ctx, call))
	if !strings.Contains(string(out), "not found") {
		t.Fatalf("unchecked call: %s", out)
	}
	out, _ = json.Marshal(h.mcp.HandleMessage(context.WithValue(ctx, callCheckedKey{}, true), call))
	if !strings.Contains(string(out), `"isError":true`) || !strings.Contains(string(out), "requires the OAuth scopes logs:list") {
		t.Fatalf("checked call without scopes: %s", out)
	}
	out, _ = json.Marshal(h.mcp.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)))
	if strings.Contains(string(out), `"name":"describe_log_groups"`) || !strings.Contains(string(out), `"name":"analyze_log_group"`) {
		t.Fatalf("filtered list: %s", out)
	}
}

// Without authorize rules nothing changes: one cached list for all.
func TestNoAuthorizeKeepsFastPath(t *testing.T) {
	h := provisionTestHandler(t, &Handler{}, nil)
	if h.authz != nil || h.toolsList == nil {
		t.Fatal("no rules must mean no authorizer and the shared cached list")
	}
}

func TestAuthorizeValidation(t *testing.T) {
	for name, c := range map[string]struct {
		rule AuthorizeRule
		want string
	}{
		"unknown":    {AuthorizeRule{Tools: []string{"logz"}, Scopes: []string{"a"}}, `unknown tool or group "logz"`},
		"empty":      {AuthorizeRule{Tools: []string{"logs"}}, "requires neither scopes nor groups"},
		"no tools":   {AuthorizeRule{Scopes: []string{"a"}}, "names no tool or group"},
		"space":      {AuthorizeRule{Tools: []string{"logs"}, Scopes: []string{"a b"}}, `invalid value "a b"`},
		"quote":      {AuthorizeRule{Tools: []string{"logs"}, Scopes: []string{`a"`}}, "invalid value"},
		"comma":      {AuthorizeRule{Tools: []string{"logs"}, Groups: []string{"a,b"}}, "invalid value"},
		"test group": {AuthorizeRule{Tools: []string{testToolGroup}, Groups: []string{"a"}}, "unknown tool or group"},
	} {
		t.Run(name, func(t *testing.T) {
			h := &Handler{Tools: []string{"logs"}, Authorize: []AuthorizeRule{c.rule}, logger: zap.NewNop(), auditLogger: zap.NewNop()}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := h.Provision(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	// A served tool outside the groups, and a tool of an unserved group,
	// are both nameable.
	h := provisionTestHandler(t, &Handler{Tools: []string{"logs"}, Authorize: []AuthorizeRule{
		{Tools: []string{"get_metric_data", "metrics"}, Scopes: []string{"m"}}}}, nil)
	if h.authz == nil {
		t.Fatal("no authorizer")
	}
}

func TestAuthorizeCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cloudwatch_mcp {
		authorize logs describe_log_groups {
			scopes logs:read
			scopes logs:list
			groups sre oncall
		}
		authorize alarms {
			groups oncall
		}
		audit_query_text
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := []AuthorizeRule{
		{Tools: []string{"logs", "describe_log_groups"}, Scopes: []string{"logs:read", "logs:list"}, Groups: []string{"sre", "oncall"}},
		{Tools: []string{"alarms"}, Groups: []string{"oncall"}},
	}
	got, _ := json.Marshal(h.Authorize)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) || !h.AuditQueryText {
		t.Fatalf("parsed %s, audit_query_text %v", got, h.AuditQueryText)
	}

	for input, want := range map[string][2]string{
		"cloudwatch_mcp {\n authorize { \n scopes a \n } \n}":         {"authorize needs at least one tool", "Testfile:2"},
		"cloudwatch_mcp {\n authorize logs\n}":                        {"authorize: requires neither scopes nor groups", "Testfile:2"},
		"cloudwatch_mcp {\n authorize logs {\n scopes\n }\n}":         {"wrong argument count", "Testfile:3"},
		"cloudwatch_mcp {\n authorize logs {\n bogus x\n }\n}":        {`unrecognized authorize option "bogus"`, "Testfile:3"},
		"cloudwatch_mcp {\n authorize logs {\n groups \"a b\"\n }\n}": {`invalid value "a b"`, "Testfile:3"},
		"cloudwatch_mcp {\n audit_query_text yes\n}":                  {"wrong argument count", "Testfile:2"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		if err == nil || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]) {
			t.Errorf("%q: error %v, want %q at %s", input, err, want[0], want[1])
		}
	}
}

// BenchmarkToolsListAuthorized measures tools/list with authorize rules
// (permission-set cache) against the no-rule fast path.
func BenchmarkToolsListAuthorized(b *testing.B) {
	for name, rules := range map[string][]AuthorizeRule{
		"no_rules": nil,
		"rules": {
			{Tools: []string{"logs", "metrics"}, Scopes: []string{"cw:read"}},
			{Tools: []string{"alarms"}, Groups: []string{"sre"}},
		},
	} {
		b.Run(name, func(b *testing.B) {
			h := provisionTestHandler(b, &Handler{Tools: toolkit.Groups(), Authorize: rules}, nil)
			b.Cleanup(func() { _ = h.Cleanup() })
			tg := toolsListTarget{serve: func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set(testUserHeader, "alice")
				r.Header.Set(testScopeHeader, "openid cw:read")
				r.Header.Set(testGroupsHeader, "dev,sre")
				serveLikeCaddy(h, nil, w, r)
			}}
			rec := httptest.NewRecorder()
			tg.serve(rec, newMCPRequest(initializeBody, ""))
			tg.session = rec.Header().Get(server.HeaderKeySessionID)
			b.ReportAllocs()
			b.ResetTimer()
			runToolsList(b, tg, b.N)
		})
	}
}
