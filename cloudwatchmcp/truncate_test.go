package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// servedTools builds an MCP server over te's tools the way Provision does
// (schemas encoded, then extended; the result and account middlewares),
// plus mcp-go's output schema validation, so every result a test gets has
// been checked against the tool's declared (extended) output schema.
func servedTools(t testing.TB, te *testEnv, maxBytes int) *server.MCPServer {
	t.Helper()
	tools, err := te.Tools(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := prepareTools(tools); err != nil {
		t.Fatal(err)
	}
	tools, opts, err := te.Extend(tools, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]server.ServerOption{server.WithToolCapabilities(false), server.WithOutputSchemaValidation()}, opts...)
	s := server.NewMCPServer("test", "1", opts...)
	s.AddTools(tools...)
	return s
}

// wireResult is a tools/call result as a client decodes it.
type wireResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func (w wireResult) Text() string {
	for _, c := range w.Content {
		if c.Type == "text" {
			return c.Text
		}
	}
	return ""
}

// callServed sends one JSON-RPC tools/call through s.
func callServed(t testing.TB, s *server.MCPServer, ctx context.Context, name string, args map[string]any) wireResult {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	resp := s.HandleMessage(ctx, msg)
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Result *wireResult      `json:"result"`
		Error  *json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Result == nil {
		t.Fatalf("%s: no tool result: %s", name, b)
	}
	return *out.Result
}

// capCase runs one tool uncapped and capped and checks the capped answer.
type capCase struct {
	tool string
	args map[string]any
}

// checkCapped asserts the contract of a trimmed result and returns its
// value (the tool's JSON, inside "result" for wrapped tools).
func checkCapped(t *testing.T, tool string, full, capped wireResult, maxBytes int) map[string]any {
	t.Helper()
	if full.IsError || capped.IsError {
		t.Fatalf("%s: tool error (full %v: %.300s) (capped %v: %.300s)", tool, full.IsError, full.Text(), capped.IsError, capped.Text())
	}
	if len(full.StructuredContent) <= maxBytes {
		t.Fatalf("%s: the seeded result (%d bytes) must exceed the cap %d for this test to mean anything", tool, len(full.StructuredContent), maxBytes)
	}
	if len(capped.StructuredContent) > maxBytes {
		t.Fatalf("%s: capped structured content is %d bytes, over %d", tool, len(capped.StructuredContent), maxBytes)
	}
	if len(capped.Text()) > maxBytes {
		t.Fatalf("%s: capped text is %d bytes, over %d", tool, len(capped.Text()), maxBytes)
	}
	rt, ok := Lookup(tool)
	if !ok || rt.Result == nil {
		t.Fatalf("%s: no registered result shape", tool)
	}
	shape := rt.Result
	value := func(w wireResult) (map[string]any, map[string]any) {
		var doc map[string]any
		if err := json.Unmarshal(w.StructuredContent, &doc); err != nil {
			t.Fatalf("%s: structured content is not a JSON object: %v", tool, err)
		}
		v := doc
		if shape.Root != "" {
			v, _ = doc[shape.Root].(map[string]any)
		}
		var text map[string]any
		if err := json.Unmarshal([]byte(w.Text()), &text); err != nil {
			t.Fatalf("%s: text is not JSON (%v): %.200s", tool, err, w.Text())
		}
		return v, text
	}
	fv, _ := value(full)
	cv, ctext := value(capped)
	if !reflect.DeepEqual(cv, ctext) {
		t.Fatalf("%s: text and structured content differ", tool)
	}
	if _, ok := fv["truncated"]; ok {
		t.Fatalf("%s: an uncapped result must not carry truncated", tool)
	}
	tr, ok := cv["truncated"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no top-level truncated object in %.300s", tool, capped.Text())
	}
	dropped, _ := tr["dropped"].(float64)
	hint, _ := tr["hint"].(string)
	if dropped < 1 || hint == "" || len(tr) != 2 {
		t.Fatalf("%s: truncated = %v", tool, tr)
	}
	// With one group, the items kept are the first (or, for time series,
	// the last) of each list, and dropped counts exactly what is missing.
	if len(shape.Trims) == 1 {
		lost := 0
		for _, target := range shape.Trims[0] {
			fa, ca := arraysAt(fv, target.Path), arraysAt(cv, target.Path)
			if len(ca) > len(fa) {
				t.Fatalf("%s: more arrays after trimming", tool)
			}
			for i, f := range fa {
				var kept []any
				if i < len(ca) {
					kept = ca[i]
				}
				want := f[:len(kept)]
				if target.OldestFirst {
					want = f[len(f)-len(kept):]
				}
				if !reflect.DeepEqual(kept, want) {
					t.Fatalf("%s: %v: the kept items are not the first ones", tool, target.Path)
				}
				lost += len(f) - len(kept)
			}
		}
		if lost != int(dropped) {
			t.Fatalf("%s: dropped says %v, %d items are missing", tool, dropped, lost)
		}
	}
	return cv
}

