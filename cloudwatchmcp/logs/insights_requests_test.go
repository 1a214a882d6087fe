package logs

import (
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// The per-tool request table of the README (issue 20): what each Insights
// tool costs, counted as the audit entry counts it (aws_requests: every
// AWS request of the call, GetCallerIdentity included), when its queries
// finish after 3 s. Before issue 20, on this setup: 20, 23, 5 and 17
// (the issue measured 20, 38, 5, 17 on the demo); awslabs: 5, 12, 2 and 13.
// The batch polls sooner than before (0.4 s, not 1 s: its result comes
// seconds earlier) within the same per-query bound.
func TestInsightsToolRequestTable(t *testing.T) {
	const run = 3 * time.Second
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}
	for _, c := range []struct {
		tool string
		max  int
		seed func(te *mcptest.Env) map[string]any
	}{
		{"execute_log_insights_query", 7, func(te *mcptest.Env) map[string]any {
			fakeaws.LogsOf(te.Fake).AddLogGroup(g)
			return map[string]any{"log_group_names": []any{g.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
				"query_string": "fields @message | limit 5"}
		}},
		{"analyze_log_group", 16, func(te *mcptest.Env) map[string]any {
			seedAnalyze(te, g)
			return map[string]any{"log_group_arn": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z"}
		}},
		{"execute_cwl_insights_batch", 7, func(te *mcptest.Env) map[string]any {
			fakeaws.LogsOf(te.Fake).AddLogGroup(g)
			return map[string]any{"log_group_names": []any{g.Name}, "regions": []any{"us-east-1"}, "start_time": "2025-01-01T00:00:00Z",
				"end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message | limit 5"}
		}},
		{"recommend_indexes_loggroup", 16, func(te *mcptest.Env) map[string]any {
			fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/ecs/orders", StoredBytes: 7_000_000})
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(
				fakeaws.HistoricQuery{LogGroupName: "/ecs/orders", Language: "CWLI", CreateTime: te.Now().Add(-24 * time.Hour), QueryString: `filter customerId = "c1" | fields orderId`})
			fakeaws.LogsOf(te.Fake).SetQueryResults("fields ", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("customerId", "c9", "orderId", "o-7")}})
			return map[string]any{"log_group_identifier": "/ecs/orders"}
		}},
	} {
		t.Run(c.tool, func(t *testing.T) {
			te := mcptest.NewEnv(t)
			clk := withVClock(te, 1)
			defer clk.close()
			args := c.seed(te)
			fakeaws.LogsOf(te.Fake).SetQueryPlan(fakeaws.QueryPlan{Duration: run})
			ctx, rec := toolkit.WithRecord(mcptest.UserCtx(te.Alice))
			res := te.CallTool(t, ctx, c.tool, args)
			clk.done()
			if res.IsError {
				t.Fatal(mcptest.ResultText(t, res))
			}
			_, n, _ := rec.Snapshot()
			polls := te.Fake.CallCount("GetQueryResults") + te.Fake.CallCount("DescribeQueries")
			t.Logf("%s: aws_requests %d (%d StartQuery, %d GetQueryResults, %d DescribeQueries, %d GetCallerIdentity)", c.tool, n,
				te.Fake.CallCount("StartQuery"), te.Fake.CallCount("GetQueryResults"), te.Fake.CallCount("DescribeQueries"), te.Fake.CallCount("GetCallerIdentity"))
			// The bound per query: polls ≤ 1.25 × its seconds + 2.
			// analyze_log_group's two queries wait together, and whether
			// a shared DescribeQueries runs (one for both) depends on
			// how their waits interleave, so its total is 15 or 16.
			queries := te.Fake.CallCount("StartQuery")
			if bound := int(float64(queries) * (1.25*run.Seconds() + 2)); polls > bound {
				t.Fatalf("%s: %d polls for %d queries of %v, want ≤ %d", c.tool, polls, queries, run, bound)
			}
			if n > c.max {
				t.Fatalf("%s made %d AWS requests (%d polls), want ≤ %d", c.tool, n, polls, c.max)
			}
		})
	}
}
