package prompts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// Time ranges and field names as prompts take them.

// maxWindow bounds a look-back: Logs Insights scans cost by the byte.
const maxWindow = 30 * 24 * time.Hour

var relative = regexp.MustCompile(`^([0-9]{1,5})\s*(m|min|h|d)$`)

// parseSpan reads a duration such as 15m, 1h or 2d.
func parseSpan(s string) (time.Duration, bool) {
	m := relative.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"m": time.Minute, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, n > 0
}

// window turns a time range (a duration back from now, or an ISO 8601
// start time) into [start, now].
func window(arg, def string, now time.Time) (start, end time.Time, err error) {
	if arg == "" {
		arg = def
	}
	if d, ok := parseSpan(arg); ok {
		if d > maxWindow {
			return start, end, fmt.Errorf("time_range %q is longer than 30 days", arg)
		}
		return now.Add(-d), now, nil
	}
	t, perr := toolkit.ParseTime(arg)
	if perr != nil {
		return start, end, fmt.Errorf("time_range %q is neither a duration back from now (15m, 1h, 24h, 7d) nor an ISO 8601 start time", arg)
	}
	if !t.Before(now) || now.Sub(t) > maxWindow {
		return start, end, fmt.Errorf("time_range start %s must be in the last 30 days", t.Format(time.RFC3339))
	}
	return t, now, nil
}

// span reads a positive duration argument (deploy_watch's duration).
func span(name, arg, def string, max time.Duration) (time.Duration, error) {
	if arg == "" {
		arg = def
	}
	d, ok := parseSpan(arg)
	if !ok {
		return 0, fmt.Errorf("%s %q is not a duration such as 5m, 30m or 1h", name, arg)
	}
	if d > max {
		return 0, fmt.Errorf("%s %q is longer than %s", name, arg, max)
	}
	return d, nil
}

// fieldName accepts a Logs Insights field name (a JSON path such as
// http.latency_ms, or a system field such as @duration).
var fieldName = regexp.MustCompile(`^@?[A-Za-z_][A-Za-z0-9_.\-]{0,127}$`)

func field(name, v string) (string, error) {
	if !fieldName.MatchString(v) {
		return "", fmt.Errorf("%s %q is not a Logs Insights field name (letters, digits, _ . -, optionally starting with @)", name, v)
	}
	if strings.Contains(v, "-") {
		return "`" + v + "`", nil
	}
	return v, nil
}

// logGroupName accepts a log group name or ARN as AWS does.
var logGroupName = regexp.MustCompile(`^(arn:[a-z-]+:logs:[a-z0-9-]+:[0-9]{12}:log-group:)?[\.\-_/#A-Za-z0-9]{1,512}(:\*)?$`)

func logGroups(name, v string) ([]string, error) {
	var out []string
	for _, g := range strings.Split(v, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !logGroupName.MatchString(g) {
			return nil, fmt.Errorf("%s: %q is not a log group name or ARN", name, g)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no log group", name)
	}
	if len(out) > 50 {
		return nil, fmt.Errorf("%s names %d log groups; at most 50", name, len(out))
	}
	return out, nil
}

func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// quoteList renders names as a JSON-ish list for the plan.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
