package cloudwatchmcp

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
)

func init() {
	Register(Tool{Group: "promql", Tool: getPromQLSeriesTool, Handler: getPromQLSeries, Result: &ResultShape{
		Trims: [][]Trim{{TrimEnd("series")}},
		Hint:  Hint("Series were dropped from the end. Narrow them with more specific match selectors and a start/end range."),
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

func getPromQLSeries(ctx context.Context, e *Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	params, err := promqlMetadataParams(a, true)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	env, err := promqlFor(ctx, e, a, "series", params)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	out := promqlSeriesResult{Series: []map[string]string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Series); err != nil {
		return ErrorResult(ctx, err), nil
	}
	if out.Series == nil {
		out.Series = []map[string]string{}
	}
	return JSONResult(out), nil
}
