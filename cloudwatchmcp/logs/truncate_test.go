package logs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestTruncateUnderCapIsUntouched(t *testing.T) {
	te := mcptest.NewEnv(t)
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/a"}, fakeaws.LogGroup{Name: "/b"})
	ctx := mcptest.UserCtx(te.Alice)
	full := mcptest.CallServed(t, mcptest.ServedTools(t, te, 64<<20), ctx, "describe_log_groups", nil)
	capped := mcptest.CallServed(t, mcptest.ServedTools(t, te, toolkit.DefaultMaxResultBytes), ctx, "describe_log_groups", nil)
	if capped.IsError || string(capped.StructuredContent) != string(full.StructuredContent) || capped.Text() != full.Text() {
		t.Fatalf("a small result must pass unchanged:\n%s\n%s", full.StructuredContent, capped.StructuredContent)
	}
	if strings.Contains(capped.Text(), "truncated") {
		t.Fatal("no truncated note under the cap")
	}
}

func TestTruncateDescribeLogGroups(t *testing.T) {
	te := mcptest.NewEnv(t)
	l := fakeaws.LogsOf(te.Fake)
	for i := range 120 {
		l.AddLogGroup(fakeaws.LogGroup{Name: fmt.Sprintf("/aws/lambda/function-%03d", i), RetentionInDays: 30, StoredBytes: int64(i)})
	}
	for i := range 20 {
		l.AddQueryDefinition(fakeaws.QueryDefinition{Name: fmt.Sprintf("saved-%02d", i), QueryString: "fields @message | limit 5",
			LogGroupNames: []string{fmt.Sprintf("/aws/lambda/function-%03d", i)}})
	}
	v := mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "describe_log_groups", Args: map[string]any{}})
	if !strings.Contains(v["truncated"].(map[string]any)["hint"].(string), "max_items") {
		t.Fatalf("hint %v", v["truncated"])
	}
	// Both lists keep something: neither is starved by the other.
	if len(v["log_group_metadata"].([]any)) == 0 || len(v["saved_queries"].([]any)) == 0 {
		t.Fatalf("lists %d %d", len(v["log_group_metadata"].([]any)), len(v["saved_queries"].([]any)))
	}
}

func TestTruncateInsightsResults(t *testing.T) {
	te := mcptest.NewEnv(t)
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
	v := mcptest.RunCapCase(t, te, 8192, mcptest.CapCase{Tool: "execute_log_insights_query", Args: args})
	id, _ := v["queryId"].(string)
	if id == "" || v["status"] != "Complete" || v["statistics"] == nil {
		t.Fatalf("the non-list fields must survive: %v", v)
	}
	if hint := v["truncated"].(map[string]any)["hint"].(string); !strings.Contains(hint, id) || !strings.Contains(hint, "limit") {
		t.Fatalf("hint %q must name the query id and a limit", hint)
	}
	mcptest.RunCapCase(t, te, 8192, mcptest.CapCase{Tool: "get_logs_insight_query_results", Args: map[string]any{"query_id": id}})
}

func TestTruncateAnalyzeLogGroup(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "eu-west-1", AccountID: fakeaws.DefaultAccountID}
	detector, t0 := seedAnalyze(te, g)
	for i := range 60 {
		fakeaws.LogsOf(te.Fake).AddAnomaly(fakeaws.Anomaly{DetectorARN: detector, LogGroupARNs: []string{g.ARN()},
			FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(10 * time.Minute), Description: fmt.Sprintf("new error pattern %d", i),
			Priority: "MEDIUM", PatternString: fmt.Sprintf("ERROR <*> code %d", i)})
	}
	mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "analyze_log_group", Args: map[string]any{
		"log_group_arn": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z",
	}})
}

func TestTruncateBatch(t *testing.T) {
	be := newBatchEnv(t)
	names := seedGroups(be.Fake, "us-east-1", 10)
	var rows [][]fakeaws.ResultField
	for i := range 100 {
		rows = append(rows, fakeaws.Row("@timestamp", "2026-01-01 01:00:00.000", "@message", fmt.Sprintf("request %d: upstream returned 503 after retries", i)))
	}
	fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: rows})
	v := mcptest.RunCapCase(t, be.Env, 8192, mcptest.CapCase{Tool: "execute_cwl_insights_batch", Args: map[string]any{
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
			mcptest.RunCapCase(t, te, 2048, mcptest.CapCase{Tool: tool, Args: args})
		})
	}
}
