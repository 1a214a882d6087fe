package grafana

import (
	"strings"
	"testing"
)

// sample is a small exposition with every kind of family the dashboard
// meets: counters, a histogram, a gauge, a summary.
const sample = `# TYPE caddy_cognito_auth_validations_total counter
caddy_cognito_auth_validations_total{result="ok"} 3
caddy_cognito_auth_validations_total{result="invalid"} 1
# TYPE caddy_cloudwatch_mcp_tool_duration_seconds histogram
caddy_cloudwatch_mcp_tool_duration_seconds_bucket{tool="a",le="0.1"} 1
caddy_cloudwatch_mcp_tool_duration_seconds_bucket{tool="a",le="+Inf"} 1
caddy_cloudwatch_mcp_tool_duration_seconds_sum{tool="a"} 0.05
caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="a"} 1
# TYPE caddy_cloudwatch_mcp_sessions_active gauge
caddy_cloudwatch_mcp_sessions_active 2
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.1
go_gc_duration_seconds_count 10
`

const (
	vals  = "caddy_cognito_auth_validations_total"
	durB  = "caddy_cloudwatch_mcp_tool_duration_seconds_bucket"
	durC  = "caddy_cloudwatch_mcp_tool_duration_seconds_count"
	sess  = "caddy_cloudwatch_mcp_sessions_active"
	multi = `{job=~"$job", instance=~"$instance"}`
)

func sampleChecker(t *testing.T) *checker {
	t.Helper()
	e, err := parseExposition(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	return &checker{metrics: e, vars: map[string]variable{"job": {multi: true}, "instance": {multi: true}, "one": {}}}
}

// TestCheckerAccepts: valid PromQL over exported metrics passes, and the
// result carries the labels Prometheus would give it.
func TestCheckerAccepts(t *testing.T) {
	for _, c := range []struct{ expr, labels string }{
		{`sum by (result) (rate(` + vals + `{result!="ok", job=~"$job"}[$__rate_interval]))`, "{result}"},
		{`sum by (result) (rate(` + vals + `{result!="ok"}[5m]))
		  / ignoring(result) group_left sum(rate(` + vals + `[5m]))`, "{result}"},
		{`histogram_quantile(0.95, sum by (tool, le) (rate(` + durB + multi + `[5m])))`, "{tool}"},
		{`sum(` + sess + `) > 0`, "{}"},
		{`sort_desc(sum by (tool) (increase(` + durC + `[$__range])) > 0)`, "{tool}"},
		{`-1 * sum(rate(` + vals + `[5m] offset 1h))`, "{}"},
		{`max_over_time(sum(` + sess + `)[1h:5m])`, "{}"},
		{`go_gc_duration_seconds{quantile="0.5"}`, "{instance, job, quantile}"},
		{`topk(3, sum by (tool) (rate(` + durC + `[5m])))`, "{tool}"},
		{`sum without (result, instance) (rate(` + vals + `[5m]))`, "{job}"},
		{`2 ^ 3 ^ 2 + 1`, "{}"},
		{`label_replace(` + sess + `, "x", "$1", "job", "(.*)")`, "{instance, job, x}"},
		{`sum(rate(` + vals + `{result=~"ok|invalid"}[5m]))`, "{}"},
		{`sum(rate(` + vals + `{result=~"o.*"}[5m])) # a comment`, "{}"},
		{`sum by (instance) (` + sess + `) / on(instance) sum by (instance, job) (` + sess + `)`, "{instance}"},
		{`sum(` + sess + `{job="$one"}) or vector(0)`, "{}"},
		{`1 > bool 2`, "{}"},
	} {
		v, err := sampleChecker(t).check(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := v.labels.String(); v.typ == vectorT && got != c.labels {
			t.Errorf("%s: labels %s, want %s", c.expr, got, c.labels)
		}
	}
}

// TestCheckerRejects: what would leave a panel broken or silently empty
// is reported, with a message naming the problem.
func TestCheckerRejects(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`rate(caddy_bogus_total[5m])`, "caddy_bogus_total is not exported"},
		{vals + `{reslt="ok"}`, `no label "reslt"`},
		{`sum by (tool) (rate(` + vals + `[5m]))`, `grouped by "tool"`},
		{`sum without (tool) (rate(` + vals + `[5m]))`, `grouped by "tool"`},
		{vals + `{result="rate-limited"}`, "no series has that value"},
		{vals + `{result=~"ok|nope"}`, `the value "nope"`},
		{vals + `{result=~"x.*"}`, "matches no value"},
		{vals + `{result=~"("}`, "missing closing )"},
		{`rate(caddy_cloudwatch_mcp_tool_duration_seconds[5m])`, "is a histogram"},
		{`histogram_quantile(0.9, sum by (tool) (rate(` + durB + `[5m])))`, "without an le label"},
		{`histogram_quantile(0.9, rate(` + durC + `[5m]))`, "without an le label"},
		{`rate(` + vals + `)`, "must be a range vector"},
		{`sum(` + vals + `[5m])`, "over a range vector"},
		{`rat(` + vals + `[5m])`, "unknown function rat"},
		{`sum by (result (rate(` + vals + `[5m]))`, `expected , or )`},
		{`sum(rate(` + vals + `[5m])`, `expected ")"`},
		{vals + `{result="ok"`, "expected , or } in a selector"},
		{vals + `{result=ok}`, "expected a quoted label value"},
		{vals + `[5x]`, "bad number or duration"},
		{`sum by (result) (rate(` + vals + `[5m])) / sum(rate(` + vals + `[5m]))`, "never matches"},
		{`sum by (instance) (` + sess + `) / on(job) sum by (job) (` + sess + `)`, "on(job): the label is not on both sides"},
		{`sum(` + sess + `) / ignoring(tool) sum(` + sess + `)`, "neither side has the label"},
		{sess + `{job=~"$jobb"}`, "no template variable $jobb"},
		{sess + `{job="$job"}`, "needs =~ or !~"},
		{`1 > 2`, "needs bool"},
		{`1 + bool 2`, "bool modifier"},
		{`sum(` + sess + `) and 1`, "set operator and"},
		{`sum by (result) (rate(` + vals + `[5m])) / ignoring(result) group_left(tool) sum(rate(` + vals + `[5m]))`, "group_left(tool)"},
		{`sum(` + sess + `) $instance`, "unexpected character"},
		{`sum(` + sess + `) by`, "expected \"(\""},
		{`quantile(` + sess + `)`, `expected ","`},
		{`round()`, "takes 1 to 2 arguments"},
	} {
		_, err := sampleChecker(t).check(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.expr, err, c.want)
		}
	}
}
