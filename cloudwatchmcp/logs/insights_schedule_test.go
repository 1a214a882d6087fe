package logs

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// planLatencyBound is how long after completion the plan promises to see a
// query that ran d.
func planLatencyBound(d time.Duration) time.Duration {
	switch {
	case d <= 800*time.Millisecond:
		return 400 * time.Millisecond
	case d <= 2400*time.Millisecond:
		return 800 * time.Millisecond
	}
	return time.Second
}

// Over every query length from 10 ms to 2 min (10 ms steps), the plan's
// polls number at most 1.25·D + 2 and the poll that sees completion comes
// within planLatencyBound.
func TestPollPlanBoundsEveryDuration(t *testing.T) {
	for d := 10 * time.Millisecond; d <= 2*time.Minute; d += 10 * time.Millisecond {
		n, prev := 0, time.Duration(0)
		for {
			n++
			at := defaultPollPlan.at(n, prev)
			prev = at
			if at >= d {
				break
			}
		}
		if limit := 1.25*d.Seconds() + 2; float64(n) > limit {
			t.Fatalf("query of %v: %d polls, bound %.3f", d, n, limit)
		}
		if lag := prev - d; lag > planLatencyBound(d) {
			t.Fatalf("query of %v seen %v after completion (bound %v)", d, lag, planLatencyBound(d))
		}
	}
}

// Through the tool and the fake: for queries of 0.5, 2, 5, 10 and 30 s
// (and a few that end just after a poll), GetQueryResults +
// DescribeQueries ≤ 1.25·D + 2, and the result is fetched within the
// plan's latency after completion.
func TestInsightsWaitCostAndLatency(t *testing.T) {
	for _, d := range []time.Duration{
		500 * time.Millisecond, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		401 * time.Millisecond, 801 * time.Millisecond, 1601 * time.Millisecond, 2401 * time.Millisecond, 2 * time.Minute,
	} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			te := mcptest.NewEnv(t)
			withInsightsClock(te)
			dv := runCompleteQuery(t, te, d)
			q, _ := fakeaws.LogsOf(te.Fake).Query(dv.QueryID)
			requests := te.Fake.CallCount("GetQueryResults") + te.Fake.CallCount("DescribeQueries")
			if limit := 1.25*d.Seconds() + 2; float64(requests) > limit {
				t.Fatalf("%d requests for a %v query, bound %.2f", requests, d, limit)
			}
			if lag := q.ReportedDoneAt.Sub(q.CompleteAt); lag < 0 || lag > planLatencyBound(d) {
				t.Fatalf("seen %v after completion, bound %v", lag, planLatencyBound(d))
			}
			assertOwner(t, te, "GetQueryResults", -1)
		})
	}
}
