package metrics

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// metricsNow is the fixed clock of the metrics tests.
var metricsNow = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)

func newMetricsEnv(t *testing.T) *mcptest.Env {
	t.Helper()
	te := mcptest.NewEnv(t)
	te.Now = func() time.Time { return metricsNow }
	return te
}

// metricTestCatalog builds a catalog literal, so tests don't depend on the
// embedded catalog's data (a colleague's work).
func metricTestCatalog(entries ...*catalog.Metric) *catalog.Catalog {
	return catalog.New(entries...)
}

// everyMinute returns one point a minute over [from, to).
func everyMinute(from, to time.Time, v func(t time.Time, i int) float64) []fakeaws.MetricPoint {
	var out []fakeaws.MetricPoint
	for i, t := 0, from; t.Before(to); i, t = i+1, t.Add(time.Minute) {
		out = append(out, fakeaws.MetricPoint{T: t, V: v(t, i)})
	}
	return out
}

type gmdResponse struct {
	MetricDataResults []struct {
		ID         string `json:"id"`
		Label      string `json:"label"`
		StatusCode string `json:"statusCode"`
		Datapoints []struct {
			Timestamp time.Time `json:"timestamp"`
			Value     float64   `json:"value"`
		} `json:"datapoints"`
		Messages []map[string]any `json:"messages"`
	} `json:"metricDataResults"`
	Messages []map[string]any `json:"messages"`
}

func assertSignedByAlice(t *testing.T, te *mcptest.Env, op string) {
	t.Helper()
	calls := te.Fake.Calls(op)
	if len(calls) == 0 {
		t.Fatalf("no %s call reached AWS", op)
	}
	for _, c := range calls {
		if c.Owner != "alice" || !c.Signed || c.AccessKeyID != te.Alice.AccessKeyID {
			t.Fatalf("%s was not signed with alice's vended key: %+v", op, c)
		}
	}
}

func TestMetricGetDataStandardPath(t *testing.T) {
	te := newMetricsEnv(t)
	dims := map[string]string{"InstanceId": "i-1"}
	fakeaws.MetricsOf(te.Fake).PutSeries("AWS/EC2", "CPUUtilization", dims,
		everyMinute(metricsNow.Add(-3*time.Hour), metricsNow, func(_ time.Time, i int) float64 { return float64(i) }))
	ctx := mcptest.UserCtx(te.Alice)

	// Defaults: the last 3 hours, 60 target points -> 180 s buckets, AVG.
	res := te.CallTool(t, ctx, "get_metric_data", map[string]any{
		"namespace": "AWS/EC2", "metric_name": "CPUUtilization",
		"dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-1"}},
		"statistic":  "MAX",
	})
	var out gmdResponse
	mcptest.DecodeResult(t, res, &out)
	if len(out.MetricDataResults) != 1 {
		t.Fatalf("%d results", len(out.MetricDataResults))
	}
	r := out.MetricDataResults[0]
	if r.ID != "m1" || r.Label != "CPUUtilization" || r.StatusCode != "Complete" || len(r.Datapoints) != 60 {
		t.Fatalf("result %s %q %s with %d points", r.ID, r.Label, r.StatusCode, len(r.Datapoints))
	}
	for i, p := range r.Datapoints {
		if want := metricsNow.Add(-3 * time.Hour).Add(time.Duration(i) * 3 * time.Minute); !p.Timestamp.Equal(want) || p.Value != float64(3*i+2) {
			t.Fatalf("point %d = %v %v, want %v %d (ascending, MAX of 3 minutes)", i, p.Timestamp, p.Value, want, 3*i+2)
		}
	}
	if r.Messages == nil || out.Messages == nil {
		t.Fatal("messages must be lists, not null")
	}
	assertSignedByAlice(t, te, "GetMetricData")
	if !strings.Contains(mcptest.ResultText(t, res), `"timestamp":"2025-06-02T09:00:00Z"`) {
		t.Fatalf("timestamps must be ISO 8601 UTC with Z: %.200s", mcptest.ResultText(t, res))
	}

	// Explicit zone-less times are UTC; target_datapoints=7 over an hour
	// gives 514 s, rounded up to 540 s.
	res = te.CallTool(t, ctx, "get_metric_data", map[string]any{
		"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "dimensions": `[{"name":"InstanceId","value":"i-1"}]`,
		"start_time": "2025-06-02T10:00:00", "end_time": "2025-06-02T13:00:00+02:00", "target_datapoints": 7, "statistic": "SampleCount",
	})
	mcptest.DecodeResult(t, res, &out)
	ps := out.MetricDataResults[0].Datapoints
	if len(ps) < 2 || ps[1].Timestamp.Sub(ps[0].Timestamp) != 540*time.Second || ps[1].Value != 9 {
		t.Fatalf("period: %+v", ps)
	}
	if first, last := ps[0].Timestamp, ps[len(ps)-1].Timestamp; first.Before(time.Date(2025, 6, 2, 9, 51, 0, 0, time.UTC)) || !last.Before(time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("window %v..%v is not 10:00Z..11:00Z", first, last)
	}
}

