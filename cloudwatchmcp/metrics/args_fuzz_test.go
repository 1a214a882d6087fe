package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// Fuzz targets for tool argument decoding, here because they decode into
// this group's argument types (toolkit's decoding, the metrics' dimensions
// and Metrics Insights queries). CI runs their seeds; the long runs are in
// CONTRIBUTING.md, e.g.
//
//	go test ./cloudwatchmcp/metrics/ -run '^$' -fuzz '^FuzzToolArgs$' -fuzztime 10m

// FuzzToolArgs decodes a fuzzed JSON text both as a JSON value and as a
// JSON-encoded string (how FastMCP agents send lists). Both forms must
// decode to the same thing or fail with a tool error; numbers must mean
// exactly what they say.
func FuzzToolArgs(f *testing.F) {
	for _, s := range []string{
		`["a","b"]`, `[]`, `["x"]`, `"plain"`, `plain`, `[1,2]`, `[null]`, `{"a":1}`, `null`,
		`[{"name":"InstanceId","value":"i-0123"}]`, `[{"name":1}]`, `{"name":"x","value":"y"}`,
		`42`, `42.0`, `42.5`, `-7`, `1e300`, `"12"`, `" 12 "`, `"12abc"`, `"0x10"`, `"1_000"`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775809`, `"NaN"`, `"Inf"`, `"-inf"`,
		`true`, `"TRUE"`, `"yes"`, `[`, `["a",`, ` ["a"] `, `"[\"a\"]"`, `"\u0000"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var decoded any
		isJSON := json.Unmarshal([]byte(raw), &decoded) == nil
		forms := []any{raw}
		if isJSON {
			forms = append(forms, decoded)
		}
		var lists [][]string
		var listErrs []bool
		for _, v := range forms {
			a := toolkit.Args{"x": v}
			l, err := a.StrList("x")
			if err != nil {
				mcptest.WantToolErr(t, "strList", err)
			}
			lists = append(lists, l)
			listErrs = append(listErrs, err != nil)

			var dims []metricDimension
			if err := a.Object("x", &dims); err != nil {
				mcptest.WantToolErr(t, "object", err)
			}
			if n, err := a.Int("x", 0); err != nil {
				mcptest.WantToolErr(t, "integer", err)
			} else {
				checkInteger(t, v, n)
			}
			if x, err := a.Number("x", 0); err != nil {
				mcptest.WantToolErr(t, "number", err)
			} else if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("number(%#v) = %v", v, x)
			}
			if _, err := a.Bool("x", false); err != nil {
				mcptest.WantToolErr(t, "boolean", err)
			}
		}
		// A JSON list of strings means the same sent as a value or as text.
		if arr, ok := decoded.([]any); isJSON && ok {
			want := make([]string, 0, len(arr))
			allStrings := true
			for _, e := range arr {
				s, ok := e.(string)
				allStrings = allStrings && ok
				want = append(want, s)
			}
			if allStrings {
				for i := range lists {
					if listErrs[i] || !slices.Equal(lists[i], want) {
						t.Fatalf("strList form %d of %q = %q (err %v), want %q", i, raw, lists[i], listErrs[i], want)
					}
				}
			}
		}
		// A plain string that is not a JSON list is a one-element list.
		if !strings.HasPrefix(strings.TrimSpace(raw), "[") && !isJSON {
			if listErrs[0] || !slices.Equal(lists[0], []string{raw}) {
				t.Fatalf("strList(%q) = %q", raw, lists[0])
			}
		}
		if len(lists) == 2 && !listErrs[0] && !listErrs[1] && utf8.ValidString(raw) {
			if _, isStr := decoded.(string); !isStr && !reflect.DeepEqual(lists[0], lists[1]) {
				t.Fatalf("strList disagrees between value and text form of %q: %q vs %q", raw, lists[1], lists[0])
			}
		}
	})
}

// checkInteger asserts that an accepted integer is exactly the value given.
func checkInteger(t *testing.T, v any, n int) {
	t.Helper()
	switch x := v.(type) {
	case float64:
		if float64(n) != x {
			t.Fatalf("integer(%v) = %d", x, n)
		}
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || f != float64(n) {
			t.Fatalf("integer(%q) = %d, but it is not that integer", x, n)
		}
	}
}

