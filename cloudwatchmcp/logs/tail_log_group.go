package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	tailDefaultDuration  = 30 * time.Second
	tailDefaultMaxEvents = 500
	tailMaxEvents        = 10000
	// tailMaxLogGroups is StartLiveTail's limit.
	tailMaxLogGroups = 10
	// tailSampleLines and tailSampleBytes shape the sample of new lines in
	// each progress notification: enough to see what is happening, small
	// enough to send every second.
	tailSampleLines = 3
	tailSampleBytes = 160
)

// Why a tail ended, as end_reason reports it.
const (
	tailEndDuration  = "duration_elapsed"
	tailEndMaxEvents = "max_events_reached"
	tailEndAWS       = "ended_by_aws"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: tailLogGroupTool, Handler: tailLogGroup, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimOldest("events")}},
		Hint: toolkit.Hint("The oldest events were dropped to fit the server's result size limit (events_received counts them all). " +
			"Tail again with a filter_pattern, fewer log groups or streams, a lower max_events or a shorter duration_seconds."),
	}})
}

var tailLogGroupTool = mcp.Tool{
	Name: "tail_log_group",
	Description: `Watches CloudWatch log groups live (CloudWatch Logs Live Tail) for a while and returns the log events that arrived.

Use it while a deploy rolls out or an incident unfolds, to see new log lines as they are written, e.g. only the errors with filter_pattern "ERROR" or { $.level = "ERROR" }.

Usage:
- log_group_identifiers: 1 to 10 log group names or ARNs (ARNs for log groups of linked source accounts).
- duration_seconds (default 30) is how long to watch; the server caps it at its max_query_timeout. The tail ends earlier once max_events (default 500) events have arrived.
- Restrict to streams with log_stream_names or log_stream_name_prefixes (only with a single log group).
- While the tail runs, a progress notification carries each update with a short sample of the new lines, if your client asked for progress. Cancelling the request ends the tail at once.
- Like the CloudWatch console, Live Tail shows at most 500 events per second: busier updates are sampled (sampled_updates counts them). Use filter_log_events or a Logs Insights query afterwards for every event.

Returns session_id, the ARNs tailed, started_at/ended_at (ISO 8601 UTC), end_reason (duration_elapsed, max_events_reached or ended_by_aws with a message), updates, sampled_updates, events_received and events (oldest first: timestamp, logGroupIdentifier, logStreamName, message, ingestionTime).`,
	RawInputSchema: logsSchema(map[string]any{
		"log_group_identifiers":    logsArrayOf("string", tailMaxLogGroups),
		"filter_pattern":           logsOptional(map[string]any{"type": "string"}, "CloudWatch filter pattern, e.g. \"ERROR\" or { $.level = \"ERROR\" }. Omit for every event."),
		"duration_seconds":         map[string]any{"type": "integer", "default": int(tailDefaultDuration / time.Second), "minimum": 1, "description": "How long to watch, in seconds (capped by the server's max_query_timeout)."},
		"max_events":               map[string]any{"type": "integer", "default": tailDefaultMaxEvents, "minimum": 1, "maximum": tailMaxEvents, "description": "End the tail once this many events have arrived."},
		"log_stream_names":         logsOptional(logsArrayOf("string", 100), "Only these log streams (only with a single log group). Not with log_stream_name_prefixes."),
		"log_stream_name_prefixes": logsOptional(logsArrayOf("string", 100), "Only log streams whose names start with one of these prefixes (only with a single log group)."),
		"region":                   logsOptional(map[string]any{"type": "string"}, "AWS region; defaults to the region of the log group ARNs, else the server's region."),
		"profile_name":             logsProfileProp,
	}, "log_group_identifiers"),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LiveTailResult","properties":{` +
		`"session_id":{"type":"string"},"log_group_identifiers":{"type":"array","items":{"type":"string"}},"filter_pattern":{"type":["string","null"]},` +
		`"started_at":{"type":"string"},"ended_at":{"type":"string"},"end_reason":{"type":"string"},"message":{"type":["string","null"]},` +
		`"updates":{"type":"integer"},"sampled_updates":{"type":"integer"},"events_received":{"type":"integer"},` +
		`"events":{"type":"array","items":{"type":"object","properties":{"timestamp":{"type":"string"},"logGroupIdentifier":{"type":"string"},` +
		`"logStreamName":{"type":"string"},"message":{"type":"string"},"ingestionTime":{"type":["string","null"]}},"required":["timestamp","logStreamName","message"]}}},` +
		`"required":["session_id","log_group_identifiers","started_at","ended_at","end_reason","updates","sampled_updates","events_received","events"]}`),
	Annotations: mcp.ToolAnnotation{Title: "Live tail log groups", ReadOnlyHint: aws.Bool(true), DestructiveHint: aws.Bool(false), IdempotentHint: aws.Bool(false), OpenWorldHint: aws.Bool(true)},
}

