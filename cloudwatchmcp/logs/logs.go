// Package logs is the CloudWatch Logs tool group ("logs"): describe_log_groups,
// analyze_log_group, the Logs Insights tools (execute_log_insights_query,
// get_logs_insight_query_results, cancel_logs_insight_query,
// execute_cwl_insights_batch) and the field-index recommender
// (recommend_indexes_loggroup, recommend_indexes_account), with the names,
// parameters and result shapes of the awslabs CloudWatch MCP server 0.1.8
// (PARITY.md lists where we deliberately differ).
//
// Each tool is one file named after it, which registers the tool with
// toolkit from its init func. The other files hold what several tools
// share, by concern: the Insights result dictionary and schema helpers
// (logs.go), waiting on a query (insights_poll.go, insights_watch.go,
// insights_progress.go), the batch engine (batch.go, batch_pacer.go), the
// index recommender (index_recommend.go, queryfields.go) and the group's
// per-handler state (state.go).
package logs

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// insightsQueryResult is the dictionary awslabs returns from its Insights
// tools: the processed GetQueryResults response, or status "Error" /
// "Polling Timeout" with a message.
type insightsQueryResult struct {
	QueryID string `json:"queryId"`
	Status  string `json:"status"`
	// Statistics is present (possibly {}) for processed responses only.
	Statistics map[string]float64 `json:"statistics,omitempty"`
	Message    string             `json:"message,omitempty"`
	Results    []map[string]any   `json:"results"`
	hasStats   bool
}

func (r insightsQueryResult) MarshalJSON() ([]byte, error) {
	type plain insightsQueryResult
	if !r.hasStats {
		return json.Marshal(plain(r))
	}
	// omitempty would drop an empty statistics object that awslabs returns.
	return json.Marshal(struct {
		QueryID    string             `json:"queryId"`
		Status     string             `json:"status"`
		Statistics map[string]float64 `json:"statistics"`
		Results    []map[string]any   `json:"results"`
	}{r.QueryID, r.Status, r.Statistics, r.Results})
}

// processQueryResults flattens each row's field/value pairs into one
// object, as awslabs' _process_query_results does.
func processQueryResults(out *cloudwatchlogs.GetQueryResultsOutput, queryID string) insightsQueryResult {
	r := insightsQueryResult{QueryID: queryID, Status: string(out.Status), Statistics: map[string]float64{}, Results: make([]map[string]any, 0, len(out.Results)), hasStats: true}
	if s := out.Statistics; s != nil {
		r.Statistics["recordsMatched"] = s.RecordsMatched
		r.Statistics["recordsScanned"] = s.RecordsScanned
		r.Statistics["bytesScanned"] = s.BytesScanned
		for k, v := range map[string]float64{
			"estimatedRecordsSkipped": s.EstimatedRecordsSkipped, "estimatedBytesSkipped": s.EstimatedBytesSkipped,
			"logGroupsScanned": s.LogGroupsScanned, "resultCount": s.ResultCount,
		} {
			if v != 0 {
				r.Statistics[k] = v
			}
		}
	}
	for _, row := range out.Results {
		m := make(map[string]any, len(row))
		for _, f := range row {
			m[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		r.Results = append(r.Results, m)
	}
	return r
}

// logsDictResult presents a Dict-returning awslabs tool's value the way
// FastMCP does: structuredContent wraps it as {"result": ...} and the text
// is the bare JSON. Errors keep the same shape but are flagged isError so
// clients and agents notice them (awslabs returns them as successes).
func logsDictResult(v any, isError bool) *mcp.CallToolResult {
	b, err := json.Marshal(v)
	if err != nil {
		return toolkit.EncodingFailed(err)
	}
	res := mcp.NewToolResultStructured(map[string]any{"result": json.RawMessage(b)}, string(b))
	res.IsError = isError
	return res
}

// isoFromEpochMillis renders epoch milliseconds as Python's
// datetime.isoformat() does for an aware UTC time:
// 2025-01-01T00:00:00+00:00, with microseconds only when non-zero.
func isoFromEpochMillis(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

// insightsResultShape is how the result cap trims the Insights dictionary
// (logsDictResult): rows from the end.
var insightsResultShape = &toolkit.ResultShape{
	Root:  "result",
	Trims: [][]toolkit.Trim{{toolkit.TrimEnd("results")}},
	Hint:  insightsHint,
}

// insightsHint names the query so the agent can refer to it.
func insightsHint(v map[string]any) string {
	h := "Rows were dropped from the end. Re-run the query with a narrower time range (start_time/end_time), " +
		"more filter clauses, a lower limit (or `| limit N`), or aggregate with stats to get the rest."
	if id, _ := v["queryId"].(string); id != "" {
		h += " Query id: " + id + "."
	}
	return h
}

// --- schema helpers ---

var (
	logsRegionProp  = logsOptional(map[string]any{"type": "string"}, "AWS region, e.g. us-east-1. Defaults to the server's configured region.")
	logsProfileProp = logsOptional(map[string]any{"type": "string"}, "AWS CLI profile of the server to use. Only honoured when the server runs with `credentials default`; otherwise your own credentials are always used.")
)

// logsOptional is FastMCP's rendering of `T | None = None`.
func logsOptional(t map[string]any, desc string) map[string]any {
	return map[string]any{"anyOf": []any{t, map[string]any{"type": "null"}}, "default": nil, "description": desc}
}

func logsOptionalDefault(t map[string]any, def any, desc string) map[string]any {
	m := logsOptional(t, desc)
	m["default"] = def
	return m
}

func logsArrayOf(item string, maxItems int) map[string]any {
	m := map[string]any{"type": "array", "items": map[string]any{"type": item}}
	if maxItems > 0 {
		m["maxItems"] = maxItems
	}
	return m
}

func logsSchema(props map[string]any, required ...string) json.RawMessage {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // static schema: a bug caught at init by every test
	}
	return b
}

// logsDictOutputSchema is FastMCP's output schema for a Dict return.
func logsDictOutputSchema(tool string) json.RawMessage {
	return json.RawMessage(`{"type":"object","title":"` + tool + `Output","properties":{"result":{"type":"object","additionalProperties":true,"title":"Result"}},"required":["result"]}`)
}

func logsReadOnly(title string) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{Title: title, ReadOnlyHint: aws.Bool(true), DestructiveHint: aws.Bool(false), IdempotentHint: aws.Bool(true), OpenWorldHint: aws.Bool(true)}
}