// arraysAt finds the non-empty arrays a Trim path names under v: path
// segments are object keys, and "*" steps into every element of an array.
func arraysAt(v map[string]any, path []string) [][]any {
	if len(path) == 1 {
		if items, ok := v[path[0]].([]any); ok && len(items) > 0 {
			return [][]any{items}
		}
		return nil
	}
	if len(path) > 2 && path[1] == "*" {
		var out [][]any
		items, _ := v[path[0]].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				out = append(out, arraysAt(m, path[2:])...)
			}
		}
		return out
	}
	if m, ok := v[path[0]].(map[string]any); ok {
		return arraysAt(m, path[1:])
	}
	return nil
}

// runCapCase calls c through an uncapped and a capped server.
func runCapCase(t *testing.T, te *testEnv, maxBytes int, c capCase) map[string]any {
	t.Helper()
	ctx := userCtx(te.Alice)
	full := callServed(t, servedTools(t, te, 64<<20), ctx, c.tool, c.args)
	capped := callServed(t, servedTools(t, te, maxBytes), ctx, c.tool, c.args)
	return checkCapped(t, c.tool, full, capped, maxBytes)
}

func TestTruncateUnderCapIsUntouched(t *testing.T) {
	te := newTestEnv(t)
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/a"}, fakeaws.LogGroup{Name: "/b"})
	ctx := userCtx(te.Alice)
	full := callServed(t, servedTools(t, te, 64<<20), ctx, "describe_log_groups", nil)
	capped := callServed(t, servedTools(t, te, DefaultMaxResultBytes), ctx, "describe_log_groups", nil)
	if capped.IsError || string(capped.StructuredContent) != string(full.StructuredContent) || capped.Text() != full.Text() {
		t.Fatalf("a small result must pass unchanged:\n%s\n%s", full.StructuredContent, capped.StructuredContent)
	}
	if strings.Contains(capped.Text(), "truncated") {
		t.Fatal("no truncated note under the cap")
	}
}

func TestTruncateDescribeLogGroups(t *testing.T) {
	te := newTestEnv(t)
	l := fakeaws.LogsOf(te.Fake)
	for i := range 120 {
		l.AddLogGroup(fakeaws.LogGroup{Name: fmt.Sprintf("/aws/lambda/function-%03d", i), RetentionInDays: 30, StoredBytes: int64(i)})
	}
	for i := range 20 {
		l.AddQueryDefinition(fakeaws.QueryDefinition{Name: fmt.Sprintf("saved-%02d", i), QueryString: "fields @message | limit 5",
			LogGroupNames: []string{fmt.Sprintf("/aws/lambda/function-%03d", i)}})
	}
	v := runCapCase(t, te, 4096, capCase{tool: "describe_log_groups", args: map[string]any{}})
	if !strings.Contains(v["truncated"].(map[string]any)["hint"].(string), "max_items") {
		t.Fatalf("hint %v", v["truncated"])
	}
	// Both lists keep something: neither is starved by the other.
	if len(v["log_group_metadata"].([]any)) == 0 || len(v["saved_queries"].([]any)) == 0 {
		t.Fatalf("lists %d %d", len(v["log_group_metadata"].([]any)), len(v["saved_queries"].([]any)))
	}
}

func TestTruncateInsightsResults(t *testing.T) {
	te := newTestEnv(t)
	withInsightsClock(te)
	var rows [][]fakeaws.ResultField
	for i := range 300 {
		rows = append(rows, fakeaws.Row("@timestamp", fmt.Sprintf("2025-01-01 00:%02d:%02d.000", i/60, i%60), "@message", fmt.Sprintf("ERROR request %d failed: upstream timed out after 30s", i)))
	}
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryResults("filter", fakeaws.QueryResult{Rows: rows})
	args := map[string]any{
		"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
		"query_string": "fields @timestamp, @message | filter @message like /ERROR/",
	}
	v := runCapCase(t, te, 8192, capCase{tool: "execute_log_insights_query", args: args})
	id, _ := v["queryId"].(string)
	if id == "" || v["status"] != "Complete" || v["statistics"] == nil {
		t.Fatalf("the non-list fields must survive: %v", v)
	}
	if hint := v["truncated"].(map[string]any)["hint"].(string); !strings.Contains(hint, id) || !strings.Contains(hint, "limit") {
		t.Fatalf("hint %q must name the query id and a limit", hint)
	}
	runCapCase(t, te, 8192, capCase{tool: "get_logs_insight_query_results", args: map[string]any{"query_id": id}})
}

