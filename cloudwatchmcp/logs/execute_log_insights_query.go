package logs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// maxInsightsLogGroups is StartQuery's limit on log groups per query.
const maxInsightsLogGroups = 50

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: executeLogInsightsQueryTool, Handler: executeLogInsightsQuery, Result: insightsResultShape})
}

var executeLogInsightsQueryTool = mcp.Tool{
	Name: "execute_log_insights_query",
	Description: `Runs a CloudWatch Logs Insights query and waits for its results.

CRITICAL: always bound the output. End the query with "| limit N" (or pass the limit parameter) and keep N small, e.g. 50; an unbounded query can return up to 10,000 rows and flood your context. Prefer "stats" aggregations over raw rows when you look for trends.

Usage:
- Give exactly one of log_group_names or log_group_identifiers (at most 50 entries), or log_group_data_source to select log groups by name prefix, account and class (any number of them; the query gets a SOURCE command), or a query_string that starts with its own SOURCE command. Use identifiers (log group ARNs, without a trailing ":*") for log groups in linked source accounts.
- start_time and end_time are ISO 8601 (e.g. 2025-04-19T20:00:00Z); a time without an offset is UTC.
- Find log group names and saved queries with describe_log_groups first.

Query language (Logs Insights QL) in brief:
- fields @timestamp, @message, @logStream | sort @timestamp desc | limit 20
- filter @message like /(?i)error/ and level = "ERROR"
- stats count(*) as errors by bin(5m)
- parse @message "user=* action=*" as user, action
- pattern @message   (clusters messages into patterns)
- Lambda REPORT lines: filter @type = "REPORT" | stats max(@maxMemoryUsed), avg(@duration)

Returns a dictionary with queryId, status, statistics (records matched and scanned, bytes scanned) and results (one object per row). If the query does not finish within max_timeout seconds, status is "Polling Timeout" and the query keeps running: fetch it later with get_logs_insight_query_results (or stop it with cancel_logs_insight_query). Failures come back with status "Error" and a message.`,
	RawInputSchema: logsSchema(map[string]any{
		"log_group_names":       logsOptional(logsArrayOf("string", maxInsightsLogGroups), "Names of the log groups to query (at most 50). Give this or log_group_identifiers, not both."),
		"log_group_identifiers": logsOptional(logsArrayOf("string", maxInsightsLogGroups), "Names or ARNs of the log groups to query (at most 50); ARNs are required for log groups in linked source accounts. Give this or log_group_names, not both."),
		"log_group_data_source": logGroupDataSourceProp,
		"start_time":            map[string]any{"type": "string", "description": "Start of the time range, ISO 8601 (e.g. 2025-04-19T20:00:00Z; no offset means UTC)."},
		"end_time":              map[string]any{"type": "string", "description": "End of the time range, ISO 8601 (e.g. 2025-04-19T21:00:00Z; no offset means UTC)."},
		"query_string":          map[string]any{"type": "string", "description": "The Logs Insights QL query. Include a limit."},
		"limit":                 logsOptional(map[string]any{"type": "integer", "minimum": 1}, "Maximum number of rows to return (StartQuery limit)."),
		"max_timeout":           map[string]any{"type": "integer", "default": 30, "minimum": 0, "description": "Seconds to wait for the query to finish before returning a Polling Timeout with the queryId (capped by the server's max_query_timeout)."},
		"region":                logsRegionProp,
		"profile_name":          logsProfileProp,
	}, "start_time", "end_time", "query_string"),
	RawOutputSchema: logsDictOutputSchema("execute_log_insights_query"),
	Annotations:     logsReadOnly("Run a Logs Insights query"),
}

// insightsRun is one Insights query to start and wait for.
type insightsRun struct {
	Names, Identifiers []string
	Start, End         time.Time
	Query              string
	Limit              int32 // 0 = no limit
	Timeout            time.Duration
	Progress           toolkit.ProgressFunc
	Label              string // names the query in progress messages
}

func executeLogInsightsQuery(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	fail := func(err error) *mcp.CallToolResult {
		msg := "Error executing CloudWatch Logs Insights query: " + toolkit.ErrorMessage(err)
		toolkit.RecordFailure(ctx, err)
		toolkit.ClientLog(ctx, mcp.LoggingLevelError, msg)
		return logsDictResult(insightsQueryResult{Status: "Error", Message: msg, Results: []map[string]any{}}, true)
	}
	run, region, profile, err := parseInsightsRunArgs(toolkit.ArgsOf(req))
	if err != nil {
		return fail(err), nil
	}
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return fail(err), nil
	}
	run.Progress = toolkit.ProgressNotifier(ctx, req)
	run.Label = "Logs Insights query"
	res, isErr, err := runInsightsQuery(ctx, e, cl, run)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	return logsDictResult(res, isErr), nil
}

