package prompts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var logErrorSpike = Prompt{
	Name:  "log_error_spike",
	Title: "Explain an error spike in a log group",
	Description: "What is this log group suddenly complaining about? Lists its anomalies and patterns, " +
		"the top error messages and when they started, then takes a short Live Tail sample to see whether it is still happening.",
	Arguments: []Argument{
		{Name: "log_group", Description: "The log group (name or ARN; completes to your log groups).", Required: true, Source: LogGroup},
		{Name: "time_range", Description: "How far back to look: a duration (15m, 1h, 24h, 7d) or an ISO 8601 start time. Default 1h.", Suggest: []string{"15m", "1h", "3h", "6h", "24h", "7d"}},
	},
	Tools: []ToolRef{
		{"logs", "describe_log_groups"}, {"logs", "list_log_anomalies"}, {"logs", "analyze_log_group"},
		{"logs", "execute_log_insights_query"}, {"logs", "get_log_record"}, {"logs", "tail_log_group"},
	},
	render: renderLogErrorSpike,
}

func renderLogErrorSpike(now time.Time, args map[string]string) (string, error) {
	groups, err := logGroups("log_group", args["log_group"])
	if err != nil {
		return "", err
	}
	if len(groups) != 1 {
		return "", fmt.Errorf("log_group names one log group; use deploy_watch for several")
	}
	start, end, err := window(args["time_range"], "1h", now)
	if err != nil {
		return "", err
	}
	g := strconv.Quote(groups[0])
	var b strings.Builder
	fmt.Fprintf(&b, "The log group %s shows a spike of errors. Find out what they are, when they started and whether they are still happening. "+
		"The window is %s to %s. Use only the tools named below, in this order; they are read-only and run with my own AWS permissions.\n\n", g, iso(start), iso(end))
	fmt.Fprintf(&b, "1. describe_log_groups with log_group_name_prefix %s: confirm the group exists and take its ARN (logGroupArn) and the saved queries that apply to it.\n", g)
	fmt.Fprintf(&b, "2. list_log_anomalies for the log group over the window: which anomalies are active, their priority, pattern and first/last seen. Anomalies first seen inside the window are the likely spike.\n")
	fmt.Fprintf(&b, "3. analyze_log_group with log_group_arn (from step 1), start_time %s and end_time %s: the recurring message patterns and how their counts changed.\n", iso(start), iso(end))
	fmt.Fprintf(&b, "4. execute_log_insights_query on log_group_names [%s], start_time %s, end_time %s, with\n"+
		"   filter @message like /(?i)(error|exception|fatal|panic|timeout)/ | stats count(*) as errors by bin(5m) | limit 300\n"+
		"   to find when the spike started and whether it is over, then\n"+
		"   filter @message like /(?i)(error|exception|fatal|panic|timeout)/ | stats count(*) as n, earliest(@timestamp) as first, latest(@timestamp) as last by @message | sort n desc | limit 20\n"+
		"   for the top error messages (messages that differ only in IDs count as one: group them in your summary).\n", g, iso(start), iso(end))
	b.WriteString("5. When a top message is cut off, get_log_record with its @ptr to read the whole record (stack trace, request id).\n")
	fmt.Fprintf(&b, "6. tail_log_group on [%s] for 30 seconds with the filter pattern \"?ERROR ?Error ?error ?Exception ?FATAL ?panic\": is the spike still going, and are the messages the same?\n\n", g)
	b.WriteString("Report: when the spike started (and ended, if it did), the top three error messages with counts and a sample line each, the anomalies that match, " +
		"whether it is still happening according to the Live Tail sample, and a likely cause with the evidence. Say what you could not determine.")
	return b.String(), nil
}
