package logs

import (
	"context"
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// recommend_indexes_loggroup and recommend_indexes_account: the field-index
// recommender of awslabs 0.1.8 (see index_recommend.go).

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: recommendIndexesLogGroupTool, Handler: recommendIndexesLogGroup, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("recommendations"), toolkit.TrimEnd("already_indexed"), toolkit.TrimEnd("fields_not_found"), toolkit.TrimEnd("warnings")}},
		Hint:  toolkit.Hint("The lowest-ranked entries were dropped from the end of each list. Analyze fewer queries to get a shorter answer."),
	}})
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: recommendIndexesAccountTool, Handler: recommendIndexesAccount, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{
			{toolkit.TrimEnd("log_group_results", "*", "recommendations"), toolkit.TrimEnd("log_group_results", "*", "already_indexed"), toolkit.TrimEnd("log_group_results", "*", "fields_not_found")},
			{toolkit.TrimEnd("log_group_results")},
		},
		Hint: toolkit.Hint("Entries were dropped from the end. Lower max_queries, or call recommend_indexes_loggroup for one log group at a time."),
	}})
}

// Schemas of this file and execute_cwl_insights_batch.go, shaped like FastMCP's (optional
// parameters are anyOf [T, null] with a default).
const (
	ixRegionProp = `"region":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Region",` +
		`"description":"AWS region, e.g. us-east-1. Defaults to the server's region."}`
	ixProfileProp = `"profile_name":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Profile Name",` +
		`"description":"AWS CLI profile. Only honoured when the server runs with ` + "`credentials default`" + `; otherwise your own credentials are used and this must be left empty."}`

	ixBreakdownSchema = `{"type":"object","title":"FieldScoreBreakdown","properties":{` +
		`"frequency_score":{"type":"number"},"filter_equality_score":{"type":"number"},"recency_score":{"type":"number"},` +
		`"scan_volume_score":{"type":"number"},"cardinality_score":{"anyOf":[{"type":"number"},{"type":"null"}],"default":null}},` +
		`"required":["frequency_score","filter_equality_score","recency_score","scan_volume_score"]}`
	ixResultSchema = `{"type":"object","title":"IndexRecommenderResult","properties":{` +
		`"recommendations":{"type":"array","items":{"type":"object","title":"IndexRecommendation","properties":{` +
		`"field_name":{"type":"string"},"score":{"type":"number"},"action":{"type":"string"},"query_count":{"type":"integer"},` +
		`"filter_equality_count":{"type":"integer"},"score_breakdown":` + ixBreakdownSchema + `},` +
		`"required":["field_name","score","action","query_count","filter_equality_count","score_breakdown"]}},` +
		`"already_indexed":{"type":"array","items":{"type":"object","title":"AlreadyIndexedField","properties":{` +
		`"field_name":{"type":"string"},"query_count":{"type":"integer"},"source":{"type":"string"}},"required":["field_name","query_count","source"]}},` +
		`"fields_not_found":{"type":"array","items":{"type":"object","title":"FieldNotFound","properties":{` +
		`"field_name":{"type":"string"},"query_count":{"type":"integer"}},"required":["field_name","query_count"]}},` +
		`"queries_analyzed":{"type":"integer"},"unique_queries":{"type":"integer"},"time_range_days":{"type":"integer"},` +
		`"log_group":{"type":"string"},"warnings":{"type":"array","items":{"type":"string"}}},` +
		`"required":["queries_analyzed","unique_queries","time_range_days","log_group"]}`
)

