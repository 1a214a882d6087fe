package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// execute_cwl_insights_batch (see batch.go).

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: executeCWLInsightsBatchTool, Handler: executeCWLInsightsBatch, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("results")}},
		Hint:  toolkit.Hint("Rows were dropped from the end. Narrow the time range (start_time/end_time), query fewer log groups or regions, or lower limit to get the rest."),
	}})
}

const batchDefaultTimeout = 120 // seconds, per chunk

var executeCWLInsightsBatchTool = mcp.Tool{
	Name: "execute_cwl_insights_batch",
	Description: `Run one CloudWatch Logs Insights query across many log groups, accounts and regions.

The log groups are split into chunks of 50 (the StartQuery maximum) and the same query runs in every region listed. To leave room for the account's other work, each region runs at most 7 of your queries at once and starts them about 0.7 s apart, at most 20 of your chunks run at once across all regions, and polling is throttled the same way. One call runs at most 100 chunks (regions × chunks of 50 log groups); regions must be real AWS region names, and a region listed twice runs once. A chunk that fails transiently is retried once. When a chunk's output is cut at the 10,000-row limit, or it times out, its time range is split in half and each half is run again, up to 4 times.

Every result row carries _region, _logGroups (the log group, or "<n> log groups") and, with account_label or a chunk of ARNs from one account, _account.

Use log group ARNs (arn:aws:logs:<region>:<account>:log-group:<name>) for linked source accounts; an ARN is queried only in its own region. For a few log groups in one region, execute_log_insights_query is simpler.

CRITICAL: keep results small. Add "| limit N" or stats to the query, or set limit, so the rows fit the agent's context.

Returns summary (total_log_groups, total_regions, total_chunks, successful_chunks, retried_chunks, re_chunked, failed_chunks, total_records_returned, warnings) and results (the merged rows).`,
	RawInputSchema: json.RawMessage(`{"type":"object","properties":{` +
		`"log_group_names":{"type":"array","items":{"type":"string"},"minItems":1,"title":"Log Group Names","description":"Log group names or ARNs (arn:aws:logs:region:account-id:log-group:name) to query. Use ARNs for cross-account queries. They are sent 50 per StartQuery."},` +
		`"regions":{"type":"array","items":{"type":"string"},"minItems":1,"title":"Regions","description":"AWS regions to query, e.g. [\"us-east-1\", \"eu-west-1\"]. The query runs over the log group names in every region."},` +
		`"start_time":{"type":"string","title":"Start Time","description":"ISO 8601 start time, e.g. 2025-04-19T20:00:00+00:00 (a time without a zone is UTC)."},` +
		`"end_time":{"type":"string","title":"End Time","description":"ISO 8601 end time, e.g. 2025-04-19T21:00:00+00:00."},` +
		`"query_string":{"type":"string","title":"Query String","description":"CloudWatch Logs Insights query, see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html"},` +
		`"limit":{"anyOf":[{"type":"integer","exclusiveMinimum":0},{"type":"null"}],"default":null,"title":"Limit","description":"Maximum log events per chunk. Use this or \"| limit N\" in the query to keep the output small."},` +
		`"max_timeout":{"type":"integer","default":120,"exclusiveMinimum":0,"title":"Max Timeout","description":"Seconds to wait for each chunk before giving up on it (default 120)."},` +
		`"account_label":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Account Label","description":"Label for the _account field of every row, e.g. prod-123456789012."},` +
		ixProfileProp + `},"required":["log_group_names","regions","start_time","end_time","query_string"]}`),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"MultiRegionQueryResult","properties":{` +
		`"summary":{"type":"object","title":"MultiRegionQuerySummary","properties":{` +
		`"total_log_groups":{"type":"integer"},"total_regions":{"type":"integer"},"total_chunks":{"type":"integer"},` +
		`"successful_chunks":{"type":"integer","default":0},"retried_chunks":{"type":"integer","default":0},"re_chunked":{"type":"integer","default":0},` +
		`"failed_chunks":{"type":"integer","default":0},"total_records_returned":{"type":"integer","default":0},` +
		`"warnings":{"type":"array","items":{"type":"string"}}},"required":["total_log_groups","total_regions","total_chunks"]},` +
		`"results":{"type":"array","items":{"type":"object","additionalProperties":true}}},"required":["summary"]}`),
	Annotations: ixReadOnly("Run a Logs Insights query across log groups and regions"),
}

// batchArgs validates a call's arguments, with awslabs' messages.
func batchArgs(e *toolkit.Env, a toolkit.Args) (batchRequest, error) {
	var r batchRequest
	var err error
	if r.groups, err = a.StrList("log_group_names"); err != nil {
		return r, err
	}
	if len(r.groups) == 0 {
		return r, toolkit.Errorf("log_group_names cannot be empty")
	}
	for i, g := range r.groups {
		if strings.TrimSpace(g) == "" {
			return r, toolkit.Errorf("log_group_names[%d] is empty", i)
		}
	}
	if r.regions, err = a.StrList("regions"); err != nil {
		return r, err
	}
	if len(r.regions) == 0 {
		return r, toolkit.Errorf("regions cannot be empty")
	}
	// Each distinct region costs a client, a pacer gate and its own
	// queries, so every name must be a real region (the first that is not
	// is named), and a region listed twice runs once.
	seen := make(map[string]bool, len(r.regions))
	regions := r.regions[:0:0]
	for i, reg := range r.regions {
		if strings.TrimSpace(reg) == "" {
			return r, toolkit.Errorf("regions[%d] is empty", i)
		}
		if reg, err = e.Region(reg); err != nil {
			return r, err
		}
		if !seen[reg] {
			seen[reg] = true
			regions = append(regions, reg)
		}
	}
	r.regions = regions
	if r.query, err = a.RequiredStr("query_string"); err != nil {
		return r, err
	}
	timeout, err := a.Int("max_timeout", batchDefaultTimeout)
	if err != nil {
		return r, err
	}
	if timeout <= 0 {
		return r, toolkit.Errorf("max_timeout must be positive, got %d", timeout)
	}
	r.maxTimeout = time.Duration(timeout) * time.Second
	if a.Has("limit") {
		if r.limit, err = a.Int("limit", 0); err != nil {
			return r, err
		}
		if r.limit <= 0 {
			return r, toolkit.Errorf("limit must be positive, got %d", r.limit)
		}
	}
	times := [2]int64{}
	for i, name := range []string{"start_time", "end_time"} {
		s, err := a.RequiredStr(name)
		if err != nil {
			return r, err
		}
		t, err := toolkit.ParseTime(s)
		if err != nil {
			return r, toolkit.Errorf("Invalid time parameter: Invalid ISO 8601 timestamp '%s'. Expected format: '2025-04-19T20:00:00+00:00'.", s)
		}
		times[i] = t.Unix()
	}
	r.start, r.end = times[0], times[1]
	if r.start >= r.end {
		s, _ := a.Str("start_time", "")
		en, _ := a.Str("end_time", "")
		return r, toolkit.Errorf("start_time must be before end_time. Got start_time=%s, end_time=%s", s, en)
	}
	if r.accountLabel, err = a.Str("account_label", ""); err != nil {
		return r, err
	}
	if r.profile, err = a.Str("profile_name", ""); err != nil {
		return r, err
	}
	return r, nil
}

func executeCWLInsightsBatch(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	r, err := batchArgs(e, toolkit.ArgsOf(req))
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	idKey, err := callerIdentityKey(ctx, e, r.profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	b := &batchRun{e: e, req: r, pacer: batchPacerFor(e), idKey: idKey, splitOnMatched: !queryCapsOutput(r.query, r.limit)}
	if p := toolkit.ProgressNotifier(ctx, req); p != nil {
		b.progress = func(done int) {
			b.mu.Lock()
			total := b.sum.TotalChunks
			b.mu.Unlock()
			p(float64(done), float64(total), fmt.Sprintf("%d of %d chunks done", done, total))
		}
	}
	toolkit.ClientLog(ctx, mcp.LoggingLevelInfo, fmt.Sprintf("Dispatching query chunks across %d region(s) for %d log group(s)", len(r.regions), len(r.groups)))
	res, err := b.run(ctx)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if res.Summary.TotalRecordsReturned >= batchLargeResult {
		toolkit.ClientLog(ctx, mcp.LoggingLevelWarning, res.Summary.Warnings[len(res.Summary.Warnings)-1])
	}
	if res.Summary.FailedChunks > 0 {
		toolkit.ClientLog(ctx, mcp.LoggingLevelWarning, fmt.Sprintf("%d chunk(s) failed. See summary.warnings for details.", res.Summary.FailedChunks))
	}
	return toolkit.JSONResult(res), nil
}
