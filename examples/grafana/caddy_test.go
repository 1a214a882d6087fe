package grafana

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	dto "github.com/prometheus/client_model/go"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

const roleARN = "arn:aws:iam::123456789012:role/cloudwatch-readers"

// edge is a Caddy with the plugin, running in this process on free ports
// in front of the fake AWS, with Caddy's own HTTP metrics on (the metrics
// global option) and the per-user rate limit the dashboard shows.
type edge struct {
	issuer  *testissuer.Issuer
	fake    *fakeaws.Fake
	mcpURL  string
	metrics string // the admin API's metrics endpoint, at prometheus.yml's metrics_path
}

// rateLimit is the per-user burst: enough for one MCP session's requests,
// and quickly exhausted by the flooding user.
const rateLimit = 30

func startEdge(t *testing.T) *edge {
	t.Helper()
	dir := t.TempDir()
	e := &edge{issuer: testissuer.New(), fake: fakeaws.Start()}
	t.Cleanup(e.issuer.Close)
	t.Cleanup(e.fake.Close)
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: e.issuer.Issuer(), Keys: e.issuer.JWKS()})
	e.fake.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{e.issuer.Issuer()}})
	fakeaws.LogsOf(e.fake).AddLogGroup(fakeaws.LogGroup{Name: "/aws/lambda/checkout", CreationTime: time.Now().Add(-time.Hour)})
	for k, v := range map[string]string{
		"XDG_DATA_HOME": filepath.Join(dir, "data"), "XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"AWS_ENDPOINT_URL": e.fake.URL, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
	} {
		t.Setenv(k, v)
	}

	scrapeJob := loadScrapeJob(t)
	testcaddy.Start(t, 2, func(p []int) string {
		adminPort, httpPort := p[0], p[1]
		e.mcpURL = fmt.Sprintf("http://localhost:%d/mcp", httpPort)
		e.metrics = fmt.Sprintf("http://localhost:%d%s", adminPort, scrapeJob.MetricsPath)
		return fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	auto_https off
	persist_config off
	skip_install_trust
	storage file_system %s
	metrics
	log {
		output discard
	}
}

http://localhost:%d {
	cognito_auth {
		issuer %s
		audiences %s
		role_arn %s
		rate_limit %d 1h
	}
	cloudwatch_mcp
}
`, adminPort, httpPort, filepath.Join(dir, "storage"), httpPort, e.issuer.Issuer(), e.mcpURL, roleARN, rateLimit)
	})
	return e
}

func (e *edge) token(sub string) string {
	return e.issuer.Mint(e.issuer.OIDCAccessClaims(sub, e.mcpURL), testissuer.Typ("at+jwt"))
}

// post sends a JSON-RPC tools/list with tok (none when empty) and returns
// the status.
func (e *edge) post(t *testing.T, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// bearer authenticates every request of the MCP client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func (e *edge) connect(t *testing.T, tok string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(e.mcpURL, transport.WithHTTPBasicClient(&http.Client{Transport: bearer{tok}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	// The last protocol version with sessions, so sessions_active moves.
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "grafana-dashboard-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

func callTool(t *testing.T, c *client.Client, name string) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = map[string]any{}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// drive makes the traffic every panel needs to have series: tool calls
// that succeed, are denied by AWS and fail on AWS; a request without a
// token; a user over the rate limit; credential exchanges that AWS
// refuses and that fail.
func (e *edge) drive(t *testing.T) {
	t.Helper()
	if s := e.post(t, ""); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}

	c := e.connect(t, e.token("alice"))
	if res := callTool(t, c, "describe_log_groups"); res.IsError {
		t.Fatalf("describe_log_groups: %+v", res.Content)
	}
	e.fake.SetFault("DescribeLogGroups", fakeaws.Fault{Status: 400, Code: "AccessDeniedException",
		Message: "not authorized to perform logs:DescribeLogGroups", Times: 1})
	if res := callTool(t, c, "describe_log_groups"); !res.IsError {
		t.Fatal("describe_log_groups succeeded through an AccessDenied fault")
	}
	e.fake.SetFault("DescribeLogGroups", fakeaws.Fault{Status: 400, Code: "OperationAbortedException",
		Message: "a conflicting operation is in progress", Times: 1})
	if res := callTool(t, c, "describe_log_groups"); !res.IsError {
		t.Fatal("describe_log_groups succeeded through an AWS error")
	}

	flood := e.token("bob")
	for i := 0; ; i++ {
		s := e.post(t, flood)
		if s == http.StatusTooManyRequests {
			break
		}
		if i > 2*rateLimit {
			t.Fatalf("no 429 after %d requests (last %d)", i, s)
		}
	}

	e.fake.SetFault("AssumeRoleWithWebIdentity", fakeaws.Fault{Status: 403, Code: "AccessDenied",
		Message: "not authorized to perform sts:AssumeRoleWithWebIdentity", Times: 1})
	if s := e.post(t, e.token("carol")); s != http.StatusForbidden {
		t.Fatalf("refused exchange: %d, want 403", s)
	}
	e.fake.SetFault("AssumeRoleWithWebIdentity", fakeaws.Fault{Status: 400, Code: "RegionDisabledException",
		Message: "STS is not activated in this region", Times: 1})
	if s := e.post(t, e.token("dave")); s != http.StatusServiceUnavailable {
		t.Fatalf("failed exchange: %d, want 503", s)
	}
	e.fake.ClearFaults()
}

// scrape reads the metrics endpoint as Prometheus would.
func (e *edge) scrape(t *testing.T) *exported {
	t.Helper()
	resp, err := http.Get(e.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics endpoint: %d", resp.StatusCode)
	}
	exp, err := parseExposition(resp.Body)
	if err != nil {
		t.Fatalf("metrics endpoint serves invalid exposition format: %v", err)
	}
	return exp
}

// total sums the samples (histograms: observation counts) of a family
// whose labels include want.
func (e *exported) total(name string, want map[string]string) float64 {
	var sum float64
	for _, m := range e.raw[name].GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == k && l.GetValue() == v
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch e.raw[name].GetType() {
		case dto.MetricType_HISTOGRAM:
			sum += float64(m.GetHistogram().GetSampleCount())
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		default:
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// traffic is what drive must have left in the counters; the scrape is
// retried until it shows all of it, because Caddy's own HTTP metrics are
// recorded just after the response reached the client.
var traffic = []struct {
	family string
	labels map[string]string
}{
	{"caddy_cognito_auth_validations_total", map[string]string{"result": "missing"}},
	{"caddy_cognito_auth_validations_total", map[string]string{"result": "rate_limited"}},
	{"caddy_cognito_auth_validations_total", map[string]string{"result": "forbidden"}},
	{"caddy_cognito_auth_validations_total", map[string]string{"result": "unavailable"}},
	{"caddy_cognito_auth_verify_duration_seconds", nil},
	{"caddy_cognito_auth_jwks_fetches_total", map[string]string{"result": "ok"}},
	{"caddy_cognito_auth_vend_exchanges_total", map[string]string{"mode": "role_arn", "result": "ok"}},
	{"caddy_cognito_auth_vend_exchanges_total", map[string]string{"mode": "role_arn", "result": "refused"}},
	{"caddy_cognito_auth_vend_exchanges_total", map[string]string{"mode": "role_arn", "result": "error"}},
	{"caddy_cognito_auth_credential_cache_lookups_total", map[string]string{"result": "hit"}},
	{"caddy_cloudwatch_mcp_tool_calls_total", map[string]string{"tool": "describe_log_groups", "outcome": "ok"}},
	{"caddy_cloudwatch_mcp_tool_calls_total", map[string]string{"tool": "describe_log_groups", "outcome": "denied", "error_kind": "access_denied"}},
	{"caddy_cloudwatch_mcp_tool_calls_total", map[string]string{"tool": "describe_log_groups", "outcome": "error", "error_kind": "aws_error"}},
	{"caddy_cloudwatch_mcp_tool_duration_seconds", map[string]string{"tool": "describe_log_groups"}},
	{"caddy_cloudwatch_mcp_sessions_active", nil},
	{"caddy_http_request_duration_seconds", map[string]string{"code": "200"}},
	{"caddy_http_request_duration_seconds", map[string]string{"code": "401"}},
	{"caddy_http_request_duration_seconds", map[string]string{"code": "429"}},
	{"caddy_http_request_duration_seconds", map[string]string{"code": "503"}},
}

// TestDashboardAgainstCaddy loads the dashboard, runs a real Caddy with
// the plugin, makes the traffic every panel shows, scrapes Caddy's
// metrics endpoint and checks every query of the dashboard against it:
// each metric exported (histogram series resolved to their family), each
// label it filters, groups or matches on present on that metric, each
// literal label value seen, each legend label on the result. A dashboard
// with a panel on a metric or label that does not exist must fail.
func TestDashboardAgainstCaddy(t *testing.T) {
	d := loadDashboard(t, "dashboard.json")
	e := startEdge(t)
	e.drive(t)

	// Caddy counts a request once its response has gone out.
	var exp *exported
	var missing []string
	testwait.Until(t, "the metrics to show the traffic", func() bool {
		exp, missing = e.scrape(t), nil
		for _, w := range traffic {
			if exp.total(w.family, w.labels) == 0 {
				missing = append(missing, fmt.Sprintf("%s%v", w.family, w.labels))
			}
		}
		return len(missing) == 0
	})

	errs, used := queryErrors(d, exp)
	for _, err := range errs {
		t.Error(err)
	}
	// The dashboard covers every metric the plugin exports.
	for name := range exp.families {
		if !strings.HasPrefix(name, "caddy_cognito_auth_") && !strings.HasPrefix(name, "caddy_cloudwatch_mcp_") {
			continue
		}
		if !used[name] && !used[name+"_bucket"] && !used[name+"_count"] {
			t.Errorf("no panel shows %s", name)
		}
	}
	t.Logf("%d series names checked: %v", len(used), keysOf(used))

	// The check is not vacuous: panels on a metric, label, value or legend
	// that do not exist are each reported.
	for _, bad := range []struct{ expr, legend, want string }{
		{`sum(rate(caddy_cognito_auth_bogus_total{job=~"$job"}[$__rate_interval]))`, "", "caddy_cognito_auth_bogus_total is not exported"},
		{`sum by (tool) (rate(caddy_cognito_auth_validations_total[$__rate_interval]))`, "", `grouped by "tool"`},
		{`sum(rate(caddy_cloudwatch_mcp_tool_calls_total{outcome="throttled"}[$__rate_interval]))`, "", "no series has that value"},
		{`sum by (tool) (rate(caddy_cloudwatch_mcp_tool_calls_total[$__rate_interval]))`, "{{outcome}}", "legend"},
		{`histogram_quantile(0.95, sum by (tool) (rate(caddy_cloudwatch_mcp_tool_duration_seconds_bucket[$__rate_interval])))`, "", "without an le label"},
	} {
		mutated := *d
		p := d.Panels[1]
		p.ID = 999
		p.Targets = []target{{Datasource: &dsRef, Expr: bad.expr, RefID: "A", LegendFormat: bad.legend}}
		p.Type = "timeseries"
		mutated.Panels = append(append([]panel(nil), d.Panels...), p)
		got, _ := queryErrors(&mutated, exp)
		found := false
		for _, err := range got {
			found = found || strings.HasPrefix(err.Error(), "panel 999 ") && strings.Contains(err.Error(), bad.want)
		}
		if !found || len(got) != len(errs)+1 {
			t.Errorf("a panel on %s: errors %v, want one more than the dashboard's, containing %q", bad.expr, got, bad.want)
		}
	}
}
