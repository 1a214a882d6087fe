package promql

import (
	"context"
	"net/url"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "promql", Tool: executePromQLRangeQueryTool, Handler: executePromQLRangeQuery, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{
			{toolkit.TrimOldest("result", "*", "values")},
			{toolkit.TrimEnd("result")},
		},
		Hint: toolkit.Hint("The oldest samples (or the last series) were dropped. Narrow the time range (start/end), raise step, or aggregate the query to get the rest."),
	}})
}

var executePromQLRangeQueryTool = promqlTool("execute_promql_range_query", promqlRangeDescription, promqlInput(map[string]any{
	"query": promqlReqString("Query", "The PromQL expression to evaluate at every step."),
	"start": promqlReqString("Start", "First evaluation time: RFC 3339 (no zone = UTC) or unix seconds."),
	"end":   promqlReqString("End", "Last evaluation time: RFC 3339 (no zone = UTC) or unix seconds."),
	"step":  promqlReqString("Step", `Distance between evaluations: a duration such as "60s", "5m", "1h" or a number of seconds.`),
}, "query", "start", "end", "step"), promqlQueryOutput("normally matrix"))

func executePromQLRangeQuery(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	query, err := a.RequiredStr("query")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	params := url.Values{"query": {query}}
	if err := promqlRange(a, params, true); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	step, err := promqlStep(a, "step")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	params.Set("step", step)
	return promqlQueryCall(ctx, e, a, "query_range", params, "matrix")
}
