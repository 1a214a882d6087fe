package main

import (
	"fmt"
	"net/http"
	"time"
)

const exchangeOp = "AssumeRoleWithWebIdentity"

// measureP3 counts upstream credential exchanges for one identity, on the
// fake AWS's call log:
//   - P3a: a burst of concurrent first requests (nothing cached);
//   - P3b: a burst at each renewal point, while the cached credentials are
//     due for renewal but still valid (the steady state of an active user:
//     site p3 renews 2–3 s after issue instead of 5 min before expiry);
//   - P3c: a burst after the credentials expired (an idle user returns:
//     site p3x, with the fake AWS clock set back so that the 15-minute
//     credentials it issues expire 5–6 s later).
//
// Every request of every burst must succeed.
func measureP3(e *benchEnv, cfg config) ([]*result, error) {
	intFmt := func(x float64) string { return fmt.Sprintf("%.0f", x) }
	mk := func(id, measure, goal string) *result {
		r := &result{id: id, measure: measure, baseline: "—", goal: goal, unit: "exchanges", everyRound: true, figFmt: intFmt}
		r.pass, r.miss = exactly(1, "exchanges")
		return r
	}
	first := mk("P3a", fmt.Sprintf("upstream exchanges for one identity under %d concurrent first requests", cfg.p3Burst), "exactly 1")
	renew := mk("P3b", fmt.Sprintf("exchanges per renewal: %d concurrent requests at each of %d renewal points per round (credentials due, still valid)", cfg.p3Burst, cfg.p3Renewals), "exactly 1 per renewal")
	expired := mk("P3c", fmt.Sprintf("exchanges after the credentials expired: %d concurrent requests", cfg.p3Burst), "exactly 1 per lifetime")

	defer e.fake.SetClock(time.Now)
	var requests int
	for round := range cfg.rounds {
		tok := e.token(fmt.Sprintf("p3-%d-%d", round, time.Now().UnixNano()))
		site := func(name string) func(int) *http.Request {
			url := e.url(name, "/")
			return func(int) *http.Request {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				return req
			}
		}
		// exchanges runs a burst and returns the exchanges it caused,
		// waiting for one started in the background (renewals) to land.
		exchanges := func(name string, background bool) (int, error) {
			before := e.fake.CallCount(exchangeOp)
			ok, err := burst(cfg.p3Burst, site(name))
			requests += cfg.p3Burst
			if err != nil {
				return 0, fmt.Errorf("%d of %d requests failed, first: %w", cfg.p3Burst-ok, cfg.p3Burst, err)
			}
			if background {
				for t := time.Now(); e.fake.CallCount(exchangeOp) == before && time.Since(t) < 2*time.Second; {
					time.Sleep(10 * time.Millisecond)
				}
			}
			time.Sleep(100 * time.Millisecond) // a duplicate would have shown by now
			return e.fake.CallCount(exchangeOp) - before, nil
		}

		n, err := exchanges("p3", false)
		if err != nil {
			return nil, fmt.Errorf("P3a: %w", err)
		}
		first.subject = append(first.subject, float64(n))

		worst := 1
		for range cfg.p3Renewals {
			time.Sleep(3100 * time.Millisecond) // the credentials are now due for renewal
			n, err := exchanges("p3", true)
			if err != nil {
				return nil, fmt.Errorf("P3b: %w", err)
			}
			if abs(n-1) > abs(worst-1) {
				worst = n
			}
		}
		renew.subject = append(renew.subject, float64(worst))

		// Credentials issued from now on expire 5–6 s after issue: long
		// enough that a burst on a loaded machine ends before they turn due
		// (refresh_before 1s), so the one exchange counted is the burst's own.
		e.fake.SetClock(func() time.Time { return time.Now().Add(-(15*time.Minute - 6*time.Second)) })
		if n, err := exchanges("p3x", false); err != nil || n != 1 {
			return nil, fmt.Errorf("P3c set-up: first burst on p3x: %d exchanges, %v", n, err)
		}
		time.Sleep(6200 * time.Millisecond) // expired
		n, err = exchanges("p3x", false)
		if err != nil {
			return nil, fmt.Errorf("P3c: %w", err)
		}
		e.fake.SetClock(time.Now)
		expired.subject = append(expired.subject, float64(n))
	}
	renew.note = "Per round, the figure is the renewal point whose exchange count is furthest from 1. " +
		"Site p3: `session_duration 15m`, `refresh_before 14m57s`, so the module's ordinary renewal path runs every 2–3 s instead of every 55 min; " +
		"the burst is served with the still-valid credentials while one background exchange renews them"
	expired.note = "Site p3x: `refresh_before 1s`; the fake AWS clock is set back 14m54s so its 15-minute credentials expire 5–6 s after issue; the burst arrives after expiry and waits for one shared exchange"
	first.note = fmt.Sprintf("Counted on the fake AWS's call log (%s); %d requests over all bursts of P3, every one answered 200", exchangeOp, requests)
	return []*result{first, renew, expired}, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