func TestMetricGetDataValidationErrors(t *testing.T) {
	te := newMetricsEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for name, tc := range map[string]struct {
		args map[string]any
		want string
	}{
		"no namespace":        {map[string]any{"metric_name": "x"}, "namespace and metric_name are required when queries parameter is not provided"},
		"bad statistic":       {base(map[string]any{"statistic": "p99"}), "statistic must be one of AVG, COUNT"},
		"bad time":            {base(map[string]any{"start_time": "yesterday"}), "start_time"},
		"start after end":     {base(map[string]any{"start_time": "2025-06-02T11:00:00Z", "end_time": "2025-06-02T10:00:00Z"}), "must be before end_time"},
		"zero target":         {base(map[string]any{"target_datapoints": 0}), "target_datapoints must be a positive integer"},
		"bad dimensions":      {base(map[string]any{"dimensions": "oops"}), "dimensions must be a list"},
		"dimension no name":   {base(map[string]any{"dimensions": []any{map[string]any{"value": "x"}}}), "dimensions[0].name is required"},
		"group by not schema": {base(map[string]any{"group_by_dimension": "InstanceId", "schema_dimension_keys": []any{"AutoScalingGroupName"}}), "group_by_dimension 'InstanceId' must be included in schema_dimension_keys: ['AutoScalingGroupName']"},
		"sort without order":  {base(map[string]any{"sort_order": "DESC"}), "sort_order requires order_by_statistic"},
		"bad sort order":      {base(map[string]any{"sort_order": "UP", "order_by_statistic": "MAX"}), "sort_order must be ASC or DESC"},
		"bad limit":           {base(map[string]any{"limit": 1000}), "limit must be between 1 and 500"},
		"bad region":          {base(map[string]any{"region": "moon-1"}), "is not an AWS region"},
		"profile refused":     {base(map[string]any{"profile_name": "prod-admin"}), "profile_name is only honoured with `credentials default`"},
		"query neither":       {map[string]any{"queries": []any{map[string]any{"id": "m1"}}}, `queries[0] (id "m1"): Either metric_stat or expression must be provided`},
		"query both": {map[string]any{"queries": []any{map[string]any{"id": "m1", "expression": "m2*2",
			"metric_stat": map[string]any{"namespace": "A", "metric_name": "B", "statistic": "Average"}}}}, "Cannot specify both metric_stat and expression"},
		"query no id":       {map[string]any{"queries": `[{"expression":"SELECT 1"}]`}, "queries[0].id is required"},
		"query stat fields": {map[string]any{"queries": []any{map[string]any{"id": "m1", "metric_stat": map[string]any{"namespace": "A"}}}}, "metric_stat needs namespace, metric_name and statistic"},
	} {
		t.Run(name, func(t *testing.T) {
			mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_data", tc.args), tc.want)
		})
	}
	if n := te.Fake.CallCount("GetMetricData"); n != 0 {
		t.Fatalf("invalid input reached AWS %d times", n)
	}
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "get_metric_data", base(nil)), toolkit.NoCredentialsMessage)
}

