package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsURL is the admin API's metrics endpoint; it serves the same
// registry as a site's `metrics` handler.
func metricsURL() string { return fmt.Sprintf("http://localhost:%d/metrics", adminPort) }

// scrapeMetrics fetches and parses the endpoint (so it must be valid
// exposition format) and flattens every series to
// `name{label="value",...}` -> value; histograms appear as _count.
func scrapeMetrics(t *testing.T) (map[string]float64, map[string]dto.MetricType) {
	t.Helper()
	resp, err := http.Get(metricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("metrics endpoint: %d %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics endpoint serves invalid exposition format: %v", err)
	}
	series := map[string]float64{}
	types := map[string]dto.MetricType{}
	for name, mf := range mfs {
		types[name] = mf.GetType()
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(labels)
			key := name
			var v float64
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				key += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			default:
				v = m.GetUntyped().GetValue()
			}
			series[key+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return series, types
}

// TestMetricsEndpoint drives the edge with a valid token (through a real
// MCP client and a tool call), no token, a malformed and an expired token,
// then scrapes Caddy's metrics endpoint: every plugin series is there with
// its type, the counters moved by what was done, and no label anywhere
// carries the subject, the token or the issuer.
func TestMetricsEndpoint(t *testing.T) {
	startEdge(t)
	sub := fmt.Sprintf("metrics-sub-%d", time.Now().UnixNano())
	tok := token(sub)
	expired := issuer.Mint(issuer.OIDCAccessClaims(sub, endpoint()).With("exp", time.Now().Add(-time.Hour).Unix()))
	before, _ := scrapeMetrics(t)

	post := func(authz string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, endpoint(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(""); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}
	if s := post("Bearer not-a-jwt"); s != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", s)
	}
	if s := post("Bearer " + expired); s != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", s)
	}
	c := connect(t, tok)
	if res := callTool(t, c, "describe_log_groups", map[string]any{}); res.IsError {
		t.Fatalf("describe_log_groups: %s", text(res))
	}

	after, types := scrapeMetrics(t)
	delta := func(k string) float64 {
		t.Helper()
		v, ok := after[k]
		if !ok {
			t.Fatalf("series %s not exposed", k)
		}
		return v - before[k]
	}
	exact := map[string]float64{
		`caddy_cognito_auth_validations_total{result="missing"}`:                                                   1,
		`caddy_cognito_auth_validations_total{result="invalid"}`:                                                   1,
		`caddy_cognito_auth_validations_total{result="expired"}`:                                                   1,
		`caddy_cognito_auth_validations_total{result="forbidden"}`:                                                 0,
		`caddy_cognito_auth_vend_exchanges_total{mode="role_arn",result="ok"}`:                                     1,
		`caddy_cognito_auth_vend_duration_seconds_count{mode="role_arn"}`:                                          1,
		`caddy_cognito_auth_credential_cache_lookups_total{result="miss"}`:                                         1,
		`caddy_cloudwatch_mcp_tool_calls_total{error_kind="none",outcome="ok",tool="describe_log_groups"}`:         1,
		`caddy_cloudwatch_mcp_tool_calls_total{error_kind="aws_error",outcome="error",tool="describe_log_groups"}`: 0,
		`caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="describe_log_groups"}`:                             1,
	}
	for k, want := range exact {
		if d := delta(k); d != want {
			t.Errorf("%s changed by %v, want %v", k, d, want)
		}
	}
	// The client's initialize, notification, tools/call (and its GET
	// stream) are each authenticated; all but the first find the vended
	// credentials cached.
	if d := delta(`caddy_cognito_auth_validations_total{result="ok"}`); d < 3 {
		t.Errorf("ok validations changed by %v, want >= 3", d)
	}
	if d := delta(`caddy_cognito_auth_credential_cache_lookups_total{result="hit"}`); d < 2 {
		t.Errorf("credential cache hits changed by %v, want >= 2", d)
	}
	if v := after[`caddy_cloudwatch_mcp_sessions_active{}`]; v < 1 {
		t.Errorf("sessions_active = %v with a client connected", v)
	}
	if _, ok := after[`caddy_cognito_auth_jwks_fetches_total{result="ok"}`]; !ok {
		t.Error("jwks fetch series missing")
	}

	wantTypes := map[string]dto.MetricType{
		"caddy_cognito_auth_validations_total":              dto.MetricType_COUNTER,
		"caddy_cognito_auth_jwks_fetches_total":             dto.MetricType_COUNTER,
		"caddy_cognito_auth_vend_exchanges_total":           dto.MetricType_COUNTER,
		"caddy_cognito_auth_vend_duration_seconds":          dto.MetricType_HISTOGRAM,
		"caddy_cognito_auth_credential_cache_lookups_total": dto.MetricType_COUNTER,
		"caddy_cloudwatch_mcp_tool_calls_total":             dto.MetricType_COUNTER,
		"caddy_cloudwatch_mcp_tool_duration_seconds":        dto.MetricType_HISTOGRAM,
		"caddy_cloudwatch_mcp_sessions_active":              dto.MetricType_GAUGE,
	}
	for name, want := range wantTypes {
		if got, ok := types[name]; !ok || got != want {
			t.Errorf("%s: type %v (present %v), want %v", name, got, ok, want)
		}
	}

	payload := strings.Split(tok, ".")[1]
	for k := range after {
		for _, secret := range []string{sub, tok, payload, "not-a-jwt", issuer.Issuer()} {
			if strings.Contains(k, secret) {
				t.Fatalf("series %s carries caller data %q", k, secret)
			}
		}
	}
}
