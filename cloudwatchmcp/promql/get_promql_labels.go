package promql

import (
	"context"
	"sort"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "promql", Tool: getPromQLLabelsTool, Handler: getPromQLLabels, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("labels")}},
		Hint:  toolkit.Hint("Labels were dropped from the end. Narrow them with match selectors and a start/end range."),
	}})
}

var getPromQLLabelsTool = promqlTool("get_promql_labels", promqlLabelsDescription, promqlInput(map[string]any{
	"match": promqlOptList("Match", "Series selectors limiting which series' label names are listed; a series counts if it matches any of them."),
	"start": promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
	"end":   promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
}), promqlListOutput("PromQLLabelsResult", "labels", "The label names, sorted."))

type promqlLabelsResult struct {
	Labels   []string `json:"labels"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

func getPromQLLabels(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	params, err := promqlMetadataParams(a, false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	env, err := promqlFor(ctx, e, a, "labels", params)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out := promqlLabelsResult{Labels: []string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Labels); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	sort.Strings(out.Labels)
	return toolkit.JSONResult(out), nil
}