func TestTruncateAnalyzeLogGroup(t *testing.T) {
	te := newTestEnv(t)
	withInsightsClock(te)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "eu-west-1", AccountID: fakeaws.DefaultAccountID}
	detector, t0 := seedAnalyze(te, g)
	for i := range 60 {
		fakeaws.LogsOf(te.Fake).AddAnomaly(fakeaws.Anomaly{DetectorARN: detector, LogGroupARNs: []string{g.ARN()},
			FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(10 * time.Minute), Description: fmt.Sprintf("new error pattern %d", i),
			Priority: "MEDIUM", PatternString: fmt.Sprintf("ERROR <*> code %d", i)})
	}
	runCapCase(t, te, 4096, capCase{tool: "analyze_log_group", args: map[string]any{
		"log_group_arn": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z",
	}})
}

func TestTruncateGetMetricDataKeepsNewestDatapoints(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).PutSeries("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": "i-1"},
		everyMinute(metricsNow.Add(-3*time.Hour), metricsNow, func(_ time.Time, i int) float64 { return float64(i) }))
	v := runCapCase(t, te, 2048, capCase{tool: "get_metric_data", args: map[string]any{
		"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "target_datapoints": 180,
		"dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-1"}},
	}})
	series := v["metricDataResults"].([]any)
	points := series[0].(map[string]any)["datapoints"].([]any)
	last := points[len(points)-1].(map[string]any)["timestamp"].(string)
	if len(series) != 1 || len(points) == 0 || last != metricsNow.Add(-time.Minute).Format(time.RFC3339) {
		t.Fatalf("%d series, %d points, last %s: the newest datapoints must be kept", len(series), len(points), last)
	}
}

