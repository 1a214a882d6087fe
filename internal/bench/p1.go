package main

import (
	"fmt"
	"net/http"
)

// measureP1: requests/s of cognito_auth + respond with a valid RS256 token
// against bare Caddy respond, same process, same run.
func measureP1(e *benchEnv, cfg config) (*result, error) {
	r := &result{
		id: "P1", measure: "rps, valid RS256 token, `cognito_auth` + `respond`", baseline: "bare Caddy `respond`",
		goal: "≥ 0.90", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	r.pass, r.miss = atLeast(0.90)
	token := e.token("p1-user")
	client := newClient(cfg.concurrency)
	// Both sides get the same request, Authorization header included, so
	// the ratio isolates what cognito_auth adds (bare Caddy ignores it).
	bare := func(int) *http.Request {
		req, _ := http.NewRequest("GET", e.url("bare", "/"), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	auth := e.singleUser(token)
	// Warm up both (keys fetched, connections open).
	if _, err := rps(client, cfg.concurrency, cfg.duration/3, auth); err != nil {
		return nil, fmt.Errorf("P1 warm-up: %w", err)
	}
	for i := range cfg.rounds {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		var s, b float64
		for _, subject := range order {
			mk := bare
			if subject {
				mk = auth
			}
			v, err := rps(client, cfg.concurrency, cfg.duration, mk)
			if err != nil {
				return nil, fmt.Errorf("P1: %w", err)
			}
			if subject {
				s = v
			} else {
				b = v
			}
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	return r, nil
}

// singleUser is P1's subject: one user's token through cognito_auth +
// respond (P7 uses it as its baseline).
func (e *benchEnv) singleUser(token string) func(int) *http.Request {
	url := e.url("auth", "/")
	return func(int) *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
}
