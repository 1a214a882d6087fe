package logs

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	// One record, never trimmed: it is what the caller asked for in full.
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: getLogRecordTool, Handler: getLogRecord})
}

var getLogRecordTool = mcp.Tool{
	Name: "get_log_record",
	Description: `Fetches one whole log event, with every field CloudWatch Logs discovered in it, from its @ptr (GetLogRecord).

Use it when a Logs Insights row was cut short: Insights truncates long @message values, and a row only holds the fields the query asked for. Add @ptr to the query's fields (e.g. fields @timestamp, @message, @ptr) and pass a row's @ptr here.

Usage:
- log_record_pointer is the @ptr value exactly as the Insights row returned it.
- region must be the region the query ran in (defaults to the server's region).
- unmask=true shows data that a data protection policy masks, only if your AWS identity holds logs:Unmask (AWS refuses the call otherwise).

Returns log_record: the event's fields by name (@timestamp and @ingestionTime in epoch milliseconds, @message, @logStream, @log, and the fields discovered in it).`,
	RawInputSchema: logsSchema(map[string]any{
		"log_record_pointer": map[string]any{"type": "string", "description": "The @ptr of the log event, from a Logs Insights result row."},
		"unmask":             map[string]any{"type": "boolean", "default": false, "description": "Show data masked by a data protection policy; needs logs:Unmask."},
		"region":             logsRegionProp,
		"profile_name":       logsProfileProp,
	}, "log_record_pointer"),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LogRecord","properties":{` +
		`"log_record":{"type":"object","additionalProperties":{"type":"string"}}},"required":["log_record"]}`),
	Annotations: logsReadOnly("Get a whole log record"),
}

func getLogRecord(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	ptr, err := a.RequiredStr("log_record_pointer")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	unmask, err := a.Bool("unmask", false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	region, _ := a.Str("region", "")
	profile, _ := a.Str("profile_name", "")
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out, err := cl.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(strings.TrimSpace(ptr)), Unmask: unmask})
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	rec := out.LogRecord
	if rec == nil {
		rec = map[string]string{}
	}
	return toolkit.JSONResult(map[string]any{"log_record": rec}), nil
}
