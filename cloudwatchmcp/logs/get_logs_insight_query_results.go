package logs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: getLogsInsightQueryResultsTool, Handler: getLogsInsightQueryResults, Result: insightsResultShape})
}

var getLogsInsightQueryResultsTool = mcp.Tool{
	Name: "get_logs_insight_query_results",
	Description: `Retrieves the results of a CloudWatch Logs Insights query started earlier.

Use it with the queryId that execute_log_insights_query returned when the query did not finish within max_timeout ("Polling Timeout").

Returns a dictionary with queryId, status (Scheduled, Running, Complete, Failed, Cancelled, Timeout or Unknown), statistics (records matched and scanned, bytes scanned) and results (one object per row, field name to value). While the status is Scheduled or Running, call again later.`,
	RawInputSchema: logsSchema(map[string]any{
		"query_id":     map[string]any{"type": "string", "description": "The queryId returned by execute_log_insights_query."},
		"region":       logsRegionProp,
		"profile_name": logsProfileProp,
	}, "query_id"),
	RawOutputSchema: logsDictOutputSchema("get_logs_insight_query_results"),
	Annotations:     logsReadOnly("Get Logs Insights query results"),
}

func getLogsInsightQueryResults(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	id, err := a.RequiredStr("query_id")
	fail := func(err error) *mcp.CallToolResult {
		msg := "Error retrieving CloudWatch Logs Insights query results: " + toolkit.ErrorMessage(err)
		toolkit.RecordFailure(ctx, err)
		toolkit.ClientLog(ctx, mcp.LoggingLevelError, msg)
		return logsDictResult(insightsQueryResult{QueryID: id, Status: "Error", Message: msg, Results: []map[string]any{}}, true)
	}
	if err != nil {
		return fail(err), nil
	}
	region, _ := a.Str("region", "")
	profile, _ := a.Str("profile_name", "")
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return fail(err), nil
	}
	out, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)})
	if err == nil && out.Status == types.QueryStatusComplete && out.NextToken != nil {
		err = insightsRemainingPages(ctx, e, cl, id, out)
	}
	if err != nil {
		return fail(err), nil
	}
	return logsDictResult(processQueryResults(out, id), false), nil
}
