package promql

import (
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// promqlTime reads a PromQL time argument: RFC 3339 / ISO 8601 (no zone =
// UTC, unlike awslabs which forwards the text and lets the zone fall where
// it may) or unix seconds, as a JSON number or a string. It returns the
// value normalised to unix seconds for the wire.
func promqlTime(a toolkit.Args, name string) (string, time.Time, bool, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return "", time.Time{}, false, nil
	}
	var t time.Time
	if f, ok := promqlNumber(v); ok {
		v = f
	}
	switch x := v.(type) {
	case float64:
		tt, err := unixSeconds(x, name)
		if err != nil {
			return "", time.Time{}, false, err
		}
		t = tt
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return "", time.Time{}, false, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			tt, err := unixSeconds(f, name)
			if err != nil {
				return "", time.Time{}, false, err
			}
			t = tt
		} else {
			tt, err := toolkit.ParseTime(s)
			if err != nil {
				return "", time.Time{}, false, toolkit.Errorf("%s must be an RFC 3339 time (e.g. 2025-01-31T12:00:00Z; no zone means UTC) or unix seconds, got %q", name, s)
			}
			t = tt
		}
	default:
		return "", time.Time{}, false, toolkit.Errorf("%s must be an RFC 3339 time or unix seconds", name)
	}
	return formatUnixSeconds(t), t, true, nil
}

func unixSeconds(f float64, name string) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, toolkit.Errorf("%s is not a usable unix timestamp in seconds", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
}

// formatUnixSeconds writes t as unix seconds with millisecond precision,
// which every Prometheus-compatible API parses.
func formatUnixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', -1, 64)
}

var promqlDurationRE = regexp.MustCompile(`^(?:\d+(?:ms|s|m|h|d|w|y))+$`)

// promqlStep validates a range query step: a Prometheus duration ("60s",
// "5m", "1h30m") or a positive number of seconds.
func promqlStep(a toolkit.Args, name string) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return "", toolkit.Errorf("%s is required: the resolution of the range query, e.g. \"60s\", \"5m\" or \"1h\"", name)
	}
	var s string
	if f, ok := promqlNumber(v); ok {
		v = f
	}
	switch x := v.(type) {
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s = strings.TrimSpace(x)
	default:
		return "", toolkit.Errorf("%s must be a duration such as \"5m\" or a number of seconds", name)
	}
	if s == "" {
		return "", toolkit.Errorf("%s is required: the resolution of the range query, e.g. \"60s\", \"5m\" or \"1h\"", name)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if !(f > 0) || math.IsInf(f, 0) {
			return "", toolkit.Errorf("%s must be positive, got %q", name, s)
		}
		return s, nil
	}
	if !promqlDurationRE.MatchString(s) || !strings.ContainsAny(s, "123456789") {
		return "", toolkit.Errorf("%s must be a positive Prometheus duration (e.g. \"60s\", \"5m\", \"1h30m\") or a number of seconds, got %q", name, s)
	}
	return s, nil
}

// promqlMatchers reads the match selectors. Each becomes its own match[]
// parameter: awslabs comma-joined several into one, which the API reads as a
// single (invalid) selector.
func promqlMatchers(a toolkit.Args, name string, required bool) ([]string, error) {
	list, err := a.StrList(name)
	if err != nil {
		return nil, err
	}
	out := list[:0:0]
	for _, m := range list {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	if required && len(out) == 0 {
		return nil, toolkit.Errorf(`%s is required: give at least one series selector, e.g. ["{\"@instrumentation.@name\"=\"cloudwatch.aws/ec2\"}"]`, name)
	}
	return out, nil
}

// promqlLabelPath is the API path for one label's values. The name is
// URL-escaped as one path segment: OTLP label names carry dots and @ and may
// carry anything else, and awslabs pasted them in raw.
func promqlLabelPath(name string) (string, error) {
	if name == "." || name == ".." {
		return "", toolkit.Errorf("label_name %q is not a label name", name)
	}
	return "label/" + url.PathEscape(name) + "/values", nil
}

// promqlRange adds optional start/end and checks their order.
func promqlRange(a toolkit.Args, params url.Values, required bool) error {
	start, st, hasStart, err := promqlTime(a, "start")
	if err != nil {
		return err
	}
	end, et, hasEnd, err := promqlTime(a, "end")
	if err != nil {
		return err
	}
	if required && !hasStart {
		return toolkit.Errorf("start is required (RFC 3339, e.g. 2025-01-31T12:00:00Z, or unix seconds)")
	}
	if required && !hasEnd {
		return toolkit.Errorf("end is required (RFC 3339, e.g. 2025-01-31T13:00:00Z, or unix seconds)")
	}
	if hasStart && hasEnd && et.Before(st) {
		return toolkit.Errorf("end (%s) is before start (%s)", et.Format(time.RFC3339), st.Format(time.RFC3339))
	}
	if hasStart {
		params.Set("start", start)
	}
	if hasEnd {
		params.Set("end", end)
	}
	return nil
}

// promqlNumber reads a JSON number argument of any Go numeric type.
func promqlNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
