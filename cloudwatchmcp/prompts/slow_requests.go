package prompts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var slowRequests = Prompt{
	Name:  "slow_requests",
	Title: "Find slow requests by endpoint",
	Description: "Which endpoints are slow? Computes latency percentiles (p50, p90, p99) by endpoint with Logs Insights, " +
		"their trend over the window, and the slowest requests themselves.",
	Arguments: []Argument{
		{Name: "log_group", Description: "The log group of the service's access or request logs (completes to your log groups).", Required: true, Source: LogGroup},
		{Name: "latency_field", Description: "The field holding each request's latency, e.g. duration_ms, latency or @duration.", Required: true,
			Suggest: []string{"duration", "duration_ms", "latency", "latency_ms", "responseTime", "response_time", "request_time", "elapsed_ms", "@duration"}},
		{Name: "endpoint_field", Description: "The field naming the endpoint (route or path). Default path.", Suggest: []string{"path", "route", "endpoint", "uri", "url", "resourcePath", "request.path"}},
		{Name: "time_range", Description: "How far back to look: a duration (15m, 1h, 24h, 7d) or an ISO 8601 start time. Default 1h.", Suggest: []string{"15m", "1h", "3h", "6h", "24h", "7d"}},
	},
	Tools: []ToolRef{
		{"logs", "describe_log_groups"}, {"logs", "execute_log_insights_query"},
		{"logs", "get_log_record"}, {"logs", "recommend_indexes_loggroup"},
	},
	render: renderSlowRequests,
}

func renderSlowRequests(now time.Time, args map[string]string) (string, error) {
	groups, err := logGroups("log_group", args["log_group"])
	if err != nil {
		return "", err
	}
	if len(groups) != 1 {
		return "", fmt.Errorf("log_group names one log group")
	}
	lat, err := field("latency_field", args["latency_field"])
	if err != nil {
		return "", err
	}
	ep := args["endpoint_field"]
	if ep == "" {
		ep = "path"
	}
	if ep, err = field("endpoint_field", ep); err != nil {
		return "", err
	}
	start, end, err := window(args["time_range"], "1h", now)
	if err != nil {
		return "", err
	}
	g := strconv.Quote(groups[0])
	var b strings.Builder
	fmt.Fprintf(&b, "Find which endpoints of the service logging to %s are slow, using %s as the latency and %s as the endpoint. "+
		"The window is %s to %s. Use only the tools named below, in this order; they are read-only and run with my own AWS permissions.\n\n", g, lat, ep, iso(start), iso(end))
	fmt.Fprintf(&b, "1. describe_log_groups with log_group_name_prefix %s: confirm the group exists; its saved queries may already compute latency.\n", g)
	fmt.Fprintf(&b, "2. execute_log_insights_query on log_group_names [%s], start_time %s, end_time %s, with\n"+
		"   filter ispresent(%[4]s) | stats count(*) as requests, pct(%[4]s, 50) as p50, pct(%[4]s, 90) as p90, pct(%[4]s, 99) as p99, max(%[4]s) as worst by %[5]s | sort p99 desc | limit 25\n"+
		"   If it returns no rows, the field names are wrong: run fields @message | limit 5 once, look at the records, and ask me which fields to use. "+
		"Note the unit of %[4]s (milliseconds, seconds or microseconds) from the values.\n", g, iso(start), iso(end), lat, ep)
	fmt.Fprintf(&b, "3. For the three endpoints with the highest p99 that have at least 20 requests, the trend: the same query with filter %[2]s = \"<endpoint>\" and stats pct(%[1]s, 99) as p99, count(*) as requests by bin(5m). "+
		"Is it slow all the time, since a moment (a deploy?), or only under load?\n", lat, ep)
	fmt.Fprintf(&b, "4. The slowest requests: filter ispresent(%[1]s) | sort %[1]s desc | fields @timestamp, %[2]s, %[1]s, @message | limit 10. "+
		"When a message is cut off, get_log_record with its @ptr to read the whole request (downstream calls, status, request id).\n", lat, ep)
	fmt.Fprintf(&b, "5. If the queries scanned many gigabytes, recommend_indexes_loggroup with log_group_identifier %s: a field index on %s would make the next investigation cheaper.\n\n", g, ep)
	b.WriteString("Report: a table of the slowest endpoints (requests, p50, p90, p99, worst, with the unit), how their latency moved over the window, " +
		"what the slowest requests have in common, and what to look at next. Say what you could not determine.")
	return b.String(), nil
}
