package promql

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

var promT0 = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)

// seedPromQL puts a small OTLP-shaped data set into the fake: two checkout
// series, one cart series and an enriched EC2 series with an awkward label.
func seedPromQL(te *mcptest.Env) {
	s := te.Fake.PromQL()
	samples := func(base float64) []fakeaws.PromQLSample {
		var out []fakeaws.PromQLSample
		for i := 0; i <= 60; i++ {
			out = append(out, fakeaws.PromQLSample{T: promT0.Add(time.Duration(i) * time.Minute), V: base + float64(i)})
		}
		return out
	}
	s.AddSeries(map[string]string{"__name__": "http.server.active_requests", "@resource.service.name": "checkout", "@aws.region": "us-east-1", "pod": "a"}, samples(100)...)
	s.AddSeries(map[string]string{"__name__": "http.server.active_requests", "@resource.service.name": "checkout", "@aws.region": "us-east-1", "pod": "b"}, samples(200)...)
	s.AddSeries(map[string]string{"__name__": "http.server.active_requests", "@resource.service.name": "cart", "pod": "c"}, samples(300)...)
	s.AddSeries(map[string]string{"__name__": "CPUUtilization", "@instrumentation.@name": "cloudwatch.aws/ec2", "InstanceId": "i-0abc", "team/owner name": "payments"}, samples(1)...)
}

func promCall(t *testing.T, te *mcptest.Env, tool string, args map[string]any) map[string]any {
	t.Helper()
	var out map[string]any
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), tool, args), &out)
	return out
}

func lastPromRequest(t *testing.T, te *mcptest.Env) fakeaws.PromQLRequest {
	t.Helper()
	reqs := te.Fake.PromQL().Requests()
	if len(reqs) == 0 {
		t.Fatal("no PromQL request reached the fake")
	}
	return reqs[len(reqs)-1]
}

func TestPromQLInstantVectorSignedByCaller(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	out := promCall(t, te, "execute_promql_query", map[string]any{
		"query": `{"http.server.active_requests", "@resource.service.name"="checkout"}`,
		"time":  "2025-01-31T12:30:00", // no zone: UTC
	})
	if out["resultType"] != "vector" {
		t.Fatalf("resultType %v", out["resultType"])
	}
	res := out["result"].([]any)
	if len(res) != 2 {
		t.Fatalf("want the 2 checkout series, got %v", res)
	}
	got := map[string]string{}
	for _, r := range res {
		m := r.(map[string]any)
		v := m["value"].([]any)
		if v[0].(float64) != float64(promT0.Add(30*time.Minute).Unix()) {
			t.Fatalf("sample time %v", v[0])
		}
		got[m["metric"].(map[string]any)["pod"].(string)] = v[1].(string)
	}
	if got["a"] != "130" || got["b"] != "230" {
		t.Fatalf("values %v", got)
	}
	if _, ok := out["warnings"]; ok {
		t.Fatal("warnings must be omitted when the API sent none")
	}
	calls := te.Fake.Calls("PromQLQuery")
	if len(calls) != 1 || !calls[0].Signed || calls[0].Owner != "alice" || calls[0].Service != "monitoring" || calls[0].Region != "us-east-1" {
		t.Fatalf("call not signed for monitoring by alice: %+v", calls)
	}
	if q := lastPromRequest(t, te).Query; q.Get("time") != "1738326600" {
		t.Fatalf("time on the wire %q, want unix seconds of 12:30 UTC", q.Get("time"))
	}
}

func TestPromQLScalarAndStringResults(t *testing.T) {
	te := mcptest.NewEnv(t)
	for _, tc := range []struct {
		query, typ, val string
	}{
		{"42", "scalar", "42"},
		{`"hello"`, "string", "hello"},
	} {
		out := promCall(t, te, "execute_promql_query", map[string]any{"query": tc.query, "time": 1738324800.5})
		if out["resultType"] != tc.typ {
			t.Fatalf("%s: resultType %v", tc.query, out["resultType"])
		}
		pair, ok := out["result"].([]any)
		if !ok || len(pair) != 2 || pair[0].(float64) != 1738324800.5 || pair[1] != tc.val {
			t.Fatalf("%s: result must be the [ts, value] pair, got %#v", tc.query, out["result"])
		}
	}
	// A seeded scalar on the range endpoint passes through untouched too.
	te.Fake.PromQL().SetResult("scalar(up)", "scalar", []any{1738324800, "1"})
	out := promCall(t, te, "execute_promql_range_query", map[string]any{"query": "scalar(up)", "start": "1738324800", "end": "1738328400", "step": 60})
	if out["resultType"] != "scalar" || !reflect.DeepEqual(out["result"], []any{1738324800.0, "1"}) {
		t.Fatalf("range scalar %v", out)
	}
}

