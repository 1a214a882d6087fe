package fakeaws

import "testing"

func TestFilterPatternSubset(t *testing.T) {
	msgs := map[string]string{
		"err":     "2025-01-01 ERROR payment failed: connection reset by peer",
		"warn":    "2025-01-01 WARN retrying ledger write attempt=3",
		"debug":   "2025-01-01 DEBUG ERROR-like noise",
		"json1":   `{"level":"ERROR","latency":812,"path":"/api/orders/42","user":{"name":"svc-batch"},"retry":true,"items":[{"sku":"ABC"}],"error":null}`,
		"json2":   `{"level":"INFO","latency":120,"path":"/health","user":{"name":"alice"},"retry":false,"code":"500"}`,
		"access":  `10.0.0.1 - alice [01/Jan/2025:10:00:00 +0000] "GET /api/orders HTTP/1.1" 503 1024`,
		"access2": `10.0.0.2 - bob [01/Jan/2025:10:00:01 +0000] "GET /health HTTP/1.1" 200 12`,
	}
	for _, c := range []struct {
		pattern string
		want    []string // keys of msgs that match
	}{
		{"", []string{"err", "warn", "debug", "json1", "json2", "access", "access2"}},
		{`""`, []string{"err", "warn", "debug", "json1", "json2", "access", "access2"}},
		{"ERROR", []string{"err", "debug", "json1"}},
		{"ERROR payment", []string{"err"}},
		{`"connection reset"`, []string{"err"}},
		{`"reset connection"`, nil},
		{"?WARN ?payment", []string{"err", "warn"}},
		{"2025-01-01 ?WARN ?DEBUG", []string{"warn", "debug"}},
		{"ERROR -DEBUG", []string{"err", "json1"}},
		{`ERROR -"connection reset"`, []string{"debug", "json1"}},
		{"error", []string{"json1"}}, // case-sensitive: only json1's "error" key
		{`%attempt=\d+%`, []string{"warn"}},
		{`{ $.level = "ERROR" }`, []string{"json1"}},
		{`{ $.level = ERROR }`, []string{"json1"}},
		{`{ $.level != "ERROR" }`, []string{"json2"}},
		{`{ $.latency > 500 }`, []string{"json1"}},
		{`{ $.latency <= 120 }`, []string{"json2"}},
		{`{ $.latency = 812 }`, []string{"json1"}},
		{`{ $.code = 500 }`, []string{"json2"}}, // a string field compares as text
		{`{ $.code > 400 }`, []string{"json2"}}, // and as a number when it parses as one
		{`{ $.path = "/api/*" }`, []string{"json1"}},
		{`{ $.user.name = "svc-*" }`, []string{"json1"}},
		{`{ $.items[0].sku = "ABC" }`, []string{"json1"}},
		{`{ $.retry IS TRUE }`, []string{"json1"}},
		{`{ $.retry IS FALSE }`, []string{"json2"}},
		{`{ $.error IS NULL }`, []string{"json1"}},
		{`{ $.code NOT EXISTS }`, []string{"json1"}},
		{`{ ($.latency > 500 && $.level = "ERROR") || $.path = "/health" }`, []string{"json1", "json2"}},
		{`{ $.level = "INFO" && ($.latency > 1000 || $.retry IS FALSE) }`, []string{"json2"}},
		{`{ $.path = %orders/\d+% }`, []string{"json1"}},
		{`{ $.missing = "x" }`, nil},
		{`[ip, dash, user, ts, request, status = 5*, bytes]`, []string{"access"}},
		{`[ip, ..., status >= 500, bytes > 1000]`, []string{"access"}},
		{`[ip, ..., status = 200 || status = 503, bytes]`, []string{"access", "access2"}},
		{`[ip, dash, user = bob, ...]`, []string{"access2"}},
		{`[..., request = "GET /health*", status, bytes]`, []string{"access2"}},
		{`[a, b]`, nil},
	} {
		fp, err := compileFilterPattern(c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		want := map[string]bool{}
		for _, k := range c.want {
			want[k] = true
		}
		for k, m := range msgs {
			if got := fp.matches(m); got != want[k] {
				t.Errorf("%q on %s: got %v, want %v", c.pattern, k, got, want[k])
			}
		}
	}
}

func TestFilterPatternErrors(t *testing.T) {
	for _, p := range []string{
		`"unterminated`,
		`{ $.level = "ERROR" `,
		`{ level = "ERROR" }`,
		`{ $.latency > "abc" }`,
		`{ $.a = }`,
		`{ ($.a = 1 }`,
		`{ $.a IS MAYBE }`,
		`{ $.a = 1 } trailing`,
		`%(unclosed%`,
		`status=500`,
		`[a, , b]`,
		`[a, b`,
	} {
		if _, err := compileFilterPattern(p); err == nil {
			t.Errorf("%q: accepted", p)
		}
	}
}
