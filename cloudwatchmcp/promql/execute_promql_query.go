package promql

import (
	"context"
	"net/url"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "promql", Tool: executePromQLQueryTool, Handler: executePromQLQuery, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("result")}},
		Hint:  toolkit.Hint("Series were dropped from the end. Narrow the query with label matchers or aggregate it (sum by, topk) to get the rest."),
	}})
}

var executePromQLQueryTool = promqlTool("execute_promql_query", promqlQueryDescription, promqlInput(map[string]any{
	"query": promqlReqString("Query", "The PromQL expression to evaluate."),
	"time":  promqlOptString("Time", "When to evaluate it: RFC 3339 (no zone = UTC) or unix seconds. Defaults to now."),
}, "query"), promqlQueryOutput("vector, matrix, scalar or string"))

func executePromQLQuery(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	query, err := a.RequiredStr("query")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	params := url.Values{"query": {query}}
	at, _, hasTime, err := promqlTime(a, "time")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if hasTime {
		params.Set("time", at)
	}
	return promqlQueryCall(ctx, e, a, "query", params, "vector")
}