func TestMetricGetDataAWSErrors(t *testing.T) {
	te := newMetricsEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	te.Fake.SetFault("GetMetricData", fakeaws.Fault{Status: 403, Code: "AccessDenied",
		Message: "User: alice is not authorized to perform: cloudwatch:GetMetricData", Times: 1})
	res := te.CallTool(t, ctx, "get_metric_data", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization"})
	mcptest.WantToolError(t, res, "AWS error AccessDenied: User: alice is not authorized to perform: cloudwatch:GetMetricData")
	mcptest.WantToolError(t, res, "lacks this permission")
	if strings.Contains(mcptest.ResultText(t, res), te.Alice.SecretAccessKey) {
		t.Fatal("secret leaked")
	}
	// The service's own validation comes back readable too.
	res = te.CallTool(t, ctx, "get_metric_data", map[string]any{"queries": []any{
		map[string]any{"id": "m1", "metric_stat": map[string]any{"namespace": "A", "metric_name": "B", "statistic": "Average", "period": 61}}}})
	mcptest.WantToolError(t, res, "AWS error ValidationError")
}

func TestMetricInsightsEscapesIdentifiers(t *testing.T) {
	te := newMetricsEnv(t)
	ms := fakeaws.MetricsOf(te.Fake)
	const ns, metric, key = `My App/Prod's`, `Req"s count.v2`, "Svc.Name"
	from := metricsNow.Add(-time.Hour)
	for v, val := range map[string]float64{`a'b"c`: 1, "c d": 5, `back\slash`: 3} {
		ms.PutSeries(ns, metric, map[string]string{key: v}, everyMinute(from, metricsNow, func(time.Time, int) float64 { return val }))
	}
	ms.PutSeries(ns, metric, map[string]string{key: "x", "Other": "y"}, everyMinute(from, metricsNow, func(time.Time, int) float64 { return 100 }))
	ctx := mcptest.UserCtx(te.Alice)
	res := te.CallTool(t, ctx, "get_metric_data", map[string]any{
		"namespace": ns, "metric_name": metric, "statistic": "Maximum", "start_time": "2025-06-02T11:00:00Z", "end_time": "2025-06-02T12:00:00Z",
		"schema_dimension_keys": []any{key}, "group_by_dimension": key, "order_by_statistic": "max", "sort_order": "DESC", "limit": 2,
	})
	var out gmdResponse
	mcptest.DecodeResult(t, res, &out)
	want := `SELECT MAX("Req\"s count.v2") FROM SCHEMA("My App/Prod\'s", "Svc.Name") GROUP BY "Svc.Name" ORDER BY MAX() DESC LIMIT 2`
	if got := ms.Expressions(); len(got) != 1 || got[0] != want {
		t.Fatalf("query\n got %q\nwant %q", got, want)
	}
	if len(out.MetricDataResults) != 2 || out.MetricDataResults[0].Label != "c d" || out.MetricDataResults[1].Label != `back\slash` ||
		out.MetricDataResults[0].ID != "m1" || out.MetricDataResults[0].Datapoints[0].Value != 5 {
		t.Fatalf("results %+v", out.MetricDataResults)
	}

	// WHERE values are escaped too; no LIMIT unless limit > 0.
	res = te.CallTool(t, ctx, "get_metric_data", map[string]any{
		"namespace": ns, "metric_name": metric, "start_time": "2025-06-02T11:00:00Z", "end_time": "2025-06-02T12:00:00Z",
		"dimensions": []any{map[string]any{"name": key, "value": `a'b"c`}}, "schema_dimension_keys": []any{key}, "limit": 0,
	})
	mcptest.DecodeResult(t, res, &out)
	want = `SELECT AVG("Req\"s count.v2") FROM SCHEMA("My App/Prod\'s", "Svc.Name") WHERE "Svc.Name"='a\'b\"c'`
	if got := ms.Expressions(); got[1] != want {
		t.Fatalf("query\n got %q\nwant %q", got[1], want)
	}
	if len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Datapoints) != 60 || out.MetricDataResults[0].Datapoints[59].Value != 1 {
		t.Fatalf("where result %+v", out.MetricDataResults)
	}

	// The same query as awslabs renders it (nothing escaped) is a syntax
	// error at CloudWatch.
	awslabs := `SELECT AVG("` + metric + `") FROM SCHEMA("` + ns + `", "` + key + `") WHERE "` + key + `"='a'b"c'`
	res = te.CallTool(t, ctx, "get_metric_data", map[string]any{"queries": []any{map[string]any{"id": "q", "expression": awslabs}}})
	mcptest.WantToolError(t, res, "AWS error ValidationError")
	assertSignedByAlice(t, te, "GetMetricData")
}

