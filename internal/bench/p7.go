package main

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// measureP7: requests/s with cfg.p7Users distinct users cycling (each
// request takes the next user's token; each user has their own vended
// credentials) through cognito_auth (role_arn vending) + respond, against
// P1's single-user figure (cognito_auth + respond, one token) measured in
// the same round. Before the rounds every user has been seen once, so the
// figure is the steady state of warm caches with many keys, not the cost
// of first exchanges (that is P3).
func measureP7(e *benchEnv, cfg config) (*result, error) {
	r := &result{
		id: "P7", measure: fmt.Sprintf("rps, %d distinct users (distinct tokens and vended credentials) cycling, `cognito_auth` (vending) + `respond`", cfg.p7Users),
		baseline: "P1's single-user figure (`cognito_auth` + `respond`, one token)", goal: "≥ 0.80", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	r.pass, r.miss = atLeast(0.80)
	tokens := e.tokens(cfg.p7Users)
	client := newClient(cfg.concurrency)
	url := e.url("vend", "/")
	var next atomic.Uint64
	many := func(int) *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[next.Add(1)%uint64(len(tokens))])
		return req
	}
	single := e.singleUser(e.token("p1-user"))
	oneVend := func(int) *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[0])
		return req
	}

	// Warm-up: every user verified and vended once.
	before := e.fake.CallCount(exchangeOp)
	if ok, err := burstN(cfg.concurrency, len(tokens), many); err != nil {
		return nil, fmt.Errorf("P7 warm-up: %d ok: %w", ok, err)
	}
	exchanged := e.fake.CallCount(exchangeOp) - before
	if _, err := rps(client, cfg.concurrency, cfg.duration/3, single); err != nil {
		return nil, fmt.Errorf("P7 warm-up: %w", err)
	}
	var vendSingle []float64
	for i := range cfg.rounds {
		order := []int{0, 1, 2}
		if i%2 == 1 {
			order = []int{2, 1, 0}
		}
		var s, b float64
		for _, which := range order {
			mk := []func(int) *http.Request{many, single, oneVend}[which]
			v, err := rps(client, cfg.concurrency, cfg.duration, mk)
			if err != nil {
				return nil, fmt.Errorf("P7: %w", err)
			}
			switch which {
			case 0:
				s = v
			case 1:
				b = v
			case 2:
				vendSingle = append(vendSingle, v)
			}
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	_, vs, _ := mmm(vendSingle)
	_, sm, _ := mmm(r.subject)
	r.note = fmt.Sprintf("Warm-up vended %d credentials for %d users (%d exchanges). "+
		"For reference, one user through the same vending site: %s req/s (median), so %d users cost %.3f of the single-user vending figure",
		len(tokens), len(tokens), exchanged, fmtList(vendSingle), len(tokens), sm/vs)
	return r, nil
}

// burstN sends total requests over conc connections and reports the
// first failure.
func burstN(conc, total int, mk func(int) *http.Request) (int, error) {
	client := newClient(conc)
	defer client.CloseIdleConnections()
	var next, ok atomic.Int64
	errs := make(chan error, conc)
	for range conc {
		go func() {
			for next.Add(1) <= int64(total) {
				resp, err := client.Do(mk(0))
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs <- &statusError{resp.StatusCode}
					return
				}
				ok.Add(1)
			}
			errs <- nil
		}()
	}
	var first error
	for range conc {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return int(ok.Load()), first
}
