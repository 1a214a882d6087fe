package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// measureP13: what Logs Insights waiting costs the account. (a) Requests
// (GetQueryResults + DescribeQueries) per second of query run time for one
// query of 0.5, 2, 5, 10 and 30 s through execute_log_insights_query, and
// how long after completion its result arrived (as P5 measures it): the
// plan allows 1.25 + 2/D requests per query-second. (b) 20 users of one
// account each waiting on a 10 s query at once: the requests per second
// the fake saw against the account's budget (insights_poll_rate, default
// 2/s burst 10), and that every query completed.
func measureP13(e *benchEnv, cfg config) ([]*result, error) {
	logs := fakeaws.LogsOf(e.fake)
	logs.SetQueryResolver(p5Resolver)
	defer logs.SetQueryResolver(nil)
	durations := []time.Duration{500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	users, userRun := 20, 10*time.Second
	if cfg.short {
		durations = durations[:2]
		users, userRun = 5, 2*time.Second
	}
	client := newClient(users + 1)
	// A 30 s query, and 20 users sharing a 2/s budget, wait longer than the
	// load client's 30 s timeout; slow is what this measure shows, not a failure.
	client.Timeout = 5 * time.Minute
	end := time.Now().UTC()
	var results []*result
	for _, d := range durations {
		goal := 1.25 + 2/d.Seconds()
		r := &result{id: "P13", measure: fmt.Sprintf("Logs Insights requests per query-second, one %s query (one user)", fmtDur(d)),
			baseline: "—", goal: fmt.Sprintf("≤ %.2f", goal), unit: "req/s", everyRound: true,
			figFmt: func(x float64) string { return fmt.Sprintf("%.2f", x) }}
		r.pass, r.miss = atMost(goal, "")
		var lats []float64
		for round := range cfg.rounds {
			sub := fmt.Sprintf("p13-%s-%d", d, round)
			s, err := openSession(client, e.url("insights", "/"), e.token(sub))
			if err != nil {
				return nil, err
			}
			lat, err := insightsLatency(client, s, logs, d, end)
			if err != nil {
				return nil, fmt.Errorf("P13: %w", err)
			}
			n := 0
			for _, c := range e.fake.Calls("") {
				if c.Owner == sub && (c.Op == "GetQueryResults" || c.Op == "DescribeQueries") {
					n++
				}
			}
			r.subject = append(r.subject, float64(n)/d.Seconds())
			lats = append(lats, lat)
		}
		_, med, _ := mmm(lats)
		r.note = fmt.Sprintf("result %.0f ms after completion (median of %d; P5 measures latency under load)", med, len(lats))
		results = append(results, r)
	}

	r := &result{id: "P13", measure: fmt.Sprintf("Logs Insights requests/s of %d users of one account, each waiting on a %s query", users, fmtDur(userRun)),
		baseline: "—", goal: "≤ 2/s + burst 10, all complete", unit: "req/s", everyRound: true,
		figFmt: func(x float64) string { return fmt.Sprintf("%.2f", x) }}
	var lastNote string
	for round := range cfg.rounds {
		e.fake.ResetCalls()
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := openSession(client, e.url("insights", "/"), e.token(fmt.Sprintf("p13-user%02d-%d", i, round)))
				if err == nil {
					_, err = insightsLatency(client, s, logs, userRun, end)
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return nil, fmt.Errorf("P13 (users): %w", firstErr)
		}
		secs := time.Since(start).Seconds()
		n := e.fake.CallCount("GetQueryResults") + e.fake.CallCount("DescribeQueries")
		// The bucket allows burst + rate·t; the figure is the rate beyond
		// the burst.
		r.subject = append(r.subject, float64(n-10)/secs)
		lastNote = fmt.Sprintf("%d requests in %.1f s (%.2f/s overall); every query completed; awslabs (1/s each) would make %d/s", n, secs, float64(n)/secs, users)
	}
	r.pass, r.miss = atMost(2, "/s")
	r.note = lastNote + ". Requests beyond the burst of 10, per second of the run"
	results = append(results, r)
	return results, nil
}