// Many series with few points each: dropping points would leave empty
// series, so whole series go instead.
func TestTruncateMetricSeriesFallback(t *testing.T) {
	var series []map[string]any
	for i := range 100 {
		series = append(series, map[string]any{"id": fmt.Sprintf("m%d", i), "label": fmt.Sprintf("instance-%03d-with-a-long-label", i), "statusCode": "Complete",
			"datapoints": []map[string]any{{"timestamp": "2025-06-02T09:00:00Z", "value": i}}, "messages": []any{}})
	}
	res := JSONResult(map[string]any{"metricDataResults": series, "messages": []any{}})
	rt, _ := Lookup("get_metric_data")
	out, dropped, err := rt.Result.Limit(res, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out.StructuredContent)
	var v struct {
		Results []struct {
			Datapoints []any `json:"datapoints"`
		} `json:"metricDataResults"`
		Truncated struct{ Dropped int } `json:"truncated"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(b) > 2048 || len(v.Results) == 0 || len(v.Results)+dropped != 100 || v.Truncated.Dropped != dropped {
		t.Fatalf("%d bytes, %d series kept, %d dropped", len(b), len(v.Results), dropped)
	}
	for _, r := range v.Results {
		if len(r.Datapoints) != 1 {
			t.Fatal("kept series must keep their datapoints")
		}
	}
}

func TestTruncateAlarms(t *testing.T) {
	te, al := newAlarmEnv(t)
	for i := range 80 {
		mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: fmt.Sprintf("queue-depth-%03d", i), Namespace: "AWS/SQS",
			MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 1000, State: "ALARM"}))
	}
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "noisy", Namespace: "AWS/Lambda", MetricName: "Throttles", Period: 60, State: "OK"}))
	mustSeed(t, al.Flap("noisy", alarmTestNow.Add(-10*time.Hour), 2*time.Minute, 60))

	v := runCapCase(t, te, 4096, capCase{tool: "get_active_alarms", args: map[string]any{"max_items": 500}})
	if v["has_more_results"] != true {
		t.Fatalf("has_more_results must turn true when alarms were dropped: %v", v["has_more_results"])
	}
	runCapCase(t, te, 4096, capCase{tool: "get_alarm_history", args: map[string]any{
		"alarm_name": "noisy", "start_time": alarmTestNow.Add(-11 * time.Hour).Format(time.RFC3339), "max_items": 200,
	}})
}

func TestTruncatePromQL(t *testing.T) {
	te := newTestEnv(t)
	s := te.Fake.PromQL()
	for i := range 150 {
		var samples []fakeaws.PromQLSample
		for j := 0; j <= 60; j++ {
			samples = append(samples, fakeaws.PromQLSample{T: promT0.Add(time.Duration(j) * time.Minute), V: float64(i + j)})
		}
		s.AddSeries(map[string]string{"__name__": "up", "job": "api", "instance": fmt.Sprintf("10.0.%d.%d:9090", i/100, i%100),
			fmt.Sprintf("label_%03d", i): "x"}, samples...)
	}
	start, end := promT0.Format(time.RFC3339), promT0.Add(time.Hour).Format(time.RFC3339)
	for _, c := range []capCase{
		{tool: "execute_promql_query", args: map[string]any{"query": "up", "time": promT0.Add(30 * time.Minute).Format(time.RFC3339)}},
		{tool: "get_promql_series", args: map[string]any{"match": []any{"up"}, "start": start, "end": end}},
		{tool: "get_promql_labels", args: map[string]any{"start": start, "end": end}},
		{tool: "get_promql_label_values", args: map[string]any{"label_name": "instance", "start": start, "end": end}},
	} {
		t.Run(c.tool, func(t *testing.T) { runCapCase(t, te, MinMaxResultBytes, c) })
	}
	// One series with many samples: the oldest samples go first.
	v := runCapCase(t, te, 2048, capCase{tool: "execute_promql_range_query", args: map[string]any{
		"query": `up{instance="10.0.0.7:9090"}`, "start": start, "end": end, "step": "15s"}})
	values := v["result"].([]any)[0].(map[string]any)["values"].([]any)
	if lastTS := values[len(values)-1].([]any)[0].(float64); lastTS != float64(promT0.Add(time.Hour).Unix()) {
		t.Fatalf("the newest sample must be kept, last is %v", lastTS)
	}
}

func TestTruncatedInOutputSchemas(t *testing.T) {
	te := newTestEnv(t)
	s := servedTools(t, te, DefaultMaxResultBytes)
	for _, rt := range Registered() {
		if rt.Result == nil {
			continue
		}
		name, shape := rt.Tool.Name, rt.Result
		st := s.GetTool(name)
		if st == nil {
			t.Fatalf("no tool %s", name)
		}
		var schema map[string]any
		if err := json.Unmarshal(st.Tool.RawOutputSchema, &schema); err != nil {
			t.Fatal(err)
		}
		holder := schema
		if shape.Root != "" {
			holder = schema["properties"].(map[string]any)[shape.Root].(map[string]any)
		}
		if alts, ok := holder["anyOf"].([]any); ok {
			holder = alts[0].(map[string]any)
		}
		props, _ := holder["properties"].(map[string]any)
		if props["truncated"] == nil && holder["additionalProperties"] != true {
			t.Errorf("%s: output schema does not declare truncated", name)
		}
		reqs, _ := holder["required"].([]any)
		for _, req := range reqs {
			if req == "truncated" {
				t.Errorf("%s: truncated must be optional", name)
			}
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int{"262144": 262144, "256KiB": 262144, "1MiB": 1 << 20, "64KB": 64000, "2048B": 2048} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "1.5MiB", "99999999999MiB"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTruncateBatch(t *testing.T) {
	be := newBatchEnv(t)
	names := seedGroups(be.Fake, "us-east-1", 10)
	var rows [][]fakeaws.ResultField
	for i := range 100 {
		rows = append(rows, fakeaws.Row("@timestamp", "2026-01-01 01:00:00.000", "@message", fmt.Sprintf("request %d: upstream returned 503 after retries", i)))
	}
	fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: rows})
	v := runCapCase(t, be.testEnv, 8192, capCase{tool: "execute_cwl_insights_batch", args: map[string]any{
		"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": "fields @timestamp, @message",
		"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T08:00:00Z",
	}})
	if v["summary"] == nil {
		t.Fatal("the summary must survive")
	}
}

func TestTruncateIndexRecommendations(t *testing.T) {
	te, now := indexEnv(t)
	const group = "/ecs/orders"
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: group, StoredBytes: 7_000_000})
	hist := fakeaws.LogsIndexOf(te.Fake)
	for i := range 80 {
		hist.AddQueryHistory(fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-time.Duration(i%6+1) * day),
			QueryString: fmt.Sprintf(`filter customerAttribute%02d = "c%d"`, i, i)})
	}
	for _, tool := range []string{"recommend_indexes_loggroup", "recommend_indexes_account"} {
		t.Run(tool, func(t *testing.T) {
			args := map[string]any{}
			if tool == "recommend_indexes_loggroup" {
				args["log_group_identifier"] = group
			}
			runCapCase(t, te, 2048, capCase{tool: tool, args: args})
		})
	}
}
