package logs

import (
	"math"
	"time"
)

// pollPlan spaces one wait's GetQueryResults calls so that their number
// over a query that runs D seconds never exceeds PerSecond·D + Extra,
// while the gaps stay as short as that bound allows.
//
// The bound: poll n+1 happens only when poll n saw the query running, so
// the query ran longer than t_n, the time poll n was sent; n+1 calls are
// within the bound for every such D when t_n ≥ (n+1−Extra)/PerSecond. The
// plan therefore sends poll n no earlier than that, and otherwise after
// the gap it wants: Fast while the query is young, Slow after FastFor.
//
// With the defaults (1.25/s + 2) that is polls at 0.4, 0.8, 1.6 and 2.4 s,
// then every second: a result arrives at most 0.4 s after completion for
// queries done within 0.8 s, 0.8 s for those done within 2.4 s, and 1 s
// after that, at about one call per second of a long query (awslabs polls
// every second from the start). The account's budget (insights_budget.go)
// may space them further; it never brings them closer.
type pollPlan struct {
	First     time.Duration
	Fast      time.Duration
	FastFor   time.Duration
	Slow      time.Duration
	PerSecond float64
	Extra     int
}

var defaultPollPlan = pollPlan{
	First: 400 * time.Millisecond, Fast: 250 * time.Millisecond, FastFor: 2 * time.Second, Slow: time.Second,
	PerSecond: 1.25, Extra: 2,
}

// at returns when poll n (1-based) is due, as time since the wait began,
// given when poll n−1 was sent (prev; ignored for the first).
func (p pollPlan) at(n int, prev time.Duration) time.Duration {
	want := p.First
	if n > 1 {
		gap := p.Fast
		if prev >= p.FastFor {
			gap = p.Slow
		}
		want = prev + gap
	}
	floor := time.Duration(math.Ceil(float64(n+1-p.Extra) / p.PerSecond * float64(time.Second)))
	return max(want, floor)
}