func TestPromQLRangeQueryMatrix(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	out := promCall(t, te, "execute_promql_range_query", map[string]any{
		"query": `{"http.server.active_requests", "@resource.service.name"="cart"}`,
		"start": "2025-01-31T12:00:00Z",
		"end":   "2025-01-31T13:00:00+00:00",
		"step":  "15m",
	})
	if out["resultType"] != "matrix" {
		t.Fatalf("resultType %v", out["resultType"])
	}
	res := out["result"].([]any)
	if len(res) != 1 {
		t.Fatalf("result %v", res)
	}
	values := res[0].(map[string]any)["values"].([]any)
	if len(values) != 5 || values[4].([]any)[1] != "360" {
		t.Fatalf("values %v", values)
	}
	q := lastPromRequest(t, te).Query
	if q.Get("start") != "1738324800" || q.Get("end") != "1738328400" || q.Get("step") != "15m" {
		t.Fatalf("wire params %v", q)
	}
	if c := te.Fake.Calls("PromQLQueryRange"); len(c) != 1 || c[0].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
}

func TestPromQLValidationErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	rng := func(over map[string]any) map[string]any {
		a := map[string]any{"query": "up", "start": "2025-01-31T12:00:00Z", "end": "2025-01-31T13:00:00Z", "step": "5m"}
		for k, v := range over {
			if v == nil {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
		return a
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"execute_promql_query", map[string]any{}, "query is required"},
		{"execute_promql_query", map[string]any{"query": "  "}, "query is required"},
		{"execute_promql_query", map[string]any{"query": "up", "time": "yesterday"}, "time must be an RFC 3339 time"},
		{"execute_promql_query", map[string]any{"query": "up", "time": true}, "time must be an RFC 3339 time"},
		{"execute_promql_query", map[string]any{"query": "up", "region": "mars"}, "is not an AWS region"},
		{"execute_promql_query", map[string]any{"query": "up", "profile_name": "prod-admin"}, "profile_name is only honoured"},
		{"execute_promql_range_query", rng(map[string]any{"step": nil}), "step is required"},
		{"execute_promql_range_query", rng(map[string]any{"step": "5 minutes"}), "positive Prometheus duration"},
		{"execute_promql_range_query", rng(map[string]any{"step": "0s"}), "positive Prometheus duration"},
		{"execute_promql_range_query", rng(map[string]any{"step": -60.0}), "must be positive"},
		{"execute_promql_range_query", rng(map[string]any{"start": nil}), "start is required"},
		{"execute_promql_range_query", rng(map[string]any{"end": nil}), "end is required"},
		{"execute_promql_range_query", rng(map[string]any{"end": "2025-01-31T11:00:00Z"}), "is before start"},
		{"execute_promql_range_query", rng(map[string]any{"query": nil}), "query is required"},
		{"get_promql_label_values", map[string]any{}, "label_name is required"},
		{"get_promql_label_values", map[string]any{"label_name": ".."}, "is not a label name"},
		{"get_promql_label_values", map[string]any{"label_name": "job", "match": 7.0}, "match must be a list of strings"},
		{"get_promql_series", map[string]any{}, "match is required"},
		{"get_promql_series", map[string]any{"match": []any{" "}}, "match is required"},
		{"get_promql_labels", map[string]any{"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "is before start"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, tc.tool, tc.args), tc.want)
	}
	if n := len(te.Fake.PromQL().Requests()); n != 0 {
		t.Fatalf("invalid input must not reach AWS, %d requests did", n)
	}
	// No vended credentials: the standard message, no call.
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "get_promql_labels", map[string]any{}), toolkit.NoCredentialsMessage)
	if n := len(te.Fake.PromQL().Requests()); n != 0 {
		t.Fatalf("%d requests without credentials", n)
	}
}

func TestPromQLRegionParameter(t *testing.T) {
	te := mcptest.NewEnv(t)
	promCall(t, te, "get_promql_labels", map[string]any{"region": "eu-west-1"})
	c := te.Fake.Calls("PromQLLabels")
	if len(c) != 1 || c[0].Region != "eu-west-1" || c[0].Owner != "alice" {
		t.Fatalf("want a call signed for eu-west-1 by alice, got %+v", c)
	}
}

