package logs

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: cancelLogsInsightQueryTool, Handler: cancelLogsInsightQuery})
}

var cancelLogsInsightQueryTool = mcp.Tool{
	Name: "cancel_logs_insight_query",
	Description: `Cancels a running CloudWatch Logs Insights query.

Use it to stop a query that execute_log_insights_query left running after a "Polling Timeout" and whose results are no longer needed, so it stops scanning (and costing) and frees one of the account's concurrent query slots.

Returns success: true when the query was stopped. A query that already finished cannot be cancelled and gives an error.`,
	RawInputSchema: logsSchema(map[string]any{
		"query_id":     map[string]any{"type": "string", "description": "The queryId of the query to cancel."},
		"region":       logsRegionProp,
		"profile_name": logsProfileProp,
	}, "query_id"),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LogsQueryCancelResult","properties":{"success":{"type":"boolean"}},"required":["success"]}`),
	Annotations: mcp.ToolAnnotation{
		Title: "Cancel Logs Insights query", ReadOnlyHint: aws.Bool(false), DestructiveHint: aws.Bool(false),
		IdempotentHint: aws.Bool(true), OpenWorldHint: aws.Bool(true),
	},
}

func cancelLogsInsightQuery(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	id, err := a.RequiredStr("query_id")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	region, _ := a.Str("region", "")
	profile, _ := a.Str("profile_name", "")
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out, err := cl.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)})
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	return toolkit.JSONResult(map[string]bool{"success": out.Success}), nil
}
