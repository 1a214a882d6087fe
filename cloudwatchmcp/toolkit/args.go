package toolkit

import (
	"cmp"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Args wraps a call's arguments. Agents written against FastMCP send
// lists and objects either as JSON values or as JSON-encoded strings
// ("[\"a\"]"); every accessor accepts both.
type Args map[string]any

func ArgsOf(req mcp.CallToolRequest) Args {
	if m := req.GetArguments(); m != nil {
		return Args(m)
	}
	return Args{}
}

func (a Args) Has(name string) bool {
	v, ok := a[name]
	return ok && v != nil
}

// str returns a string argument, def when absent or null.
func (a Args) Str(name, def string) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", Errorf("%s must be a string", name)
	}
	return s, nil
}

// requiredStr returns a non-empty string argument.
func (a Args) RequiredStr(name string) (string, error) {
	s, err := a.Str(name, "")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", Errorf("%s is required", name)
	}
	return s, nil
}

// integer returns an integer argument (numbers or numeric strings).
func (a Args) Int(name string, def int) (int, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch n := v.(type) {
	case float64:
		return exactInt(name, n)
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, Errorf("%s must be an integer", name)
		}
		return int(i), nil
	case string:
		// The whole string must be the number: fmt.Sscan would read "12abc"
		// as 12 and "0x10" as 16.
		s := strings.TrimSpace(n)
		if i, err := strconv.Atoi(s); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return exactInt(name, f)
		}
		return 0, Errorf("%s must be an integer, got %q", name, n)
	}
	return 0, Errorf("%s must be an integer", name)
}

// number returns a float argument.
func (a Args) Number(name string, def float64) (float64, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, Errorf("%s must be a number", name)
		}
		return f, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, Errorf("%s must be a number, got %q", name, n)
		}
		return f, nil
	}
	return 0, Errorf("%s must be a number", name)
}

// exactInt converts a JSON number that must be an integer. Beyond 2^53 a
// float64 no longer holds every integer, and int(f) of a huge value is
// platform-defined (1e300 became math.MinInt64, slipping past "> max" checks).
func exactInt(name string, f float64) (int, error) {
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, Errorf("%s must be an integer", name)
	}
	return int(f), nil
}

// boolean returns a boolean argument ("true"/"false" strings accepted).
func (a Args) Bool(name string, def bool) (bool, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return def, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, Errorf("%s must be true or false", name)
}

// strList returns a list of strings; a JSON-encoded list in a string and a
// single plain string are accepted too.
func (a Args) StrList(name string) ([]string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return nil, nil
	}
	var out []string
	if err := a.Object(name, &out); err != nil {
		if s, ok := v.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "[") {
			return []string{s}, nil
		}
		return nil, Errorf("%s must be a list of strings", name)
	}
	return out, nil
}

// object decodes an object or list argument into dst through JSON, accepting
// a JSON-encoded string as well. It reports false (no error) when absent.
func (a Args) Object(name string, dst any) error {
	v, ok := a[name]
	if !ok || v == nil {
		return nil
	}
	var raw []byte
	if s, ok := v.(string); ok {
		raw = []byte(s)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return Errorf("%s: %v", name, err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return Errorf("%s has the wrong shape: %v", name, err)
	}
	return nil
}

// timeLayouts are the accepted time formats. Times with no zone are UTC
// everywhere (awslabs mixes local time and UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime reads RFC 3339 / ISO 8601 with Z or an offset; no zone = UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, Errorf("%q is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)", s)
}

// timeArg returns a time argument and whether it was given.
func (a Args) Time(name string) (time.Time, bool, error) {
	s, err := a.Str(name, "")
	if err != nil || s == "" {
		return time.Time{}, false, err
	}
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, false, Errorf("%s: %v", name, err)
	}
	return t, true, nil
}

// region validates a region argument, falling back to the handler's
// default. Only regions of the SDK's partitions pass (regions.go): a
// made-up one is a tool error naming it, never a client, an SDK panic or a
// request to a host that does not exist.
func (e *Env) Region(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" {
		r = e.DefaultRegion
	}
	if r == "" {
		r = cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	}
	if !IsKnownRegion(r) {
		return "", &ToolError{msg: UnknownRegionMessage(r)}
	}
	return r, nil
}