func TestPromQLSeriesRepeatedMatch(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	out := promCall(t, te, "get_promql_series", map[string]any{
		"match": []any{`{"@resource.service.name"="cart"}`, `CPUUtilization{InstanceId="i-0abc"}`},
		"start": "2025-01-31T12:00:00Z",
	})
	series := out["series"].([]any)
	names := []string{}
	for _, s := range series {
		m := s.(map[string]any)
		names = append(names, m["__name__"].(string)+"/"+cmp.Or(strAny(m["pod"]), strAny(m["InstanceId"])))
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"CPUUtilization/i-0abc", "http.server.active_requests/c"}) {
		t.Fatalf("series %v", names)
	}
	q := lastPromRequest(t, te).Query
	if len(q["match[]"]) != 2 || strings.Contains(q["match[]"][0], "CPUUtilization") {
		t.Fatalf("want two separate match[] parameters, got %q", q["match[]"])
	}
	if q.Get("start") != "1738324800" || q.Has("end") {
		t.Fatalf("start/end %v", q)
	}

	// FastMCP-style JSON-encoded list, and a single plain selector.
	out = promCall(t, te, "get_promql_series", map[string]any{"match": `["{\"@resource.service.name\"=\"checkout\"}"]`})
	if n := len(out["series"].([]any)); n != 2 {
		t.Fatalf("JSON-encoded match: %d series", n)
	}
	out = promCall(t, te, "get_promql_series", map[string]any{"match": `{pod="c"}`})
	if n := len(out["series"].([]any)); n != 1 {
		t.Fatalf("single selector: %d series", n)
	}
	if c := te.Fake.Calls("PromQLSeries"); len(c) != 3 || c[2].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
}

func strAny(v any) string { s, _ := v.(string); return s }

func TestPromQLLabelValuesURLEncodedName(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	out := promCall(t, te, "get_promql_label_values", map[string]any{"label_name": "team/owner name"})
	if !reflect.DeepEqual(out["values"], []any{"payments"}) {
		t.Fatalf("values %v", out["values"])
	}
	if p := lastPromRequest(t, te).Path; p != "/api/v1/label/team%2Fowner%20name/values" {
		t.Fatalf("path %q: the label name must be one URL-encoded segment", p)
	}
	out = promCall(t, te, "get_promql_label_values", map[string]any{"label_name": "@resource.service.name"})
	if !reflect.DeepEqual(out["values"], []any{"cart", "checkout"}) {
		t.Fatalf("values must be sorted and distinct: %v", out["values"])
	}
	out = promCall(t, te, "get_promql_label_values", map[string]any{"label_name": "pod", "match": []any{`{"@resource.service.name"="checkout"}`, `{pod="c"}`}})
	if !reflect.DeepEqual(out["values"], []any{"a", "b", "c"}) {
		t.Fatalf("values with two selectors %v", out["values"])
	}
	if q := lastPromRequest(t, te).Query; len(q["match[]"]) != 2 {
		t.Fatalf("match[] %q", q["match[]"])
	}
	out = promCall(t, te, "get_promql_label_values", map[string]any{"label_name": "no_such_label"})
	if v, ok := out["values"].([]any); !ok || len(v) != 0 {
		t.Fatalf("an unknown label must give an empty list, got %#v", out["values"])
	}
	if c := te.Fake.Calls("PromQLLabelValues"); len(c) != 4 || c[0].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
}

func TestPromQLLabels(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	out := promCall(t, te, "get_promql_labels", map[string]any{})
	want := []any{"@aws.region", "@instrumentation.@name", "@resource.service.name", "InstanceId", "__name__", "pod", "team/owner name"}
	if !reflect.DeepEqual(out["labels"], want) {
		t.Fatalf("labels %v", out["labels"])
	}
	out = promCall(t, te, "get_promql_labels", map[string]any{"match": []any{`{pod="c"}`}, "end": "2025-01-31T12:30:00Z"})
	if !reflect.DeepEqual(out["labels"], []any{"@resource.service.name", "__name__", "pod"}) {
		t.Fatalf("labels with match %v", out["labels"])
	}
	if c := te.Fake.Calls("PromQLLabels"); len(c) != 2 || c[1].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
}

// recordSleeps replaces the backoff wait with a recorder.
func recordSleeps(te *mcptest.Env) *[]time.Duration {
	var d []time.Duration
	te.Sleep = func(ctx context.Context, w time.Duration) error {
		d = append(d, w)
		return ctx.Err()
	}
	return &d
}