var recommendIndexesLogGroupTool = mcp.Tool{
	Name: "recommend_indexes_loggroup",
	Description: `Recommend CloudWatch Logs field indexes for one log group.

A field index lets Logs Insights skip log events that cannot match an equality filter (filter field = "value", field in [...], filterIndex), which cuts both query time and scanned bytes. This tool reads the last 30 days of completed Logs Insights queries on the log group (CWLI, SQL and PPL), works out which fields they filter on and how, and ranks the fields worth indexing.

How it works:
1. Reads the query history (DescribeQueries) and classifies every field use as equality filter, other filter, or display only.
2. Leaves out fields that are already indexed (DescribeIndexPolicies) and fields Logs indexes or generates anyway (@timestamp, @message, @logStream, ...).
3. Checks with a small Insights query over the last hour that each candidate field occurs in the log data.
4. Scores candidates: query frequency 30%, share of equality filters 25%, recency 15%, log group size 15%, and for the top 10 the number of distinct values 15%.

Start with recommend_indexes_account to find the log groups worth a look, then use this tool on them.

Returns recommendations (sorted by score, higher means more benefit), already_indexed, fields_not_found (queried but absent from recent data) and warnings.`,
	RawInputSchema: json.RawMessage(`{"type":"object","properties":{` +
		`"log_group_identifier":{"type":"string","title":"Log Group Identifier","description":"The log group name (e.g. /aws/lambda/my-func) or ARN. Use the ARN for a log group of a linked source account."},` +
		ixRegionProp + `,` + ixProfileProp + `},"required":["log_group_identifier"]}`),
	RawOutputSchema: json.RawMessage(ixResultSchema),
	Annotations:     ixReadOnly("Recommend field indexes for a log group"),
}

var recommendIndexesAccountTool = mcp.Tool{
	Name: "recommend_indexes_account",
	Description: `Find which log groups in the account would benefit from CloudWatch Logs field indexes.

A quick triage: it reads the last 30 days of completed Logs Insights queries across the account (CWLI, SQL and PPL), groups them by log group, and scores the fields each group's queries use that no account-level index policy covers yet. It makes no per-log-group calls: it does not read log-group index policies or run Insights queries, so verify the promising groups with recommend_indexes_loggroup.

Scores use query frequency 40%, share of equality filters 35% and recency 25%. Log groups are sorted by their best candidate, highest first.`,
	RawInputSchema: json.RawMessage(`{"type":"object","properties":{` +
		ixRegionProp + `,` + ixProfileProp + `,` +
		`"max_queries":{"type":"integer","default":5000,"minimum":0,"title":"Max Queries","description":"Most recent queries to analyze. More gives a fuller picture but takes longer; 5000 takes a few seconds. 0 means no limit (slow on busy accounts)."}` +
		`}}`),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"AccountIndexRecommenderResult","properties":{` +
		`"log_group_results":{"type":"array","items":` + ixResultSchema + `},` +
		`"total_log_groups_analyzed":{"type":"integer"},"total_queries_analyzed":{"type":"integer"},"time_range_days":{"type":"integer"},` +
		`"warnings":{"type":"array","items":{"type":"string"}}},` +
		`"required":["log_group_results","total_log_groups_analyzed","total_queries_analyzed","time_range_days"]}`),
	Annotations: ixReadOnly("Triage field indexes across the account"),
}

func ixReadOnly(title string) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{Title: title, ReadOnlyHint: mcp.ToBoolPtr(true), DestructiveHint: mcp.ToBoolPtr(false), OpenWorldHint: mcp.ToBoolPtr(true)}
}

func recommendIndexesLogGroup(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	id, err := a.RequiredStr("log_group_identifier")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	region, err := a.Str("region", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	res := recommendForLogGroup(ctx, e, cl, id)
	if ctx.Err() != nil {
		return toolkit.ErrorResult(ctx, ctx.Err()), nil
	}
	return toolkit.JSONResult(res), nil
}

func recommendIndexesAccount(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	region, err := a.Str("region", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	maxQueries, err := a.Int("max_queries", indexAccountDefaultMax)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if maxQueries < 0 {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("max_queries must be 0 (no limit) or a positive number, got %d", maxQueries)), nil
	}
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	res := recommendForAccount(ctx, e, cl, maxQueries)
	if ctx.Err() != nil {
		return toolkit.ErrorResult(ctx, ctx.Err()), nil
	}
	return toolkit.JSONResult(res), nil
}
