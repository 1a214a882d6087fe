package cloudwatchmcp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/promreg"
)

// scrape gathers reg the way the metrics endpoint does and flattens our
// series to `name{label="value",...}` -> value (histograms as _count).
func scrape(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out, err := promreg.Flatten(reg, "caddy_cloudwatch_mcp_")
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return out
}

// wantDeltas compares two scrapes: every listed series changed by exactly
// its value, and every other series did not change.
func wantDeltas(t testing.TB, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	for k := range want {
		if _, ok := after[k]; !ok {
			t.Errorf("series %s not exposed", k)
		}
	}
	for k, v := range after {
		if d := v - before[k]; d != want[k] {
			t.Errorf("%s changed by %v, want %v", k, d, want[k])
		}
	}
}

func testRegistry(t testing.TB) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

func callThroughClient(t *testing.T, ts *testServer, user, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	c := ts.newClient(t, user)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

// TestToolCallMetrics drives tools through the real MCP server and client:
// each outcome lands on its tool's series, latency is observed for every
// call, and nothing about the caller becomes a label.
func TestToolCallMetrics(t *testing.T) {
	reg := testRegistry(t)
	ts := newTestServer(t, &Handler{Tools: []string{testToolGroup, "logs"},
		Authorize: []AuthorizeRule{{Tools: []string{"test_notify"}, Groups: []string{"admins"}}}})
	series := func(tool, outcome, kind string) string {
		return `caddy_cloudwatch_mcp_tool_calls_total{error_kind="` + kind + `",outcome="` + outcome + `",tool="` + tool + `"}`
	}
	latency := func(tool string) string {
		return `caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="` + tool + `"}`
	}
	before := scrape(t, reg)

	if res := callThroughClient(t, ts, "alice", "test_whoami", nil); res.IsError {
		t.Fatalf("whoami: %+v", res)
	}
	if res := callThroughClient(t, ts, "carol", "test_whoami", nil); !res.IsError { // no credentials
		t.Fatal("carol has no credentials")
	}
	if res := callThroughClient(t, ts, "alice", "test_notify", map[string]any{"count": 1}); !res.IsError {
		t.Fatal("alice is not in admins")
	}
	// A panic is recovered into a protocol error.
	pc := ts.newClient(t, "alice")
	preq := mcp.CallToolRequest{}
	preq.Params.Name = "test_panic"
	if _, err := pc.CallTool(context.Background(), preq); err == nil {
		t.Fatal("test_panic succeeded")
	}
	ts.fake.SetFault("DescribeLogGroups", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not allowed"})
	res := callThroughClient(t, ts, "alice", "describe_log_groups", map[string]any{})
	ts.fake.ClearFaults()
	if !res.IsError {
		t.Fatal("want a denied tool result")
	}
	// Unknown tools never reach a tool handler: no series for them.
	c := ts.newClient(t, "alice")
	req := mcp.CallToolRequest{}
	req.Params.Name = "alice-secret-tool"
	if _, err := c.CallTool(context.Background(), req); err == nil {
		t.Fatal("unknown tool accepted")
	}

	after := scrape(t, reg)
	wantDeltas(t, before, after, map[string]float64{
		series("test_whoami", "ok", "none"):                      1,
		series("test_whoami", "error", "access_denied"):          1, // no credentials
		series("test_panic", "error", "internal"):                1,
		series("describe_log_groups", "denied", "access_denied"): 1,
		series("test_notify", "denied", "access_denied"):         1,
		latency("test_notify"):                                   1,
		latency("test_whoami"):                                   2,
		latency("test_panic"):                                    1,
		latency("describe_log_groups"):                           1,
		// Sessions are counted too; the clients are still open.
		`caddy_cloudwatch_mcp_sessions_active{}`: 6,
	})
	for k := range after {
		if strings.Contains(k, "alice") || strings.Contains(k, "carol") || strings.Contains(k, mcptest.Issuer) {
			t.Fatalf("series %s names the caller", k)
		}
		if i := strings.Index(k, `tool="`); i >= 0 {
			name := k[i+len(`tool="`):]
			name = name[:strings.IndexByte(name, '"')]
			if !servedTool(name) {
				t.Fatalf("series %s has a tool label outside the registered tools", k)
			}
		}
	}
}

// servedTool reports whether name is a tool some group of this package
// builds (series of every test's handlers share the collectors).
func servedTool(name string) bool {
	// An account makes list_accounts (outside every group) served too.
	h := &Handler{Accounts: []Account{{Name: "a", RoleARN: "arn:aws:iam::111111111111:role/r"}}}
	h.Tools = append(h.Tools, toolkit.Groups()...)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := h.Provision(ctx); err != nil {
		return false
	}
	defer h.Cleanup()
	return h.mcp.GetTool(name) != nil
}

func TestToolOutcome(t *testing.T) {
	for _, tc := range []struct {
		res  *mcp.CallToolResult
		err  error
		want string
	}{
		{mcp.NewToolResultText("fine"), nil, outcomeOK},
		{nil, errors.New("protocol"), outcomeError},
		{nil, nil, outcomeError},
		{toolkit.ErrorResult(context.Background(), toolkit.Errorf("bad argument")), nil, outcomeError},
		{mcp.NewToolResultError("AWS error AccessDeniedException: no (your AWS identity lacks this permission)"), nil, outcomeDenied},
		{mcp.NewToolResultError("AWS error AccessDenied: no"), nil, outcomeDenied},
		{mcp.NewToolResultError("AWS error ThrottlingException: slow down"), nil, outcomeError},
		{mcp.NewToolResultError(groupMessage("describe_log_groups", [][]string{{"ops"}})), nil, outcomeDenied},
		{mcp.NewToolResultError("describe_log_groups requires the OAuth scopes mcp/logs; authorize again with them"), nil, outcomeDenied},
	} {
		if got := toolOutcome(tc.res, tc.err); got != tc.want {
			t.Errorf("toolOutcome(%+v, %v) = %s, want %s", tc.res, tc.err, got, tc.want)
		}
	}
}

// TestSessionsActiveGauge follows the gauge through a session's life:
// created, ended by DELETE, idled out, and dropped by Cleanup on reload.
func TestSessionsActiveGauge(t *testing.T) {
	reg := testRegistry(t)
	const gauge = `caddy_cloudwatch_mcp_sessions_active{}`
	start := scrape(t, reg)[gauge]
	delta := func() float64 { return scrape(t, reg)[gauge] - start }

	ts := newTestServer(t, nil)
	a := ts.rawInit(t, "alice")
	ts.rawInit(t, "alice")
	ts.rawInit(t, "bob")
	if d := delta(); d != 3 {
		t.Fatalf("after 3 initializes: %v", d)
	}
	wantStatus(t, ts.rawRequest(t, http.MethodDelete, "alice", a, ""), http.StatusOK)
	if d := delta(); d != 2 {
		t.Fatalf("after DELETE: %v", d)
	}
	// A reload cleans the old handler up: its sessions leave the gauge.
	if err := ts.h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if d := delta(); d != 0 {
		t.Fatalf("after Cleanup: %v", d)
	}

	// Idle expiry and eviction go through the same bookkeeping.
	clock := &fakeClock{t: time.Now()}
	r := newSessionRegistry(time.Minute, clock.now)
	r.maxPerIdentity = 2
	for range 3 {
		r.create("dave") // the third evicts the first
	}
	if d := delta(); d != 2 {
		t.Fatalf("after eviction: %v", d)
	}
	clock.advance(2 * time.Minute)
	r.create("erin") // prunes dave's idle sessions
	if d := delta(); d != 1 || r.len() != 1 {
		t.Fatalf("after idle prune: %v (%d held)", d, r.len())
	}
	r.clear()
	if d := delta(); d != 0 {
		t.Fatalf("after clear: %v", d)
	}
}

// TestMetricsRegistration: reloads provision into fresh registries and
// several handlers share one; neither may fail, and a foreign collector
// with our name must not be silently shadowed.
func TestMetricsRegistration(t *testing.T) {
	reg := testRegistry(t)
	if err := registerMetrics(reg); err != nil {
		t.Fatalf("second handler in the same config: %v", err)
	}
	if err := registerMetrics(prometheus.NewPedanticRegistry()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := registerMetrics(nil); err != nil {
		t.Fatal(err)
	}
	clash := prometheus.NewPedanticRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "caddy_cloudwatch_mcp_sessions_active", Help: "x"}))
	if err := registerMetrics(clash); err == nil {
		t.Fatal("clash not reported")
	}
	// Provision registers into the config's registry.
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	h := &Handler{Tools: []string{testToolGroup}}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	got := scrape(t, ctx.GetMetricsRegistry())
	if _, ok := got[`caddy_cloudwatch_mcp_tool_calls_total{error_kind="none",outcome="ok",tool="test_whoami"}`]; !ok {
		t.Fatalf("provision did not register the metrics: %v", got)
	}
}