func TestPromQLRetriesTransientFailures(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedPromQL(te)
	sleeps := recordSleeps(te)
	args := map[string]any{"query": `{pod="a"}`, "time": "2025-01-31T12:10:00Z"}

	// Two 5xx, then success: three attempts with a growing backoff.
	te.Fake.SetFault("PromQLQuery", fakeaws.Fault{Status: 503, Code: "ServiceUnavailable", Message: "try later", Times: 2})
	out := promCall(t, te, "execute_promql_query", args)
	if len(out["result"].([]any)) != 1 {
		t.Fatalf("result %v", out)
	}
	if n := te.Fake.CallCount("PromQLQuery"); n != 3 {
		t.Fatalf("want 3 attempts, got %d", n)
	}
	if len(*sleeps) != 2 || (*sleeps)[1] <= (*sleeps)[0] {
		t.Fatalf("backoff %v", *sleeps)
	}

	// A persistent 5xx gives up after exactly 3 attempts.
	te.Fake.ResetCalls()
	te.Fake.SetFault("PromQLQuery", fakeaws.Fault{Status: 500, Code: "InternalFailure", Message: "boom"})
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_promql_query", args)
	mcptest.WantToolError(t, res, "failed after 3 attempts")
	mcptest.WantToolError(t, res, "InternalFailure")
	if n := te.Fake.CallCount("PromQLQuery"); n != 3 {
		t.Fatalf("want 3 attempts, got %d", n)
	}
	te.Fake.ClearFaults()

	// Connection errors are retried as well.
	te.Fake.ResetCalls()
	*sleeps = nil
	base := te.Clients.Base.BaseEndpoint
	te.Clients.Base.BaseEndpoint = aws.String("http://127.0.0.1:1")
	res = te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_promql_query", args)
	mcptest.WantToolError(t, res, "failed after 3 attempts: PromQL connection error")
	if len(*sleeps) != 2 {
		t.Fatalf("connection errors: want 2 backoffs, got %v", *sleeps)
	}
	te.Clients.Base.BaseEndpoint = base

	// Throttling (a 400 with a throttling code) is retried too.
	te.Fake.ResetCalls()
	te.Fake.SetFault("PromQLSeries", fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1})
	promCall(t, te, "get_promql_series", map[string]any{"match": `{pod="a"}`})
	if n := te.Fake.CallCount("PromQLSeries"); n != 2 {
		t.Fatalf("throttling: want 2 attempts, got %d", n)
	}
}

func TestPromQLNoRetryOnStatusErrorOr4xx(t *testing.T) {
	te := mcptest.NewEnv(t)
	sleeps := recordSleeps(te)
	s := te.Fake.PromQL()
	s.FailQuery("sum(", "bad_data", `1:5: parse error: unclosed left parenthesis`)
	s.FailQuery("slow_query", "timeout", "query timed out in expression evaluation")

	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_promql_query", map[string]any{"query": "sum("})
	mcptest.WantToolError(t, res, "PromQL API error (bad_data): 1:5: parse error: unclosed left parenthesis")
	if n := te.Fake.CallCount("PromQLQuery"); n != 1 {
		t.Fatalf("a PromQL status:error (HTTP 400) must not be retried: %d calls", n)
	}
	// Even on HTTP 503, a Prometheus error answer is final.
	res = te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_promql_range_query", map[string]any{"query": "slow_query", "start": "1738324800", "end": "1738328400", "step": "1m"})
	mcptest.WantToolError(t, res, "PromQL API error (timeout)")
	if n := te.Fake.CallCount("PromQLQueryRange"); n != 1 {
		t.Fatalf("status:error on 503 must not be retried: %d calls", n)
	}
	// The fake's own evaluation errors are status:error as well.
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_promql_series", map[string]any{"match": "{"}), "PromQL API error (bad_data)")
	if n := te.Fake.CallCount("PromQLSeries"); n != 1 {
		t.Fatalf("%d series calls", n)
	}
	// A plain 4xx AWS error is not retried either (awslabs retried every 4xx).
	te.Fake.SetFault("PromQLLabels", fakeaws.Fault{Status: 403, Code: "AccessDeniedException", Message: "not authorized to perform cloudwatch:GetMetricData"})
	res = te.CallTool(t, mcptest.UserCtx(te.Alice), "get_promql_labels", nil)
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: not authorized")
	mcptest.WantToolError(t, res, "[request id ")
	if n := te.Fake.CallCount("PromQLLabels"); n != 1 {
		t.Fatalf("AccessDenied must not be retried: %d calls", n)
	}
	if len(*sleeps) != 0 {
		t.Fatalf("no backoff expected, slept %v", *sleeps)
	}
}

func TestPromQLUnknownKeyAndCancellation(t *testing.T) {
	te := mcptest.NewEnv(t)
	// A key the fake never issued: SigV4 verification rejects it, no retry.
	ghost := aws.Credentials{AccessKeyID: "AKIAGHOST", SecretAccessKey: "x"}
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(ghost), "get_promql_labels", nil), "InvalidClientTokenId")

	// Cancellation during the backoff stops the retries.
	ctx, cancel := context.WithCancel(mcptest.UserCtx(te.Alice))
	te.Sleep = func(c context.Context, _ time.Duration) error { cancel(); return c.Err() }
	te.Fake.SetFault("PromQLLabels", fakeaws.Fault{Status: 502, Code: "BadGateway"})
	res := te.CallTool(t, ctx, "get_promql_labels", nil)
	mcptest.WantToolError(t, res, "cancelled")
	if n := te.Fake.CallCount("PromQLLabels"); n != 1 {
		t.Fatalf("cancelled call went on: %d attempts", n)
	}
}