func parseInsightsRunArgs(a toolkit.Args) (run insightsRun, region, profile string, err error) {
	if run.Names, err = a.StrList("log_group_names"); err != nil {
		return
	}
	if run.Identifiers, err = a.StrList("log_group_identifiers"); err != nil {
		return
	}
	source, err := dataSourceArg(a)
	if err != nil {
		return
	}
	if given := btoi(len(run.Names) > 0) + btoi(len(run.Identifiers) > 0) + btoi(source != ""); given > 1 || given == 0 && !hasSourceCommand(a) {
		err = toolkit.Errorf("Exactly one of log_group_names or log_group_identifiers must be provided (or log_group_data_source, or a query_string starting with SOURCE)")
		return
	}
	for param, l := range map[string][]string{"log_group_names": run.Names, "log_group_identifiers": run.Identifiers} {
		if len(l) > maxInsightsLogGroups {
			err = toolkit.Errorf("%s has %d entries but a query covers at most %d log groups; split them over several queries (or use execute_cwl_insights_batch)", param, len(l), maxInsightsLogGroups)
			return
		}
	}
	var ok bool
	if run.Start, ok, err = a.Time("start_time"); err != nil {
		return
	} else if !ok {
		err = toolkit.Errorf("start_time is required (ISO 8601, e.g. 2025-04-19T20:00:00Z)")
		return
	}
	if run.End, ok, err = a.Time("end_time"); err != nil {
		return
	} else if !ok {
		err = toolkit.Errorf("end_time is required (ISO 8601, e.g. 2025-04-19T21:00:00Z)")
		return
	}
	if run.End.Before(run.Start) {
		err = toolkit.Errorf("end_time (%s) is before start_time (%s)", run.End.Format(time.RFC3339), run.Start.Format(time.RFC3339))
		return
	}
	if run.Query, err = a.RequiredStr("query_string"); err != nil {
		return
	}
	if run.Query, err = withSource(source, run.Query); err != nil {
		return
	}
	if a.Has("limit") {
		var n int
		if n, err = a.Int("limit", 0); err != nil {
			return
		}
		if n < 1 || n > 100000 {
			err = toolkit.Errorf("limit must be between 1 and 100000, got %d (omit it for the query's own limit)", n)
			return
		}
		run.Limit = int32(n)
	}
	secs, err := a.Int("max_timeout", 30)
	if err != nil {
		return
	}
	if secs < 0 {
		err = toolkit.Errorf("max_timeout must be 0 or more seconds, got %d", secs)
		return
	}
	run.Timeout = time.Duration(secs) * time.Second
	region, _ = a.Str("region", "")
	profile, _ = a.Str("profile_name", "")
	return
}

// runInsightsQuery starts a query and waits for it, returning awslabs'
// result dictionary and whether it reports an error. err is set only when
// ctx was cancelled (the query has then been stopped).
func runInsightsQuery(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, r insightsRun) (insightsQueryResult, bool, error) {
	in := &cloudwatchlogs.StartQueryInput{
		StartTime:   aws.Int64(r.Start.Unix()),
		EndTime:     aws.Int64(r.End.Unix()),
		QueryString: aws.String(r.Query),
	}
	if len(r.Identifiers) > 0 {
		in.LogGroupIdentifiers = normalizeLogGroupIdentifiers(r.Identifiers)
	} else {
		in.LogGroupNames = r.Names
	}
	if r.Limit > 0 {
		in.Limit = aws.Int32(r.Limit)
	}
	started, err := cl.StartQuery(ctx, in)
	if ctx.Err() != nil {
		// The query may have started before the cancellation landed.
		if err == nil {
			stopInsightsQuery(ctx, e, cl, aws.ToString(started.QueryId), "client cancelled")
		}
		return insightsQueryResult{}, false, ctx.Err()
	}
	if err != nil {
		msg := "Error executing CloudWatch Logs Insights query: " + toolkit.ErrorMessage(err)
		toolkit.RecordFailure(ctx, err)
		toolkit.ClientLog(ctx, mcp.LoggingLevelError, msg)
		return insightsQueryResult{Status: "Error", Message: msg, Results: []map[string]any{}}, true, nil
	}
	id := aws.ToString(started.QueryId)
	w := insightsWait{Timeout: r.Timeout, OnPoll: insightsPollProgress(r.Progress, r.Label+" "+id, r.Timeout)}
	out, err := waitInsightsQuery(ctx, e, cl, id, w)
	if ctx.Err() != nil {
		return insightsQueryResult{}, false, ctx.Err()
	}
	if err != nil {
		msg := "Error occurred while polling: " + toolkit.ErrorMessage(err)
		toolkit.RecordFailure(ctx, err)
		toolkit.ClientLog(ctx, mcp.LoggingLevelError, msg)
		return insightsQueryResult{QueryID: id, Status: "Error", Message: msg, Results: []map[string]any{}}, true, nil
	}
	if out.TimedOut {
		msg := fmt.Sprintf("Query %s did not complete within %s seconds. Use get_logs_insight_query_results with the returned queryId to try again to retrieve query results.", id, strconv.FormatFloat(out.Timeout.Seconds(), 'f', -1, 64))
		toolkit.ClientLog(ctx, mcp.LoggingLevelWarning, msg)
		return insightsQueryResult{QueryID: id, Status: "Polling Timeout", Message: msg, Results: []map[string]any{}}, false, nil
	}
	if r.Progress != nil {
		r.Progress(out.Elapsed.Seconds(), out.Timeout.Seconds(), fmt.Sprintf("%s %s: %s after %.1fs", r.Label, id, out.Output.Status, out.Elapsed.Seconds()))
	}
	return processQueryResults(out.Output, id), false, nil
}

// normalizeLogGroupIdentifiers drops the ":*" that describe_log_groups'
// "arn" field carries: StartQuery rejects ARNs ending in it.
func normalizeLogGroupIdentifiers(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = trimLogGroupARN(id)
	}
	return out
}

func trimLogGroupARN(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ":*" {
		return s[:len(s)-2]
	}
	return s
}
