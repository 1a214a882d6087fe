package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

var p5Marker = regexp.MustCompile(`p5ms=(\d+)`)

// measureP5: how long after the fake AWS marks a Logs Insights query
// Complete the agent has its results, through the whole edge
// (execute_log_insights_query, which polls GetQueryResults). Each query's
// run time is its nominal duration plus a random 0–1 s (the poller's
// largest gap), so completion falls at a uniformly random point between
// two polls; the figure is measured from
// the query's actual completion instant (fake clock = wall clock) to the
// arrival of the tool result at the client.
func measureP5(e *benchEnv, cfg config) ([]*result, error) {
	logs := fakeaws.LogsOf(e.fake)
	logs.SetQueryResolver(p5Resolver)
	defer logs.SetQueryResolver(nil)

	client := newClient(len(cfg.p5Durations) * cfg.p5PerDuration)
	token := e.token("p5-user")
	sessions := make([]*mcpSession, len(cfg.p5Durations))
	for i := range sessions {
		s, err := openSession(client, e.url("mcp", "/"), token)
		if err != nil {
			return nil, err
		}
		sessions[i] = s
	}
	results := make([]*result, len(cfg.p5Durations))
	all := make([][]float64, len(cfg.p5Durations)) // every sample, for the notes
	for i, d := range cfg.p5Durations {
		// Issue 20's goal: ≤ 250 ms for queries done within 2 s, ≤ 1 s
		// after that (the cost bound of P13 allows no less; see its note).
		goal := 250.0
		if d+time.Second > 2*time.Second {
			goal = 1000
		}
		r := &result{id: "P5", measure: fmt.Sprintf("Logs Insights result latency after Complete, query running %s + 0–1 s", fmtDur(d)),
			baseline: "—", goal: fmt.Sprintf("≤ %.0f ms", goal), unit: "ms", figFmt: func(x float64) string { return fmt.Sprintf("%.0f ms", x) }}
		r.pass, r.miss = atMost(goal, "ms")
		results[i] = r
	}
	end := time.Now().UTC()
	for range cfg.rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		samples := make([][]float64, len(cfg.p5Durations))
		for i, d := range cfg.p5Durations {
			for range cfg.p5PerDuration {
				run := d + time.Millisecond + time.Duration(rand.Int64N(int64(time.Second)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					lat, err := insightsLatency(client, sessions[i], logs, run, end)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						if firstErr == nil {
							firstErr = err
						}
						return
					}
					samples[i] = append(samples[i], lat)
				}()
			}
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		for i := range samples {
			_, med, _ := mmm(samples[i])
			results[i].subject = append(results[i].subject, med)
			all[i] = append(all[i], samples[i]...)
		}
	}
	for i, r := range results {
		sort.Float64s(all[i])
		r.note = fmt.Sprintf("Per round, the median of %d concurrent queries; all %d samples: min %.0f, max %.0f ms",
			cfg.p5PerDuration, len(all[i]), all[i][0], all[i][len(all[i])-1])
		if i == len(results)-1 {
			r.note += ". Each query is polled at 0.4, 0.8, 1.6 and 2.4 s, then every second (at most 1.25 requests per query-second + 2, P13); " +
				"after 2 s the waits of one identity share one DescribeQueries (status Running) per second and fetch a query when it leaves that list " +
				"(here all " + strconv.Itoa(len(cfg.p5Durations)*cfg.p5PerDuration) + " queries of a round run at once, for one user, on a site whose account budget is out of the way)"
		}
	}
	return results, nil
}

// p5Resolver runs queries marked p5ms=N for N ms (P5, P13).
func p5Resolver(q fakeaws.StartedQuery) (fakeaws.QueryResult, bool) {
	m := p5Marker.FindStringSubmatch(q.QueryString)
	if m == nil {
		return fakeaws.QueryResult{}, false
	}
	ms, _ := strconv.Atoi(m[1])
	return fakeaws.QueryResult{
		Rows: [][]fakeaws.ResultField{fakeaws.Row("@timestamp", "2026-01-01 00:00:00.000", "@message", "p5")},
		Plan: &fakeaws.QueryPlan{Duration: time.Duration(ms) * time.Millisecond},
	}, true
}

// insightsLatency runs one query that completes after run and returns the
// milliseconds between its completion and the tool result's arrival.
func insightsLatency(client *http.Client, s *mcpSession, logs *fakeaws.Logs, run time.Duration, end time.Time) (float64, error) {
	args, _ := json.Marshal(map[string]any{
		"log_group_names": []string{"/aws/lambda/checkout-api"},
		"start_time":      end.Add(-time.Hour).Format(time.RFC3339),
		"end_time":        end.Format(time.RFC3339),
		"query_string":    fmt.Sprintf("fields @timestamp, @message | filter @message like /p5ms=%d/ | limit 5", run.Milliseconds()),
		"max_timeout":     120,
	})
	raw, err := s.call(client, "tools/call", `{"name":"execute_log_insights_query","arguments":`+string(args)+`}`)
	got := time.Now()
	if err != nil {
		return 0, err
	}
	var res struct {
		IsError    bool `json:"isError"`
		Structured struct {
			Result struct {
				QueryID string `json:"queryId"`
				Status  string `json:"status"`
			} `json:"result"`
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return 0, err
	}
	if res.IsError || res.Structured.Result.Status != "Complete" {
		return 0, fmt.Errorf("P5: query ended %q (isError %v): %s", res.Structured.Result.Status, res.IsError, raw)
	}
	q, ok := logs.Query(res.Structured.Result.QueryID)
	if !ok || q.CompleteAt.IsZero() {
		return 0, fmt.Errorf("P5: the fake does not know query %q", res.Structured.Result.QueryID)
	}
	return float64(got.Sub(q.CompleteAt).Microseconds()) / 1000, nil
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0 s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
