package promql

import (
	"context"
	"sort"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "promql", Tool: getPromQLLabelValuesTool, Handler: getPromQLLabelValues, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("values")}},
		Hint:  toolkit.Hint("Values were dropped from the end. Narrow them with match selectors and a start/end range."),
	}})
}

var getPromQLLabelValuesTool = promqlTool("get_promql_label_values", promqlLabelValuesDescription, promqlInput(map[string]any{
	"label_name": promqlReqString("Label Name", `The label whose values to list: "__name__" for metric names, "@resource.service.name" for services, "@aws.tag.Team" for a tag, ...`),
	"match":      promqlOptList("Match", `Series selectors limiting which series the values come from, e.g. ["{\"@instrumentation.@name\"=\"cloudwatch.aws/ec2\"}"]. A series counts if it matches any of them.`),
	"start":      promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
	"end":        promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
}, "label_name"), promqlListOutput("PromQLLabelValuesResult", "values", "The label's values, sorted."))

type promqlLabelValuesResult struct {
	Values   []string `json:"values"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

func getPromQLLabelValues(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	name, err := a.RequiredStr("label_name")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	path, err := promqlLabelPath(name)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	params, err := promqlMetadataParams(a, false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	env, err := promqlFor(ctx, e, a, path, params)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out := promqlLabelValuesResult{Values: []string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Values); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if out.Values == nil {
		out.Values = []string{}
	}
	sort.Strings(out.Values)
	return toolkit.JSONResult(out), nil
}
