package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The PromQL tools query CloudWatch's Prometheus-compatible API (OTLP
// metrics and OTel-enriched vended metrics) with the names, parameters and
// result shapes of awslabs' CloudWatch MCP server 0.1.8. Deliberate
// differences are listed in FIXES_promql.md.

func init() { registerTools("promql", promqlTools) }

func promqlTools(e *Env) []server.ServerTool {
	return []server.ServerTool{
		{Tool: promqlTool("execute_promql_query", promqlQueryDescription, promqlInput(map[string]any{
			"query": promqlReqString("Query", "The PromQL expression to evaluate."),
			"time":  promqlOptString("Time", "When to evaluate it: RFC 3339 (no zone = UTC) or unix seconds. Defaults to now."),
		}, "query"), promqlQueryOutput("vector, matrix, scalar or string")), Handler: e.executePromQLQuery},
		{Tool: promqlTool("execute_promql_range_query", promqlRangeDescription, promqlInput(map[string]any{
			"query": promqlReqString("Query", "The PromQL expression to evaluate at every step."),
			"start": promqlReqString("Start", "First evaluation time: RFC 3339 (no zone = UTC) or unix seconds."),
			"end":   promqlReqString("End", "Last evaluation time: RFC 3339 (no zone = UTC) or unix seconds."),
			"step":  promqlReqString("Step", `Distance between evaluations: a duration such as "60s", "5m", "1h" or a number of seconds.`),
		}, "query", "start", "end", "step"), promqlQueryOutput("normally matrix")), Handler: e.executePromQLRangeQuery},
		{Tool: promqlTool("get_promql_label_values", promqlLabelValuesDescription, promqlInput(map[string]any{
			"label_name": promqlReqString("Label Name", `The label whose values to list: "__name__" for metric names, "@resource.service.name" for services, "@aws.tag.Team" for a tag, ...`),
			"match":      promqlOptList("Match", `Series selectors limiting which series the values come from, e.g. ["{\"@instrumentation.@name\"=\"cloudwatch.aws/ec2\"}"]. A series counts if it matches any of them.`),
			"start":      promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
			"end":        promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
		}, "label_name"), promqlListOutput("PromQLLabelValuesResult", "values", "The label's values, sorted.")), Handler: e.getPromQLLabelValues},
		{Tool: promqlTool("get_promql_series", promqlSeriesDescription, promqlInput(map[string]any{
			"match": promqlReqList("Match", `One or more series selectors, e.g. ["{\"http.server.active_requests\", \"@resource.service.name\"=\"checkout\"}"]. A series is returned if it matches any of them.`),
			"start": promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
			"end":   promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
		}, "match"), promqlSeriesOutput()), Handler: e.getPromQLSeries},
		{Tool: promqlTool("get_promql_labels", promqlLabelsDescription, promqlInput(map[string]any{
			"match": promqlOptList("Match", "Series selectors limiting which series' label names are listed; a series counts if it matches any of them."),
			"start": promqlOptString("Start", "Only series with data after this time: RFC 3339 (no zone = UTC) or unix seconds."),
			"end":   promqlOptString("End", "Only series with data before this time: RFC 3339 (no zone = UTC) or unix seconds."),
		}), promqlListOutput("PromQLLabelsResult", "labels", "The label names, sorted.")), Handler: e.getPromQLLabels},
	}
}

// --- results (awslabs' pydantic models, plus optional warnings/infos) ---

// promqlQueryResult is PromQLInstantResult / PromQLRangeResult. result is
// passed through as the API sent it: a list of series for vector/matrix,
// one [unix_seconds, "value"] pair for scalar/string (awslabs' model
// required a list of objects and failed on those).
type promqlQueryResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
	Warnings   []string        `json:"warnings,omitempty"`
	Infos      []string        `json:"infos,omitempty"`
}

