package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/server"
)

// measureP8: cloudwatch_mcp in stateless mode, two Caddy instances (child
// processes, each with cognito_auth + role_arn vending) behind the run's
// Caddy reverse_proxy with round_robin, against the same proxy in front of
// one instance. Clients send no session ID; the request mix is initialize,
// tools/list and tools/call describe_log_groups in turn, so consecutive
// requests of one connection land on different instances. Every answer is
// checked: HTTP 200, a JSON-RPC result, no tool error, no session issued.
func measureP8(e *benchEnv, cfg config) ([]*result, error) {
	errs := &result{id: "P8a", measure: "errors, stateless mode, 2 instances behind `reverse_proxy` round_robin, no session IDs",
		baseline: "—", goal: "no errors; sessions not needed", unit: "failed requests", everyRound: true,
		figFmt: func(x float64) string { return fmt.Sprintf("%.0f", x) }}
	errs.pass, errs.miss = exactly(0, "failed requests")
	ratio := &result{id: "P8b", measure: "rps, stateless mode, 2 instances behind `reverse_proxy` round_robin",
		baseline: "the same proxy in front of 1 instance", goal: "— (informational)", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b }}

	for i, name := range []string{"up1", "up2"} {
		cf := globalOptions(fmt.Sprintf("%s/storage-%s", e.dir, name)) + fmt.Sprintf(`
http://127.0.0.1:%d {
	header X-Bench-Instance %s
%s
	cloudwatch_mcp {
		stateless
	}
}
`, e.ports[name], name, e.authBlock("role_arn "+benchRole))
		c, err := e.startChild(fmt.Sprintf("p8-%d", i), cf)
		if err != nil {
			return nil, err
		}
		defer c.stop()
	}

	token := e.token("p8-user")
	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + protoVersion + `","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{}}}`,
	}
	var mu sync.Mutex
	served := map[string]int{}
	check := func(resp *http.Response, body []byte) error {
		if id := resp.Header.Get(server.HeaderKeySessionID); id != "" {
			return errors.New("a stateless instance issued a session ID")
		}
		res, err := rpcResult(resp, body)
		if err != nil {
			return err
		}
		if bytes.Contains(res, []byte(`"isError":true`)) {
			return fmt.Errorf("tool error: %.200s", res)
		}
		mu.Lock()
		served[resp.Header.Get("X-Bench-Instance")]++
		mu.Unlock()
		return nil
	}
	mk := func(site string) func(int) *http.Request {
		s := &mcpSession{url: e.url(site, "/"), token: token}
		var n atomic.Uint64
		return func(int) *http.Request { return s.request(bodies[n.Add(1)%uint64(len(bodies))]) }
	}
	client := newClient(cfg.p8Conc)
	if _, bad, samples := rpsChecked(client, cfg.p8Conc, cfg.duration/3, mk("lb2"), check); bad > 0 {
		return nil, fmt.Errorf("P8 warm-up: %d failures: %s", bad, strings.Join(samples, "; "))
	}
	var failures []string
	var served2 []string
	for i := range cfg.rounds {
		order := []string{"lb2", "lb1"}
		if i%2 == 1 {
			order = []string{"lb1", "lb2"}
		}
		var two, one float64
		var bad int64
		for _, site := range order {
			mu.Lock()
			clear(served)
			mu.Unlock()
			v, n, samples := rpsChecked(client, cfg.p8Conc, cfg.duration, mk(site), check)
			bad += n
			failures = append(failures, samples...)
			if site == "lb2" {
				two = v
				mu.Lock()
				served2 = append(served2, distribution(served))
				mu.Unlock()
			} else {
				one = v
			}
		}
		errs.subject = append(errs.subject, float64(bad))
		ratio.subject, ratio.base = append(ratio.subject, two), append(ratio.base, one)
	}
	errs.note = "Separate processes: two child Caddy instances (`cloudwatch_mcp { stateless }`), the proxy in the run's own Caddy. " +
		"Requests served per instance behind the 2-instance proxy, per round: " + strings.Join(served2, "; ")
	if len(failures) > 0 {
		errs.note += ". First failures: " + strings.Join(failures[:min(3, len(failures))], "; ")
	}
	ratio.note = fmt.Sprintf("%d connections. Both instances, the proxy and the load generator share the machine's %s, "+
		"so this ratio is not a scale-out figure (that needs instances on separate machines); the row is informational, P8a is the goal",
		cfg.p8Conc, cpuWord())
	return []*result{errs, ratio}, nil
}

func distribution(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}
