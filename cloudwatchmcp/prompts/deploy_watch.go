package prompts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxWatch bounds a deploy watch: the agent keeps Live Tail sessions open
// for this long.
const maxWatch = 2 * time.Hour

var deployWatch = Prompt{
	Name:  "deploy_watch",
	Title: "Watch a deploy for new errors",
	Description: "Is this deploy healthy? Takes an error baseline, follows the log groups with Live Tail and an error filter " +
		"for the duration of the rollout, then summarizes new errors against the baseline with a verdict.",
	Arguments: []Argument{
		{Name: "log_groups", Description: "Comma-separated log groups of the service being deployed (completes to your log groups).", Required: true, Source: LogGroupList},
		{Name: "duration", Description: "How long to watch: 5m, 15m, 30m, 1h (at most 2h). Default 10m.", Suggest: []string{"5m", "10m", "15m", "30m", "1h"}},
		{Name: "metric_namespace", Description: "Optional metric namespace of the service, checked before and after (completes to your namespaces).", Source: Namespace},
	},
	Tools: []ToolRef{
		{"logs", "describe_log_groups"}, {"logs", "execute_log_insights_query"}, {"logs", "tail_log_group"},
		{"metrics", "get_metric_data"}, {"alarms", "get_active_alarms"},
	},
	render: renderDeployWatch,
}

func renderDeployWatch(now time.Time, args map[string]string) (string, error) {
	groups, err := logGroups("log_groups", args["log_groups"])
	if err != nil {
		return "", err
	}
	d, err := span("duration", args["duration"], "10m", maxWatch)
	if err != nil {
		return "", err
	}
	gs := quoteList(groups)
	var b strings.Builder
	fmt.Fprintf(&b, "A deploy is rolling out to the service logging to %s. Watch it for %s, from %s to about %s, and tell me whether it is healthy. "+
		"Use only the tools named below, in this order; they are read-only and run with my own AWS permissions.\n\n", gs, d, iso(now), iso(now.Add(d)))
	fmt.Fprintf(&b, "1. describe_log_groups: confirm each of %s exists (by log_group_name_prefix).\n", gs)
	fmt.Fprintf(&b, "2. Baseline: execute_log_insights_query on log_group_names %s, start_time %s, end_time %s, with\n"+
		"   filter @message like /(?i)(error|exception|fatal|panic|timeout)/ | stats count(*) as n by @message | sort n desc | limit 30\n"+
		"   and once more with stats count(*) as errors by bin(5m): the errors that were already there before the deploy, and their usual rate.\n", gs, iso(now.Add(-time.Hour)), iso(now))
	fmt.Fprintf(&b, "3. tail_log_group on %s with the filter pattern \"?ERROR ?Error ?error ?Exception ?FATAL ?panic\" and the longest duration_seconds the server allows; "+
		"call it again as soon as it returns until %s have passed. After each call, say in one line how many error lines it saw and which messages are new compared with the baseline.\n", gs, d)
	if ns := args["metric_namespace"]; ns != "" {
		q := strconv.Quote(ns)
		fmt.Fprintf(&b, "4. get_metric_data for the namespace %s: the service's error and latency metrics (list them with a Metrics Insights query over SCHEMA(%s) if you do not know them), "+
			"from one hour before the deploy to now, so the deploy window can be compared with the hour before.\n", q, q)
	} else {
		b.WriteString("4. If the log lines name the service's metrics (a load balancer, a Lambda function, an ECS service), get_metric_data for its error and latency metrics from one hour before the deploy to now.\n")
	}
	b.WriteString("5. get_active_alarms at the end: did anything go into ALARM during the watch?\n\n")
	b.WriteString("Report: a verdict (healthy, watch closely, or roll back) in the first line, then the error rate before and during the deploy, every error message that is new since the deploy with a count and a sample line, " +
		"the metrics and alarms that moved, and what you would check next. Say what you could not determine.")
	return b.String(), nil
}