type promqlLabelValuesResult struct {
	Values   []string `json:"values"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

type promqlSeriesResult struct {
	Series   []map[string]string `json:"series"`
	Warnings []string            `json:"warnings,omitempty"`
	Infos    []string            `json:"infos,omitempty"`
}

type promqlLabelsResult struct {
	Labels   []string `json:"labels"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

// --- handlers ---

func (e *Env) executePromQLQuery(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	query, err := a.RequiredStr("query")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	params := url.Values{"query": {query}}
	at, _, hasTime, err := a.promqlTime("time")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	if hasTime {
		params.Set("time", at)
	}
	return e.promqlQueryCall(ctx, a, "query", params, "vector")
}

func (e *Env) executePromQLRangeQuery(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	query, err := a.RequiredStr("query")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	params := url.Values{"query": {query}}
	if err := a.promqlRange(params, true); err != nil {
		return ErrorResult(ctx, err), nil
	}
	step, err := a.promqlStep("step")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	params.Set("step", step)
	return e.promqlQueryCall(ctx, a, "query_range", params, "matrix")
}

func (e *Env) promqlQueryCall(ctx context.Context, a Args, path string, params url.Values, defType string) (*mcp.CallToolResult, error) {
	env, err := e.promqlFor(ctx, a, path, params)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := promqlData(env, &data); err != nil {
		return ErrorResult(ctx, err), nil
	}
	out := promqlQueryResult{ResultType: data.ResultType, Result: data.Result, Warnings: env.Warnings, Infos: env.Infos}
	if out.ResultType == "" {
		out.ResultType = defType
	}
	if r := strings.TrimSpace(string(out.Result)); r == "" || r == "null" {
		out.Result = json.RawMessage("[]")
	}
	return JSONResult(out), nil
}

func (e *Env) getPromQLLabelValues(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	name, err := a.RequiredStr("label_name")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	path, err := promqlLabelPath(name)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	params, err := promqlMetadataParams(a, false)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	env, err := e.promqlFor(ctx, a, path, params)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	out := promqlLabelValuesResult{Values: []string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Values); err != nil {
		return ErrorResult(ctx, err), nil
	}
	if out.Values == nil {
		out.Values = []string{}
	}
	sort.Strings(out.Values)
	return JSONResult(out), nil
}

func (e *Env) getPromQLSeries(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	params, err := promqlMetadataParams(a, true)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	env, err := e.promqlFor(ctx, a, "series", params)
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

func (e *Env) getPromQLLabels(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	params, err := promqlMetadataParams(a, false)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	env, err := e.promqlFor(ctx, a, "labels", params)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	out := promqlLabelsResult{Labels: []string{}, Warnings: env.Warnings, Infos: env.Infos}
	if err := promqlData(env, &out.Labels); err != nil {
		return ErrorResult(ctx, err), nil
	}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	sort.Strings(out.Labels)
	return JSONResult(out), nil
}

// promqlMetadataParams builds match[] (repeated), start and end.
func promqlMetadataParams(a Args, matchRequired bool) (url.Values, error) {
	matches, err := a.promqlMatchers("match", matchRequired)
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if len(matches) > 0 {
		params["match[]"] = matches
	}
	if err := a.promqlRange(params, false); err != nil {
		return nil, err
	}
	return params, nil
}

// promqlFor reads region/profile_name and performs the call.
func (e *Env) promqlFor(ctx context.Context, a Args, path string, params url.Values) (*promqlEnvelope, error) {
	region, err := a.Str("region", "")
	if err != nil {
		return nil, err
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return nil, err
	}
	return e.promql(ctx, promqlCall{region: region, profile: profile, path: path, params: params})
}

// promqlData decodes the envelope's data into v; a missing data member
// leaves v as is.
func promqlData(env *promqlEnvelope, v any) error {
	if d := strings.TrimSpace(string(env.Data)); d == "" || d == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return Errorf("the PromQL answer has an unexpected shape: %v", err)
	}
	return nil
}

// --- schemas: FastMCP-shaped, so agents written for awslabs see the same ---

func promqlTool(name, description string, in, out map[string]any) mcp.Tool {
	t := mcp.NewTool(name, mcp.WithDescription(description),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(true))
	in["title"] = name + "Arguments"
	t.InputSchema.Type = ""
	t.RawInputSchema = promqlMustJSON(in)
	t.RawOutputSchema = promqlMustJSON(out)
	return t
}

func promqlMustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("promql schema: %v", err)) // static data; caught by every test
	}
	return b
}

const promqlRegionHelp = "AWS region to query; defaults to the server's region. CloudWatch offers PromQL in a subset of regions (us-east-1, us-west-2, eu-west-1, ap-southeast-1 and ap-southeast-2 at the time of writing)."
const promqlProfileHelp = "AWS CLI profile to use. Only honoured when the server runs with `credentials default`; otherwise every call uses the caller's own credentials and this is rejected."

// promqlInput adds the region and profile_name parameters every tool has.
func promqlInput(props map[string]any, required ...string) map[string]any {
	props["region"] = promqlOptString("Region", promqlRegionHelp)
	props["profile_name"] = promqlOptString("Profile Name", promqlProfileHelp)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func promqlReqString(title, desc string) map[string]any {
	return map[string]any{"type": "string", "title": title, "description": desc}
}

func promqlOptString(title, desc string) map[string]any {
	return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}, "default": nil, "title": title, "description": desc}
}

func promqlReqList(title, desc string) map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "title": title, "description": desc}
}

func promqlOptList(title, desc string) map[string]any {
	return map[string]any{"anyOf": []any{map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, map[string]any{"type": "null"}}, "default": nil, "title": title, "description": desc}
}

func promqlNotes() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Non-fatal notices from the PromQL engine, when it sent any."}
}

func promqlQueryOutput(types string) map[string]any {
	return map[string]any{
		"type":  "object",
		"title": "PromQLResult",
		"properties": map[string]any{
			"resultType": map[string]any{"type": "string", "title": "Resulttype", "description": "The kind of result: " + types + "."},
			"result": map[string]any{"type": "array", "title": "Result",
				"description": `vector: [{"metric": {labels}, "value": [unix_seconds, "value"]}]; matrix: [{"metric": {labels}, "values": [[unix_seconds, "value"], ...]}]; scalar and string: one [unix_seconds, "value"] pair.`,
				"items": map[string]any{"anyOf": []any{
					map[string]any{"type": "object", "additionalProperties": true},
					map[string]any{"type": "number"},
					map[string]any{"type": "string"},
				}}},
			"warnings": promqlNotes(),
			"infos":    promqlNotes(),
		},
		"required": []string{"resultType", "result"},
	}
}

func promqlListOutput(title, field, desc string) map[string]any {
	return map[string]any{
		"type":  "object",
		"title": title,
		"properties": map[string]any{
			field:      map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc},
			"warnings": promqlNotes(),
			"infos":    promqlNotes(),
		},
		"required": []string{field},
	}
}

func promqlSeriesOutput() map[string]any {
	return map[string]any{
		"type":  "object",
		"title": "PromQLSeriesResult",
		"properties": map[string]any{
			"series": map[string]any{"type": "array", "description": "The label set of every matching series.",
				"items": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}},
			"warnings": promqlNotes(),
			"infos":    promqlNotes(),
		},
		"required": []string{"series"},
	}
}
