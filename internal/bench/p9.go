package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// p9Limit never refuses during a run: P9 measures what deciding costs,
// not refusals (every non-2xx answer fails a measure).
const p9Limit = "rate_limit 1000000000 1s"

// measureP9: requests/s of a rate-limited route (cognito_auth with
// rate_limit + respond, one user) with the budget in Redis (cluster mode:
// one EVALSHA per request) against the same route with the per-instance
// limiter, both served by one child Caddy, with a redis-server of the
// run's own on loopback.
func measureP9(e *benchEnv, cfg config) ([]*result, error) {
	r := &result{
		id: "P9", measure: "rps, rate-limited route (`rate_limit` + `redis`, one user), `cognito_auth` + `respond`",
		baseline: "the same route with the per-instance limiter (no `redis`)", goal: "≥ 0.85", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	r.pass, r.miss = atLeast(0.85)
	srv, err := startRedis("P9")
	if srv == nil {
		return nil, err // skipped (nil error) or failed
	}
	defer srv.Close()
	ports, err := testport.PickN(2)
	if err != nil {
		return nil, err
	}
	local, shared := ports[0], ports[1]
	cf := globalOptions(e.dir+"/storage-p9") + fmt.Sprintf(`
http://127.0.0.1:%d {
%s
	respond "hello"
}
http://127.0.0.1:%d {
%s
	respond "hello"
}
`, local, e.authBlock(p9Limit), shared, e.authBlock(p9Limit+"\n\t\tredis "+srv.URL()))
	c, err := e.startChild("p9", cf)
	if err != nil {
		return nil, err
	}
	defer c.stop()

	token := e.token("p9-user")
	mk := func(port int) func(int) *http.Request {
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		return func(int) *http.Request {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		}
	}
	client := newClient(cfg.concurrency)
	for _, port := range []int{local, shared} {
		if _, err := rps(client, cfg.concurrency, cfg.duration/3, mk(port)); err != nil {
			return nil, fmt.Errorf("P9 warm-up: %w", err)
		}
	}
	// Script runs per request, over a known number of requests.
	before, err := redisScriptCalls(srv)
	if err != nil {
		return nil, err
	}
	const counted = 1000
	if ok, err := burstN(cfg.concurrency, counted, mk(shared)); err != nil {
		return nil, fmt.Errorf("P9 count: %d ok: %w", ok, err)
	}
	after, err := redisScriptCalls(srv)
	if err != nil {
		return nil, err
	}
	perRequest := float64(after-before) / counted
	if perRequest <= 0 || perRequest > 1 {
		return nil, fmt.Errorf("P9: %.2f script runs per request: want one run per request or fewer (batched)", perRequest)
	}

	// CPU per request of the child and of Redis, which (unlike req/s)
	// says what Redis costs even on a machine busy with other work.
	var cpuS, cpuB, cpuR []float64
	for i := range cfg.rounds {
		order := []int{shared, local}
		if i%2 == 1 {
			order = []int{local, shared}
		}
		var s, b float64
		for _, port := range order {
			c0, r0 := procCPU(c.cmd.Process.Pid), procCPU(srv.Pid())
			start := time.Now()
			v, err := rps(client, cfg.concurrency, cfg.duration, mk(port))
			if err != nil {
				return nil, fmt.Errorf("P9: %w", err)
			}
			n := v * time.Since(start).Seconds()
			child, red := (procCPU(c.cmd.Process.Pid)-c0).Seconds()*1e6/n, (procCPU(srv.Pid())-r0).Seconds()*1e6/n
			if port == shared {
				s = v
				cpuS, cpuR = append(cpuS, child+red), append(cpuR, red)
			} else {
				b = v
				cpuB = append(cpuB, child+red)
			}
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	_, ms, _ := mmm(cpuS)
	_, mr, _ := mmm(cpuR)
	_, mb, _ := mmm(cpuB)
	r.note = fmt.Sprintf("Both sites in one child Caddy (this binary re-executed with `-serve`), `%s`, which never refuses, so the figure is the cost of deciding; "+
		"redis-server 7 on loopback with no persistence, on the same %s as Caddy and the load generator. "+
		"Script runs (EVALSHA, each deciding the requests that arrived together) per request: %.2f, i.e. %.1f requests per run (%d requests at %d connections, counted with INFO commandstats). "+
		"CPU per request (child Caddy + redis-server, median): subject %.0f µs of which Redis %.0f µs, baseline %.0f µs",
		p9Limit, cpuWord(), perRequest, 1/perRequest, counted, cfg.concurrency, ms, mr, mb)
	return []*result{r}, nil
}

// procCPU is a process's user and system CPU time so far
// (/proc/<pid>/stat, clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

var scriptCalls = regexp.MustCompile(`(?m)^cmdstat_(?:evalsha|eval):calls=(\d+)`)

// redisScriptCalls is how many EVALSHA and EVAL Redis has run: the
// requests' round trips (the commands inside the script are counted
// apart, as TIME, GET and SET).
func redisScriptCalls(srv *redistest.Server) (int64, error) {
	info, err := srv.Admin().Info(context.Background(), "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range scriptCalls.FindAllStringSubmatch(info, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		n += v
	}
	return n, nil
}
