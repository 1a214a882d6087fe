package prompts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var investigateAlarm = Prompt{
	Name:  "investigate_alarm",
	Title: "Investigate a CloudWatch alarm",
	Description: "Why did this alarm fire? Reads the alarm's history, its metric around the transition, " +
		"and the errors of the related log groups in that window, then reports a timeline and a likely cause.",
	Arguments: []Argument{
		{Name: "alarm_name", Description: "The alarm to investigate (completes to your alarms).", Required: true, Source: Alarm},
		{Name: "log_groups", Description: "Optional comma-separated log groups to search for errors (completes to your log groups); found from the alarm's dimensions when omitted.", Source: LogGroupList},
	},
	Tools: []ToolRef{
		{"alarms", "get_alarm_history"}, {"alarms", "get_active_alarms"},
		{"metrics", "get_metric_data"}, {"metrics", "analyze_metric"},
		{"logs", "describe_log_groups"}, {"logs", "execute_log_insights_query"},
		{"logs", "filter_log_events"}, {"logs", "get_log_record"},
	},
	render: renderInvestigateAlarm,
}

func renderInvestigateAlarm(now time.Time, args map[string]string) (string, error) {
	alarm := strconv.Quote(args["alarm_name"])
	var groups []string
	if v := args["log_groups"]; v != "" {
		var err error
		if groups, err = logGroups("log_groups", v); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Investigate why the CloudWatch alarm %s fired. It is now %s. Use only the tools named below, in this order; they are read-only and run with my own AWS permissions.\n\n", alarm, iso(now))
	fmt.Fprintf(&b, "1. get_alarm_history with alarm_name %s, history_item_type \"StateUpdate\", start_time %s and end_time %s. "+
		"Find the most recent transition into ALARM: call its time T and note the state reason (the datapoints that breached, the threshold). "+
		"If the alarm is composite, set include_component_alarms true and follow the component that fired. "+
		"Use the time range suggestions the tool returns. If it never went to ALARM in that week, say so and stop.\n", alarm, iso(now.Add(-7*24*time.Hour)), iso(now))
	b.WriteString("2. get_active_alarms: is the alarm still in ALARM, and which other alarms fired within 15 minutes of T? Alarms that fired together point to a shared cause.\n")
	b.WriteString("3. get_metric_data for the alarm's metric (its namespace, metric_name, dimensions and statistic from the history's configuration) from T minus 1 hour to T plus 30 minutes (or now). " +
		"Describe the shape: a step, a spike or a slow climb, when it crossed the threshold, whether it recovered. " +
		"Then analyze_metric on the same metric: if the value at T is within its usual daily or weekly pattern, the threshold may be too tight rather than something being broken.\n")
	if len(groups) > 0 {
		fmt.Fprintf(&b, "4. The related log groups are %s. Confirm they exist with describe_log_groups.\n", quoteList(groups))
	} else {
		b.WriteString("4. Find the related log groups with describe_log_groups, using a log_group_name_prefix derived from the alarm's dimensions " +
			"(FunctionName → /aws/lambda/<name>, ServiceName or ClusterName → /ecs/<name> or /aws/ecs/<name>, ApiName → API-Gateway-Execution-Logs, DBInstanceIdentifier → /aws/rds/instance/<id>). " +
			"Keep at most 10 groups; ask me if nothing matches.\n")
	}
	b.WriteString("5. execute_log_insights_query over those log groups from T minus 15 minutes to T plus 15 minutes with\n" +
		"   fields @timestamp, @message, @logStream | filter @message like /(?i)(error|exception|fatal|timeout|5\\d\\d)/ | stats count(*) as errors by bin(1m) | limit 100\n" +
		"   to see when errors started relative to T, then\n" +
		"   filter @message like /(?i)(error|exception|fatal|timeout)/ | stats count(*) as n, earliest(@timestamp) as first by @message | sort n desc | limit 20\n" +
		"   for the top error messages. A message that first appears just before T is the prime suspect.\n")
	b.WriteString("6. For the top one or two messages, filter_log_events on the same groups and window with a filter pattern of a distinctive word of the message and a limit of 20, to read the surrounding lines; " +
		"when a message is truncated, get_log_record with its @ptr from the Insights results.\n\n")
	b.WriteString("Report: a timeline (first error, threshold crossed, alarm state changes, recovery), the most likely cause with the log lines and datapoints that show it, " +
		"what else fired with it, and what to check or change next. Say what you could not determine. Do not guess AWS resource names: use what the tools returned.")
	return b.String(), nil
}
