// Package promql is the PromQL tool group ("promql"): the tools that query
// CloudWatch's Prometheus-compatible API (OTLP metrics and OTel-enriched
// vended metrics) with the names, parameters and result shapes of awslabs'
// CloudWatch MCP server 0.1.8 (PARITY.md lists the deliberate
// differences).
//
// Each tool is one file named after it, which registers the tool with
// toolkit from its init func. promql.go holds what they share, client.go
// the SigV4-signed HTTP client, params.go the argument parsing and
// descriptions.go the tool descriptions.
package promql

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

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

func promqlQueryCall(ctx context.Context, e *toolkit.Env, a toolkit.Args, path string, params url.Values, defType string) (*mcp.CallToolResult, error) {
	env, err := promqlFor(ctx, e, a, path, params)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := promqlData(env, &data); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out := promqlQueryResult{ResultType: data.ResultType, Result: data.Result, Warnings: env.Warnings, Infos: env.Infos}
	if out.ResultType == "" {
		out.ResultType = defType
	}
	if r := strings.TrimSpace(string(out.Result)); r == "" || r == "null" {
		out.Result = json.RawMessage("[]")
	}
	return toolkit.JSONResult(out), nil
}

// promqlMetadataParams builds match[] (repeated), start and end.
func promqlMetadataParams(a toolkit.Args, matchRequired bool) (url.Values, error) {
	matches, err := promqlMatchers(a, "match", matchRequired)
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if len(matches) > 0 {
		params["match[]"] = matches
	}
	if err := promqlRange(a, params, false); err != nil {
		return nil, err
	}
	return params, nil
}

// promqlFor reads region/profile_name and performs the call.
func promqlFor(ctx context.Context, e *toolkit.Env, a toolkit.Args, path string, params url.Values) (*promqlEnvelope, error) {
	region, err := a.Str("region", "")
	if err != nil {
		return nil, err
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return nil, err
	}
	return promql(ctx, e, promqlCall{region: region, profile: profile, path: path, params: params})
}

// promqlData decodes the envelope's data into v; a missing data member
// leaves v as is.
func promqlData(env *promqlEnvelope, v any) error {
	if d := strings.TrimSpace(string(env.Data)); d == "" || d == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return toolkit.Errorf("the PromQL answer has an unexpected shape: %v", err)
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