func TestMetricInsightsQueryBuilder(t *testing.T) {
	for _, tc := range []struct {
		p    insightsParams
		want string
	}{
		{insightsParams{namespace: "AWS/EC2", metric: "CPUUtilization", statistic: "AVG", schemaKeys: []string{"InstanceId"}},
			`SELECT AVG("CPUUtilization") FROM SCHEMA("AWS/EC2", "InstanceId")`},
		{insightsParams{namespace: "AWS/EC2", metric: "CPUUtilization", statistic: "Sum", orderBy: "SUM"},
			`SELECT SUM("CPUUtilization") FROM SCHEMA("AWS/EC2") ORDER BY SUM()`},
		{insightsParams{namespace: "AWS/Lambda", metric: "Errors", statistic: "SampleCount", limit: 5,
			dims: []metricDimension{{"FunctionName", "f"}, {"Resource", "f:1"}}},
			`SELECT COUNT("Errors") FROM SCHEMA("AWS/Lambda") WHERE "FunctionName"='f' AND "Resource"='f:1' LIMIT 5`},
	} {
		got, err := buildInsightsQuery(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("got %q (%v), want %q", got, err, tc.want)
		}
	}
	if _, err := insightsFunction("p99"); err == nil || err.Error() != "Invalid statistic for Metrics Insights: p99. Must be one of AVG, COUNT, MAX, MIN, SUM" {
		t.Errorf("p99: %v", err)
	}
	for in, want := range map[string]string{"Average": "AVG", "Maximum": "MAX", "Minimum": "MIN", "SampleCount": "COUNT", "sum": "SUM"} {
		if got, _ := insightsFunction(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"AVG": "Average", "COUNT": "SampleCount", "MAX": "Maximum", "MIN": "Minimum", "SUM": "Sum", "p99": "p99", "Average": "Average"} {
		if got := cloudWatchStat(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	for _, tc := range []struct {
		window time.Duration
		target int
		want   int32
	}{{3 * time.Hour, 60, 180}, {time.Hour, 60, 60}, {time.Hour, 1000, 60}, {time.Hour, 7, 540}, {14 * 24 * time.Hour, 20160, 60}, {24 * time.Hour, 100, 900}} {
		if got := periodFor(metricsNow.Add(-tc.window), metricsNow, tc.target); got != tc.want {
			t.Errorf("period(%v, %d) = %d, want %d", tc.window, tc.target, got, tc.want)
		}
	}
}

func TestMetricQueriesPathPagingAndMerging(t *testing.T) {
	te := newMetricsEnv(t)
	ms := fakeaws.MetricsOf(te.Fake)
	from := metricsNow.Add(-time.Hour)
	ms.PutSeries("App", "Latency", map[string]string{"Api": "get"}, everyMinute(from, metricsNow, func(_ time.Time, i int) float64 { return float64(i) }))
	ms.PutSeries("App", "Latency", map[string]string{"Api": "put"}, everyMinute(from, metricsNow, func(_ time.Time, i int) float64 { return 1000 + float64(i) }))
	ms.SetPageSize(25)
	ms.AddMessage("Info", "page note")
	ctx := mcptest.UserCtx(te.Alice)

	res := te.CallTool(t, ctx, "get_metric_data", map[string]any{
		"start_time": "2025-06-02T11:00:00Z", "end_time": "2025-06-02T12:00:00Z",
		"queries": []any{
			map[string]any{"id": "m1", "return_data": false, "metric_stat": map[string]any{"namespace": "App", "metric_name": "Latency",
				"dimensions": []any{map[string]any{"name": "Api", "value": "get"}}, "statistic": "p90", "period": 300}},
			map[string]any{"id": "e1", "expression": "m1 * 2", "label": "doubled"},
			map[string]any{"id": "g", "expression": `SELECT MAX("Latency") FROM SCHEMA("App", "Api") GROUP BY "Api"`, "period": 60},
		},
	})
	var out gmdResponse
	mcptest.DecodeResult(t, res, &out)
	// e1: 12 points at 300 s (from metric_stat.period); g: two series of 60
	// points that share the Id and are told apart by their labels.
	if len(out.MetricDataResults) != 3 {
		t.Fatalf("%d results: %+v", len(out.MetricDataResults), out.MetricDataResults)
	}
	e1, get, put := out.MetricDataResults[0], out.MetricDataResults[1], out.MetricDataResults[2]
	if e1.ID != "e1" || e1.Label != "doubled" || len(e1.Datapoints) != 12 || e1.Datapoints[0].Value != 2*4 {
		t.Fatalf("e1 %+v", e1)
	}
	if get.ID != "g" || get.Label != "get" || put.ID != "g" || put.Label != "put" || len(get.Datapoints) != 60 || len(put.Datapoints) != 60 {
		t.Fatalf("group-by series fused or lost across pages: %s/%s %d, %s/%s %d", get.ID, get.Label, len(get.Datapoints), put.ID, put.Label, len(put.Datapoints))
	}
	for i, p := range put.Datapoints {
		if p.Value != 1000+float64(i) || (i > 0 && !p.Timestamp.After(put.Datapoints[i-1].Timestamp)) {
			t.Fatalf("put point %d = %+v: pages must merge in time order", i, p)
		}
		if p.Value < 1000 {
			t.Fatal("get's points leaked into put")
		}
	}
	if get.StatusCode != "Complete" || put.StatusCode != "Complete" {
		t.Fatalf("status after the last page: %s %s", get.StatusCode, put.StatusCode)
	}
	pages := te.Fake.CallCount("GetMetricData")
	if pages != 6 { // 12 + 120 points, 25 per page
		t.Fatalf("%d pages", pages)
	}
	if len(out.Messages) != pages {
		t.Fatalf("top-level messages must be concatenated over pages: %v", out.Messages)
	}
	assertSignedByAlice(t, te, "GetMetricData")

	// Paging applies outside the queries path too (awslabs pages only there).
	te.Fake.ResetCalls()
	res = te.CallTool(t, ctx, "get_metric_data", map[string]any{"namespace": "App", "metric_name": "Latency",
		"dimensions": []any{map[string]any{"name": "Api", "value": "put"}}, "target_datapoints": 60, "start_time": "2025-06-02T11:00:00Z", "end_time": "2025-06-02T12:00:00Z"})
	mcptest.DecodeResult(t, res, &out)
	if n := te.Fake.CallCount("GetMetricData"); n != 3 || len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Datapoints) != 60 {
		t.Fatalf("%d calls, %+v", n, out.MetricDataResults)
	}
}

func TestMetricGetMetadata(t *testing.T) {
	te := newMetricsEnv(t)
	md := &catalog.Metric{Description: "Share of allocated compute in use.", RecommendedStatistics: "Average, Maximum", UnitInfo: "Percent"}
	md.MetricID.Namespace, md.MetricID.MetricName = "AWS/EC2", "CPUUtilization"
	bare := &catalog.Metric{Description: "No stats."}
	bare.MetricID.Namespace, bare.MetricID.MetricName = "Custom", "Bare"
	te.Catalog = metricTestCatalog(md, bare)
	ctx := mcptest.UserCtx(aws.Credentials{}) // purely local: no AWS credentials needed

	res := te.CallTool(t, ctx, "get_metric_metadata", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization"})
	var got metricMetadataResult
	mcptest.DecodeResult(t, res, &got)
	if got != (metricMetadataResult{"Share of allocated compute in use.", "Average, Maximum", "Percent"}) {
		t.Fatalf("%+v", got)
	}
	sc, _ := json.Marshal(res.StructuredContent)
	if string(sc) != `{"result":`+mcptest.ResultText(t, res)+`}` {
		t.Fatalf("structuredContent must wrap the text as {\"result\": ...}: %s", sc)
	}
	res = te.CallTool(t, ctx, "get_metric_metadata", map[string]any{"namespace": "Custom", "metric_name": "Bare"})
	if !strings.Contains(mcptest.ResultText(t, res), `"recommendedStatistics":""`) || !strings.Contains(mcptest.ResultText(t, res), `"unit":""`) {
		t.Fatalf("missing values must be empty strings: %s", mcptest.ResultText(t, res))
	}

	res = te.CallTool(t, ctx, "get_metric_metadata", map[string]any{"namespace": "AWS/EC2", "metric_name": "Nope"})
	sc, _ = json.Marshal(res)
	if res.IsError || len(res.Content) != 0 || !strings.Contains(string(sc), `"content":[]`) || !strings.Contains(string(sc), `"structuredContent":{"result":null}`) {
		t.Fatalf("unknown metric: %s", sc)
	}
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_metadata", map[string]any{"namespace": "AWS/EC2"}), "metric_name is required")
	if te.Fake.CallCount("") != 0 {
		t.Fatal("get_metric_metadata must not call AWS")
	}
}

func TestMetricToolsRegisteredWithSchemas(t *testing.T) {
	te := newMetricsEnv(t)
	tools, err := te.Tools([]string{"metrics"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"get_metric_data":               {"namespace", "metric_name", "start_time", "dimensions", "end_time", "statistic", "target_datapoints", "group_by_dimension", "schema_dimension_keys", "limit", "sort_order", "order_by_statistic", "region", "profile_name", "queries", "chart"},
		"get_metric_metadata":           {"namespace", "metric_name"},
		"get_recommended_metric_alarms": {"namespace", "metric_name", "dimensions", "region", "profile_name", "statistic"},
		"analyze_metric":                {"namespace", "metric_name", "dimensions", "region", "profile_name", "statistic", "chart"},
		"get_metric_image": {"namespace", "metric_name", "start_time", "dimensions", "end_time", "statistic", "group_by_dimension", "schema_dimension_keys", "limit", "sort_order", "order_by_statistic",
			"queries", "expression", "label", "period", "title", "width", "height", "annotations", "widget", "region", "profile_name"},
	}
	seen := 0
	for _, st := range tools {
		params, ok := want[st.Tool.Name]
		if !ok {
			continue
		}
		seen++
		if st.Tool.Description == "" {
			t.Errorf("%s has no description", st.Tool.Name)
		}
		var in struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		if err := json.Unmarshal(st.Tool.RawInputSchema, &in); err != nil || in.Type != "object" {
			t.Fatalf("%s input schema: %v", st.Tool.Name, err)
		}
		if len(in.Properties) != len(params) {
			t.Errorf("%s has %d parameters, want %d", st.Tool.Name, len(in.Properties), len(params))
		}
		for _, p := range params {
			if _, ok := in.Properties[p]; !ok {
				t.Errorf("%s lacks parameter %s", st.Tool.Name, p)
			}
		}
		var outSchema map[string]any
		if err := json.Unmarshal(st.Tool.RawOutputSchema, &outSchema); err != nil || outSchema["type"] != "object" {
			t.Errorf("%s output schema: %v", st.Tool.Name, err)
		}
		if h := st.Tool.Annotations.ReadOnlyHint; h == nil || !*h {
			t.Errorf("%s must be marked read-only", st.Tool.Name)
		}
	}
	if seen != 5 {
		t.Fatalf("found %d of the 5 metrics tools", seen)
	}
}

func TestMetricJSONFloatAndWrapped(t *testing.T) {
	b, _ := json.Marshal([]jsonFloat{1.5, jsonFloat(math.NaN()), jsonFloat(math.Inf(1)), 2})
	if string(b) != "[1.5,null,null,2]" {
		t.Fatal(string(b))
	}
	res := metricsWrapped(map[string]int{"a": 1})
	if mcptest.ResultText(t, res) != `{"a":1}` {
		t.Fatal(mcptest.ResultText(t, res))
	}
	var _ mcp.Content = res.Content[0]
}

func TestMetricQueriesBatchPeriodPrecedence(t *testing.T) {
	p := func(i int) *int { return &i }
	s := func(v string) *string { return &v }
	f := false
	qs, err := buildQueriesBatch([]metricDataQueryInput{
		{ID: "a", MetricStat: &metricStatInput{Namespace: "N", MetricName: "M", Statistic: "AVG"}},
		{ID: "b", MetricStat: &metricStatInput{Namespace: "N", MetricName: "M", Statistic: "p99", Period: p(300)}},
		{ID: "c", MetricStat: &metricStatInput{Namespace: "N", MetricName: "M", Statistic: "Sum", Period: p(300)}, Period: p(3600), ReturnData: &f},
		{ID: "d", Expression: s("a+b"), Label: s("total")},
		{ID: "e", Expression: s("a*2"), Period: p(120)},
	}, 180)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int32{180, 300, 3600} {
		if got := *qs[i].MetricStat.Period; got != want || qs[i].Period != nil {
			t.Errorf("%s: MetricStat.Period %d (top-level %v), want %d inside MetricStat only", *qs[i].Id, got, qs[i].Period, want)
		}
	}
	if *qs[0].MetricStat.Stat != "Average" || *qs[1].MetricStat.Stat != "p99" || *qs[2].ReturnData || !*qs[0].ReturnData {
		t.Error("stat mapping or return_data default")
	}
	if *qs[3].Period != 180 || *qs[3].Label != "total" || *qs[4].Period != 120 || qs[3].MetricStat != nil || qs[0].Label != nil {
		t.Error("expression period/label")
	}
}