func TestPromQLToolsRegistered(t *testing.T) {
	te := mcptest.NewEnv(t)
	tools, err := te.Tools([]string{"promql"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range tools {
		names = append(names, st.Tool.Name)
		var in, out map[string]any
		if err := json.Unmarshal(st.Tool.RawInputSchema, &in); err != nil || in["type"] != "object" {
			t.Fatalf("%s input schema %s", st.Tool.Name, st.Tool.RawInputSchema)
		}
		if err := json.Unmarshal(st.Tool.RawOutputSchema, &out); err != nil || out["type"] != "object" {
			t.Fatalf("%s output schema %s", st.Tool.Name, st.Tool.RawOutputSchema)
		}
		props := in["properties"].(map[string]any)
		if _, ok := props["region"]; !ok {
			t.Fatalf("%s lacks region", st.Tool.Name)
		}
		if _, ok := props["profile_name"]; !ok {
			t.Fatalf("%s lacks profile_name", st.Tool.Name)
		}
		if len(st.Tool.Description) < 400 {
			t.Fatalf("%s: description too short to guide an agent", st.Tool.Name)
		}
	}
	sort.Strings(names)
	want := []string{"execute_promql_query", "execute_promql_range_query", "get_promql_label_values", "get_promql_labels", "get_promql_series"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("promql tools %v", names)
	}
	for _, frag := range []string{"@resource.", "@aws.tag.", "histogram_avg", "start-otel-enrichment"} {
		if !strings.Contains(promqlQueryDescription, frag) || !strings.Contains(promqlRangeDescription, frag) {
			t.Fatalf("query descriptions must mention %q", frag)
		}
	}
}

func TestPromQLEndpointResolution(t *testing.T) {
	ctx := context.Background()
	for region, want := range map[string]string{
		"us-east-1":  "https://monitoring.us-east-1.amazonaws.com",
		"cn-north-1": "https://monitoring.cn-north-1.amazonaws.com.cn",
	} {
		got, err := promqlBaseURL(ctx, aws.Config{Region: region})
		if err != nil || got != want {
			t.Fatalf("%s: %q %v", region, got, err)
		}
	}
	got, _ := promqlBaseURL(ctx, aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9")})
	if got != "http://127.0.0.1:9" {
		t.Fatalf("BaseEndpoint ignored: %q", got)
	}
	// The service-specific env override, as the CloudWatch SDK client reads it.
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cloudwatch.internal:8080")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := promqlBaseURL(ctx, cfg); got != "http://cloudwatch.internal:8080" {
		t.Fatalf("AWS_ENDPOINT_URL_CLOUDWATCH ignored: %q", got)
	}
}

func TestPromQLNonPrometheusAnswer(t *testing.T) {
	te := mcptest.NewEnv(t)
	// A 2xx that is not the Prometheus envelope is reported, not retried.
	te.Fake.Handle("monitoring", "PromQLLabels", func(r *fakeaws.Request) (any, error) {
		return fakeaws.HTTPResponse{Status: http.StatusOK, Body: map[string]any{"hello": "world"}}, nil
	})
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_promql_labels", nil), "not a Prometheus API response")
	if n := te.Fake.CallCount("PromQLLabels"); n != 1 {
		t.Fatalf("%d calls", n)
	}
	// Warnings sent by the API reach the agent.
	te.Fake.Handle("monitoring", "PromQLLabels", func(r *fakeaws.Request) (any, error) {
		return fakeaws.HTTPResponse{Status: http.StatusOK, Body: map[string]any{"status": "success", "data": []any{"b", "a"}, "warnings": []any{"results truncated"}}}, nil
	})
	out := promCall(t, te, "get_promql_labels", nil)
	if !reflect.DeepEqual(out["labels"], []any{"a", "b"}) || !reflect.DeepEqual(out["warnings"], []any{"results truncated"}) {
		t.Fatalf("out %v", out)
	}
}
