package logs

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	// filterDefaultLimit and filterMaxLimit bound the events one call
	// returns (FilterLogEvents' own maximum is 10,000 per page).
	filterDefaultLimit = 100
	filterMaxLimit     = 10000
	// filterMaxPages bounds the FilterLogEvents requests of one call: AWS
	// may answer a sparse search with empty pages and a token, and every
	// request counts against the account's quota. The token goes back to
	// the caller to continue.
	filterMaxPages = 10
	// filterDefaultWindow is the time range when start_time is omitted: a
	// search over all time scans every stored event.
	filterDefaultWindow = time.Hour
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: filterLogEventsTool, Handler: filterLogEvents, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("events")}},
		Hint: toolkit.Hint("Events were dropped from the end to fit the server's result size limit, and next_token continues after them: " +
			"call again with a lower limit, a narrower filter_pattern or time range, or specific log streams to see every event."),
	}})
}

var filterLogEventsTool = mcp.Tool{
	Name: "filter_log_events",
	Description: `Searches the log events of one CloudWatch log group with a filter pattern (FilterLogEvents), oldest first, without the cost and delay of a Logs Insights query.

Use it to read the raw lines around an incident, to find the events that match a term or a JSON condition, or to page through a log stream.

Usage:
- log_group_identifier is a log group name or ARN (logGroupArn from describe_log_groups; ARNs for log groups of linked source accounts).
- filter_pattern uses CloudWatch filter pattern syntax: terms ("ERROR", "ERROR Exception", "?ERROR ?WARN", "-DEBUG"), JSON conditions ({ $.level = "ERROR" }, { $.latency_ms > 1000 && $.path = "/checkout" }) or space-delimited fields ([ip, user, status = 5*]). Omit it for every event.
- start_time and end_time are ISO 8601 (no offset means UTC); start_time defaults to one hour before end_time, end_time to now.
- Restrict to streams with log_stream_names (up to 100) or log_stream_name_prefix, not both.
- limit (default 100, at most 10000) caps the events returned. When next_token is returned, pass it back with the same arguments for the next events.
- unmask=true shows data that a data protection policy masks, only if your AWS identity holds logs:Unmask (AWS refuses the call otherwise).

Returns events (timestamp and ingestionTime in ISO 8601 UTC, logStreamName, message, eventId) and next_token (null when there are no more).`,
	RawInputSchema: logsSchema(map[string]any{
		"log_group_identifier":   map[string]any{"type": "string", "description": "Name or ARN of the log group to search."},
		"filter_pattern":         logsOptional(map[string]any{"type": "string"}, "CloudWatch filter pattern, e.g. \"ERROR\" or { $.level = \"ERROR\" }. Omit for every event."),
		"start_time":             logsOptional(map[string]any{"type": "string"}, "Start of the time range, ISO 8601 (e.g. 2025-04-19T20:00:00Z; no offset means UTC). Defaults to one hour before end_time."),
		"end_time":               logsOptional(map[string]any{"type": "string"}, "End of the time range, ISO 8601. Defaults to now."),
		"log_stream_names":       logsOptional(logsArrayOf("string", 100), "Only search these log streams (at most 100). Not with log_stream_name_prefix."),
		"log_stream_name_prefix": logsOptional(map[string]any{"type": "string"}, "Only search log streams whose names start with this prefix. Not with log_stream_names."),
		"limit":                  map[string]any{"type": "integer", "default": filterDefaultLimit, "minimum": 1, "maximum": filterMaxLimit, "description": "Maximum number of events to return."},
		"next_token":             logsOptional(map[string]any{"type": "string"}, "next_token from a previous call with the same arguments, to continue after its events."),
		"unmask":                 map[string]any{"type": "boolean", "default": false, "description": "Show data masked by a data protection policy; needs logs:Unmask."},
		"region":                 logsOptional(map[string]any{"type": "string"}, "AWS region; defaults to the region in a log group ARN, else the server's region."),
		"profile_name":           logsProfileProp,
	}, "log_group_identifier"),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"FilteredLogEvents","properties":{` +
		`"log_group_identifier":{"type":"string"},"start_time":{"type":"string"},"end_time":{"type":"string"},` +
		`"events":{"type":"array","items":{"type":"object","properties":{"timestamp":{"type":"string"},"ingestionTime":{"type":["string","null"]},` +
		`"logStreamName":{"type":"string"},"message":{"type":"string"},"eventId":{"type":"string"}},"required":["timestamp","logStreamName","message"]}},` +
		`"next_token":{"type":["string","null"]}},"required":["log_group_identifier","start_time","end_time","events","next_token"]}`),
	Annotations: logsReadOnly("Search log events"),
}

type filteredLogEvent struct {
	Timestamp     string  `json:"timestamp"`
	IngestionTime *string `json:"ingestionTime"`
	LogStreamName string  `json:"logStreamName"`
	Message       string  `json:"message"`
	EventID       string  `json:"eventId,omitempty"`
}

type filteredLogEvents struct {
	LogGroupIdentifier string             `json:"log_group_identifier"`
	StartTime          string             `json:"start_time"`
	EndTime            string             `json:"end_time"`
	Events             []filteredLogEvent `json:"events"`
	NextToken          *string            `json:"next_token"`
}

func filterLogEvents(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	in, limit, region, profile, err := parseFilterArgs(e, toolkit.ArgsOf(req))
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	out := filteredLogEvents{
		LogGroupIdentifier: aws.ToString(in.LogGroupIdentifier),
		StartTime:          isoFromEpochMillis(aws.ToInt64(in.StartTime)),
		EndTime:            isoFromEpochMillis(aws.ToInt64(in.EndTime)),
		Events:             []filteredLogEvent{},
	}
	for range filterMaxPages {
		in.Limit = aws.Int32(int32(limit - len(out.Events)))
		page, err := cl.FilterLogEvents(ctx, in)
		if err != nil {
			return toolkit.ErrorResult(ctx, err), nil
		}
		for _, ev := range page.Events {
			out.Events = append(out.Events, filteredLogEvent{
				Timestamp:     isoFromEpochMillis(aws.ToInt64(ev.Timestamp)),
				IngestionTime: optionalISO(ev.IngestionTime),
				LogStreamName: aws.ToString(ev.LogStreamName),
				Message:       aws.ToString(ev.Message),
				EventID:       aws.ToString(ev.EventId),
			})
		}
		out.NextToken = page.NextToken
		// The same token twice would loop (boto3's paginator stops there too).
		if page.NextToken == nil || len(out.Events) >= limit || aws.ToString(page.NextToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = page.NextToken
	}
	if aws.ToString(out.NextToken) == "" {
		out.NextToken = nil
	}
	return toolkit.JSONResult(out), nil
}

// parseFilterArgs builds the FilterLogEvents request from the arguments.
func parseFilterArgs(e *toolkit.Env, a toolkit.Args) (in *cloudwatchlogs.FilterLogEventsInput, limit int, region, profile string, err error) {
	group, err := a.RequiredStr("log_group_identifier")
	if err != nil {
		return nil, 0, "", "", err
	}
	group = trimLogGroupARN(strings.TrimSpace(group))
	in = &cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String(group)}
	if in.LogStreamNames, err = a.StrList("log_stream_names"); err != nil {
		return nil, 0, "", "", err
	}
	prefix, err := a.Str("log_stream_name_prefix", "")
	if err != nil {
		return nil, 0, "", "", err
	}
	if prefix != "" && len(in.LogStreamNames) > 0 {
		return nil, 0, "", "", toolkit.Errorf("give log_stream_names or log_stream_name_prefix, not both")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, 0, "", "", toolkit.Errorf("log_stream_names has %d entries; at most 100 are allowed (use log_stream_name_prefix instead)", len(in.LogStreamNames))
	}
	if prefix != "" {
		in.LogStreamNamePrefix = aws.String(prefix)
	}
	if p, err := a.Str("filter_pattern", ""); err != nil {
		return nil, 0, "", "", err
	} else if strings.TrimSpace(p) != "" {
		in.FilterPattern = aws.String(p)
	}
	start, end, err := timeWindow(e, a, filterDefaultWindow)
	if err != nil {
		return nil, 0, "", "", err
	}
	in.StartTime, in.EndTime = aws.Int64(start.UnixMilli()), aws.Int64(end.UnixMilli())
	if limit, err = a.Int("limit", filterDefaultLimit); err != nil {
		return nil, 0, "", "", err
	}
	if limit < 1 || limit > filterMaxLimit {
		return nil, 0, "", "", toolkit.Errorf("limit must be between 1 and %d, got %d", filterMaxLimit, limit)
	}
	if tok, err := a.Str("next_token", ""); err != nil {
		return nil, 0, "", "", err
	} else if tok != "" {
		in.NextToken = aws.String(tok)
	}
	if unmask, err := a.Bool("unmask", false); err != nil {
		return nil, 0, "", "", err
	} else if unmask {
		in.Unmask = true
	}
	region, profile = regionAndProfile(a, group)
	return in, limit, region, profile, nil
}

// optionalISO renders optional epoch milliseconds as isoFromEpochMillis
// does; nil stays nil.
func optionalISO(ms *int64) *string {
	if ms == nil {
		return nil
	}
	s := isoFromEpochMillis(*ms)
	return &s
}

// timeWindow reads optional start_time and end_time: end defaults to now,
// start to def before end.
func timeWindow(e *toolkit.Env, a toolkit.Args, def time.Duration) (start, end time.Time, err error) {
	end, ok, err := a.Time("end_time")
	if err != nil {
		return start, end, err
	}
	if !ok {
		end = e.Now().UTC()
	}
	start, ok, err = a.Time("start_time")
	if err != nil {
		return start, end, err
	}
	if !ok {
		start = end.Add(-def)
	}
	if end.Before(start) {
		return start, end, toolkit.Errorf("end_time (%s) is before start_time (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	return start, end, nil
}

// regionAndProfile returns the region argument, or the region of a log
// group ARN (a log group can only be read in its own region), and the
// profile argument.
func regionAndProfile(a toolkit.Args, group string) (region, profile string) {
	region, _ = a.Str("region", "")
	if region == "" {
		if m := logGroupARNRe.FindStringSubmatch(group); m != nil {
			region = m[1]
		}
	}
	profile, _ = a.Str("profile_name", "")
	return region, profile
}