// FuzzInsightsQuery builds Metrics Insights queries from fuzzed names and
// values and parses them back: every identifier and label value must come
// back exactly, and the query must have exactly the intended clauses, so no
// input can inject SQL. The toolArgs path (JSON-in-string dimensions and
// schema keys) must build the same query.
func FuzzInsightsQuery(f *testing.F) {
	f.Add("AWS/EC2", "CPUUtilization", "InstanceId", "", "InstanceId", "i-0123", "InstanceId", "AVG", "DESC", "MAX", 10)
	f.Add("AWS/Lambda", "Duration", "FunctionName", "Resource", "FunctionName", "f", "", "Average", "", "", 0)
	f.Add(`a"b`, `c'd`, `e\f`, `\`, `"`, `'`, `e\f`, "sum", "asc", "sum", 500)
	f.Add(`x") FROM SCHEMA("y`, `m' OR '1'='1`, `k`, `k2`, `d`, `v' OR 1=1 --`, ``, "COUNT", "", "", 1)
	f.Add("ns", "m", "", "", "", "", "", "p99", "", "", -1)
	f.Add("ns", "m", "k", "", "", "", "other", "MIN", "up", "AVG", 501)
	f.Add("名前空間", "メトリクス", "キー", "", "キー", "値\n改行", "", "Maximum", "", "", 3)
	f.Fuzz(func(t *testing.T, ns, metric, k1, k2, dn, dv, groupBy, stat, sortOrder, orderBy string, limit int) {
		var keys []string
		for _, k := range []string{k1, k2} {
			if k != "" {
				keys = append(keys, k)
			}
		}
		var dims []metricDimension
		if dn != "" {
			dims = []metricDimension{{Name: dn, Value: dv}}
		}
		p := insightsParams{namespace: ns, metric: metric, dims: dims, statistic: stat, groupBy: groupBy,
			schemaKeys: keys, limit: limit, sortOrder: sortOrder, orderBy: orderBy}
		q, err := buildInsightsQuery(p)
		if err != nil {
			mcptest.WantToolErr(t, "buildInsightsQuery", err)
			return
		}
		got, err := lexInsights(q)
		if err != nil {
			t.Fatalf("query %q does not lex: %v", q, err)
		}
		if want := expectedInsights(p); !reflect.DeepEqual(got, want) {
			t.Fatalf("query %q\nparses as %q\nwant      %q", q, got, want)
		}

		// Same query through the tool arguments, lists as JSON text.
		for _, s := range []string{ns, metric, k1, k2, dn, dv, groupBy} {
			if !utf8.ValidString(s) {
				return // JSON would coerce it; the comparison would be meaningless
			}
		}
		if strings.TrimSpace(dn) == "" && dn != "" {
			return
		}
		dimsJSON, _ := json.Marshal(dims)
		keysJSON, _ := json.Marshal(keys)
		a := toolkit.Args{"namespace": ns, "metric_name": metric, "dimensions": string(dimsJSON),
			"schema_dimension_keys": string(keysJSON), "statistic": stat, "group_by_dimension": groupBy,
			"sort_order": sortOrder, "order_by_statistic": orderBy, "limit": float64(limit)}
		qs, err := buildSingleQuery(a, 60)
		if err != nil {
			mcptest.WantToolErr(t, "buildSingleQuery", err)
			return
		}
		if qs[0].Expression == nil || *qs[0].Expression != q {
			t.Fatalf("tool path built %v, direct %q", qs[0].Expression, q)
		}
	})
}

// insightsTok is one lexed Metrics Insights token: kind 'i' (quoted
// identifier), 's' (quoted string), 'w' (word) or 'p' (punctuation).
type insightsTok struct {
	Kind byte
	Val  string
}

func lexInsights(q string) ([]insightsTok, error) {
	var out []insightsTok
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != c; j++ {
				if q[j] == '\\' {
					j++
					if j == len(q) {
						return nil, errors.New("dangling escape")
					}
				}
				b.WriteByte(q[j])
			}
			if j == len(q) {
				return nil, errors.New("unterminated quote")
			}
			kind := byte('i')
			if c == '\'' {
				kind = 's'
			}
			out = append(out, insightsTok{kind, b.String()})
			i = j + 1
		case c == '(' || c == ')' || c == ',' || c == '=':
			out = append(out, insightsTok{'p', string(c)})
			i++
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			j := i
			for j < len(q) && (q[j] >= 'A' && q[j] <= 'Z' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, insightsTok{'w', q[i:j]})
			i = j
		default:
			return nil, errors.New("unexpected byte outside quotes: " + strconv.Quote(string(c)))
		}
	}
	return out, nil
}

func expectedInsights(p insightsParams) []insightsTok {
	w := func(s string) insightsTok { return insightsTok{'w', s} }
	pu := func(s string) insightsTok { return insightsTok{'p', s} }
	id := func(s string) insightsTok { return insightsTok{'i', s} }
	fn, _ := insightsFunction(p.statistic)
	out := []insightsTok{w("SELECT"), w(fn), pu("("), id(p.metric), pu(")"), w("FROM"), w("SCHEMA"), pu("("), id(p.namespace)}
	for _, k := range p.schemaKeys {
		out = append(out, pu(","), id(k))
	}
	out = append(out, pu(")"))
	for i, d := range p.dims {
		if i == 0 {
			out = append(out, w("WHERE"))
		} else {
			out = append(out, w("AND"))
		}
		out = append(out, id(d.Name), pu("="), insightsTok{'s', d.Value})
	}
	if p.groupBy != "" {
		out = append(out, w("GROUP"), w("BY"), id(p.groupBy))
	}
	if p.orderBy != "" {
		out = append(out, w("ORDER"), w("BY"), w(strings.ToUpper(p.orderBy)), pu("("), pu(")"))
		if p.sortOrder != "" {
			out = append(out, w(strings.ToUpper(p.sortOrder)))
		}
	}
	if p.limit > 0 {
		out = append(out, w("LIMIT"), w(strconv.Itoa(p.limit)))
	}
	return out
}
