package promql

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "promql", Tool: getPromQLSeriesTool, Handler: getPromQLSeries, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("series")}},
		Hint:  toolkit.Hint("Series were dropped from the end. Narrow them with more specific match selectors and a start/end range."),
	}})
}

var getPromQLSeriesTool = promqlTool("get_promql_series", promqlSeriesDescription, promqlInput(map[string]any{
	"match": promqlReqList("Match", `One or more series selectors, e.g. ["{\"http.server.active_requests\", \"@resource.service.name\"=\"checkout\"}"]. A series is returned if it matches any of them.`),
	"start": promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
	"end":   promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
}, "match"), promqlSeriesOutput())

type promqlSeriesResult struct {
	Series   []map[string]string `json:"series"`
	Warnings []string            `json:"warnings,omitempty"`
	Infos    []string            `json:"infos,omitempty"`
}

func getPromQLSeries(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	params, err := promqlMetadataParams(a, true)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	env, err := promqlFor(ctx, e, a, "series", params)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out := promqlSeriesResult{Series: []map[string]string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Series); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if out.Series == nil {
		out.Series = []map[string]string{}
	}
	return toolkit.JSONResult(out), nil
}