type tailEvent struct {
	Timestamp          string  `json:"timestamp"`
	LogGroupIdentifier string  `json:"logGroupIdentifier"`
	LogStreamName      string  `json:"logStreamName"`
	Message            string  `json:"message"`
	IngestionTime      *string `json:"ingestionTime"`
}

type tailResult struct {
	SessionID           string      `json:"session_id"`
	LogGroupIdentifiers []string    `json:"log_group_identifiers"`
	FilterPattern       *string     `json:"filter_pattern"`
	StartedAt           string      `json:"started_at"`
	EndedAt             string      `json:"ended_at"`
	EndReason           string      `json:"end_reason"`
	Message             *string     `json:"message"`
	Updates             int         `json:"updates"`
	SampledUpdates      int         `json:"sampled_updates"`
	EventsReceived      int         `json:"events_received"`
	Events              []tailEvent `json:"events"`
}

// tailArgs is a parsed tail_log_group call.
type tailArgs struct {
	in               cloudwatchlogs.StartLiveTailInput
	duration         time.Duration
	maxEvents        int
	region, profile  string
	names, arnRegion []string // log group names to resolve; regions of the ARNs given
}

func tailLogGroup(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	ta, err := parseTailArgs(e, toolkit.ArgsOf(req))
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.LiveTailClient(ctx, ta.region, ta.profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if len(ta.names) > 0 {
		// StartLiveTail takes ARNs only; a name is the caller's own log group.
		lc, err := e.LogsClient(ctx, ta.region, ta.profile)
		if err != nil {
			return toolkit.ErrorResult(ctx, err), nil
		}
		for _, n := range ta.names {
			arn, err := logGroupARNOf(ctx, lc, n)
			if err != nil {
				return toolkit.ErrorResult(ctx, err), nil
			}
			ta.in.LogGroupIdentifiers = append(ta.in.LogGroupIdentifiers, arn)
		}
	}

	// The session's own deadline; the caller's cancellation (MCP cancel, a
	// closed connection) ends it too, through ctx.
	sctx, stop := context.WithTimeout(ctx, ta.duration)
	defer stop()
	out := tailResult{LogGroupIdentifiers: ta.in.LogGroupIdentifiers, FilterPattern: ta.in.LogEventFilterPattern, Events: []tailEvent{},
		StartedAt: e.Now().UTC().Format(time.RFC3339Nano)}
	started := time.Now()
	resp, err := cl.StartLiveTail(sctx, &ta.in)
	if err != nil {
		if ctx.Err() != nil {
			return toolkit.ErrorResult(ctx, ctx.Err()), nil
		}
		return toolkit.ErrorResult(ctx, err), nil
	}
	stream := resp.GetStream()
	// Closing the stream closes the HTTP response: AWS ends the session.
	defer stream.Close()

	progress := toolkit.ProgressNotifier(ctx, req)
	out.EndReason = tailEndDuration
loop:
	for {
		select {
		case <-sctx.Done():
			break loop
		case ev, ok := <-stream.Events():
			if !ok {
				if ctx.Err() == nil && sctx.Err() == nil {
					out.EndReason = tailEndAWS
					msg := "the Live Tail session ended"
					if err := stream.Err(); err != nil {
						msg = toolkit.ErrorMessage(err)
						toolkit.RecordFailure(ctx, err)
					}
					out.Message = &msg
				}
				break loop
			}
			switch v := ev.(type) {
			case *types.StartLiveTailResponseStreamMemberSessionStart:
				out.SessionID = aws.ToString(v.Value.SessionId)
			case *types.StartLiveTailResponseStreamMemberSessionUpdate:
				if out.addUpdate(v.Value, ta.maxEvents, progress, time.Since(started), ta.duration) {
					out.EndReason = tailEndMaxEvents
					break loop
				}
			}
		}
	}
	if ctx.Err() != nil {
		// The caller cancelled or went away: nobody reads a result.
		return toolkit.ErrorResult(ctx, ctx.Err()), nil
	}
	out.EndedAt = e.Now().UTC().Format(time.RFC3339Nano)
	return toolkit.JSONResult(out), nil
}

// addUpdate takes one session update, reports it as progress, and says
// whether max events have arrived.
func (r *tailResult) addUpdate(u types.LiveTailSessionUpdate, maxEvents int, progress toolkit.ProgressFunc, elapsed, total time.Duration) bool {
	r.Updates++
	sampled := u.SessionMetadata != nil && u.SessionMetadata.Sampled
	if sampled {
		r.SampledUpdates++
	}
	r.EventsReceived += len(u.SessionResults)
	for _, ev := range u.SessionResults {
		if len(r.Events) >= maxEvents {
			break
		}
		r.Events = append(r.Events, tailEvent{
			Timestamp:          isoFromEpochMillis(aws.ToInt64(ev.Timestamp)),
			LogGroupIdentifier: aws.ToString(ev.LogGroupIdentifier),
			LogStreamName:      aws.ToString(ev.LogStreamName),
			Message:            aws.ToString(ev.Message),
			IngestionTime:      optionalISO(ev.IngestionTime),
		})
	}
	if progress != nil {
		progress(elapsed.Seconds(), total.Seconds(), tailProgressMessage(u.SessionResults, sampled, r.EventsReceived))
	}
	return len(r.Events) >= maxEvents
}

// tailProgressMessage summarizes one update: how many new lines, and the
// first few of them, clipped.
func tailProgressMessage(events []types.LiveTailSessionLogEvent, sampled bool, total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Live Tail: %d new events", len(events))
	if sampled {
		b.WriteString(" (sampled)")
	}
	fmt.Fprintf(&b, ", %d so far", total)
	for i, ev := range events {
		if i == tailSampleLines {
			fmt.Fprintf(&b, "\n… and %d more", len(events)-i)
			break
		}
		msg := strings.TrimSpace(aws.ToString(ev.Message))
		if len(msg) > tailSampleBytes {
			msg = strings.ToValidUTF8(msg[:tailSampleBytes], "") + "…"
		}
		fmt.Fprintf(&b, "\n[%s] %s", aws.ToString(ev.LogStreamName), msg)
	}
	return b.String()
}

func parseTailArgs(e *toolkit.Env, a toolkit.Args) (ta tailArgs, err error) {
	groups, err := a.StrList("log_group_identifiers")
	if err != nil {
		return ta, err
	}
	if len(groups) == 0 || len(groups) > tailMaxLogGroups {
		return ta, toolkit.Errorf("log_group_identifiers must name 1 to %d log groups, got %d", tailMaxLogGroups, len(groups))
	}
	regions := map[string]bool{}
	for _, g := range groups {
		g = trimLogGroupARN(strings.TrimSpace(g))
		if m := logGroupARNRe.FindStringSubmatch(g); m != nil {
			ta.in.LogGroupIdentifiers = append(ta.in.LogGroupIdentifiers, g)
			regions[m[1]] = true
			ta.arnRegion = append(ta.arnRegion, m[1])
		} else if g != "" {
			ta.names = append(ta.names, g)
		}
	}
	if ta.in.LogStreamNames, err = a.StrList("log_stream_names"); err != nil {
		return ta, err
	}
	if ta.in.LogStreamNamePrefixes, err = a.StrList("log_stream_name_prefixes"); err != nil {
		return ta, err
	}
	if len(ta.in.LogStreamNames) > 0 && len(ta.in.LogStreamNamePrefixes) > 0 {
		return ta, toolkit.Errorf("give log_stream_names or log_stream_name_prefixes, not both")
	}
	if (len(ta.in.LogStreamNames) > 0 || len(ta.in.LogStreamNamePrefixes) > 0) && len(groups) != 1 {
		return ta, toolkit.Errorf("log_stream_names and log_stream_name_prefixes need exactly one log group in log_group_identifiers")
	}
	if p, err := a.Str("filter_pattern", ""); err != nil {
		return ta, err
	} else if strings.TrimSpace(p) != "" {
		ta.in.LogEventFilterPattern = aws.String(p)
	}
	secs, err := a.Int("duration_seconds", int(tailDefaultDuration/time.Second))
	if err != nil {
		return ta, err
	}
	if secs < 1 {
		return ta, toolkit.Errorf("duration_seconds must be at least 1, got %d", secs)
	}
	ta.duration = time.Duration(secs) * time.Second
	if e.MaxQueryTimeout > 0 && ta.duration > e.MaxQueryTimeout {
		ta.duration = e.MaxQueryTimeout
	}
	if ta.maxEvents, err = a.Int("max_events", tailDefaultMaxEvents); err != nil {
		return ta, err
	}
	if ta.maxEvents < 1 || ta.maxEvents > tailMaxEvents {
		return ta, toolkit.Errorf("max_events must be between 1 and %d, got %d", tailMaxEvents, ta.maxEvents)
	}
	ta.region, _ = a.Str("region", "")
	if ta.region == "" && len(regions) == 1 {
		ta.region = ta.arnRegion[0]
	}
	ta.profile, _ = a.Str("profile_name", "")
	return ta, nil
}

// logGroupARNOf finds the ARN of the caller's log group of that name.
func logGroupARNOf(ctx context.Context, cl *cloudwatchlogs.Client, name string) (string, error) {
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name), Limit: aws.Int32(50)}
	for {
		page, err := cl.DescribeLogGroups(ctx, in)
		if err != nil {
			return "", err
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				if arn := aws.ToString(g.LogGroupArn); arn != "" {
					return arn, nil
				}
				return trimLogGroupARN(aws.ToString(g.Arn)), nil
			}
		}
		if page.NextToken == nil || aws.ToString(page.NextToken) == aws.ToString(in.NextToken) {
			return "", toolkit.Errorf("no log group named %q in this region; list them with describe_log_groups, or pass its ARN", name)
		}
		in.NextToken = page.NextToken
	}
}
