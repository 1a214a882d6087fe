package logs

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// usersRun is what runUsers saw: each call's status and the fake's
// Insights polling calls in virtual time.
type usersRun struct {
	te       *mcptest.Env
	statuses []string
	times    []time.Time // every GetQueryResults/DescribeQueries
	start    time.Time
	end      time.Time
}

// runUsers makes n users (distinct identities of one account) each wait on
// a query the fake completes after run, at once, on a virtual clock.
func runUsers(t *testing.T, n int, run time.Duration, prep func(te *mcptest.Env)) usersRun {
	t.Helper()
	te := mcptest.NewEnv(t)
	clk := withVClock(te, n)
	defer clk.close()
	if prep != nil {
		prep(te)
	}
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: run})
	users := make([]aws.Credentials, n)
	for i := range users {
		users[i] = te.Fake.IssueCredentials(fmt.Sprintf("user%02d", i), clk.now().Add(24*time.Hour))
	}
	out := usersRun{te: te, statuses: make([]string, n), start: clk.now()}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer clk.done()
			res := te.CallTool(t, mcptest.UserCtx(users[i]), "execute_log_insights_query", map[string]any{
				"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
				"query_string": "fields @message | limit 5", "max_timeout": 300,
			})
			d := insightsDict(t, res)
			out.statuses[i] = d.Status
		}()
	}
	wg.Wait()
	out.end = clk.now()
	for _, c := range te.Fake.Calls("") {
		if c.Op == "GetQueryResults" || c.Op == "DescribeQueries" {
			out.times = append(out.times, c.Time)
		}
	}
	sort.Slice(out.times, func(i, j int) bool { return out.times[i].Before(out.times[j]) })
	return out
}

// maxOverBucket is the largest excess of requests in any window over what
// a bucket of rate r and burst b allows in it.
func maxOverBucket(times []time.Time, r float64, b int) float64 {
	worst := -1e9
	for i := range times {
		for j := i; j < len(times); j++ {
			allowed := float64(b) + r*times[j].Sub(times[i]).Seconds()
			worst = max(worst, float64(j-i+1)-allowed)
		}
	}
	return worst
}

// 20 users of one account, each waiting on a 10 s query: the account's
// Insights polling stays within its budget (2/s, burst 10) in every window
// however the calls interleave, and every query completes.
func TestAccountBudgetSharedByUsers(t *testing.T) {
	got := runUsers(t, 20, 10*time.Second, nil)
	for i, s := range got.statuses {
		if s != "Complete" {
			t.Fatalf("user %d: status %q", i, s)
		}
	}
	// One GetCallerIdentity per identity, then cached.
	if n := got.te.Fake.CallCount("GetCallerIdentity"); n != 20 {
		t.Fatalf("%d GetCallerIdentity calls for 20 identities", n)
	}
	if over := maxOverBucket(got.times, DefaultInsightsPollRate, DefaultInsightsPollBurst); over > 0 {
		t.Fatalf("the account's polling exceeded its bucket by %.2f requests in some window", over)
	}
	secs := got.end.Sub(got.start).Seconds()
	t.Logf("20 users × 10 s: %d requests in %.1f s (%.2f/s), all complete", len(got.times), secs, float64(len(got.times))/secs)
}

// Users of different accounts have budgets of their own.
func TestAccountBudgetIsPerAccount(t *testing.T) {
	got := runUsers(t, 20, 10*time.Second, func(te *mcptest.Env) {
		for i := 10; i < 20; i++ {
			te.Fake.SetAccount(fmt.Sprintf("user%02d", i), "210987654321")
		}
	})
	// Two accounts: twice the budget, and more than one account's worth.
	if over := maxOverBucket(got.times, 2*DefaultInsightsPollRate, 2*DefaultInsightsPollBurst); over > 0 {
		t.Fatalf("two accounts' polling exceeded two buckets by %.2f", over)
	}
	if over := maxOverBucket(got.times, DefaultInsightsPollRate, DefaultInsightsPollBurst); over <= 0 {
		t.Fatal("two accounts shared one bucket")
	}
}

// AWS throttles GetQueryResults above 1/s (a busy account): no call fails,
// the throttled polls are waited out, and the account's bucket settles
// under the limit (AIMD), so throttling becomes rare.
func TestThrottlingConvergesWithoutFailing(t *testing.T) {
	const limit = 1.0
	got := runUsers(t, 8, 60*time.Second, func(te *mcptest.Env) {
		te.Fake.SetRateLimit("GetQueryResults", fakeaws.RateLimit{PerSecond: limit, Burst: 2})
	})
	for i, s := range got.statuses {
		if s != "Complete" {
			t.Fatalf("user %d: status %q", i, s)
		}
	}
	throttled := got.te.Fake.Throttled("GetQueryResults")
	if throttled == 0 {
		t.Fatal("the fake never throttled: the test proves nothing")
	}
	// In the second half of the run the polls stay under the limit and
	// few are refused: the bucket settled under the limit.
	mid := got.start.Add(got.end.Sub(got.start) / 2)
	var late, lateThrottled int
	for _, c := range got.te.Fake.Calls("GetQueryResults") {
		if !c.Time.Before(mid) {
			late++
			if c.Throttled {
				lateThrottled++
			}
		}
	}
	lateSecs := got.end.Sub(mid).Seconds()
	if rate := float64(late) / lateSecs; rate > limit || float64(lateThrottled) > 0.2*float64(late) {
		t.Fatalf("second half: %.2f polls/s against a limit of %.1f/s, %d throttled", rate, limit, lateThrottled)
	}
	total := got.te.Fake.CallCount("GetQueryResults")
	t.Logf("8 users × 60 s under a 1/s limit: %d polls, %d throttled (%d in the second half), second half %.2f/s, run %.0f s",
		total, throttled, lateThrottled, float64(late)/lateSecs, got.end.Sub(got.start).Seconds())
}

// A throttled poll slows the bucket; answered ones win the rate back.
func TestPollBudgetAIMD(t *testing.T) {
	bs := newPollBudgets(2, 10)
	t0 := time.Unix(1_750_000_000, 0)
	b := bs.get("123456789012|us-east-1", t0)
	b.throttled(t0)
	b.throttled(t0.Add(500 * time.Millisecond)) // same burst of refusals: one cut
	if got := b.limit(); got != 1 {
		t.Fatalf("after one cut: %v/s", got)
	}
	b.throttled(t0.Add(2 * time.Second))
	if got := b.limit(); got != 0.5 {
		t.Fatalf("after two cuts: %v/s", got)
	}
	for i := range 100 {
		b.answered(t0.Add(3*time.Second + time.Duration(i)*time.Second))
	}
	if got := b.limit(); got != 2 {
		t.Fatalf("after 100 answered requests: %v/s, want the configured 2/s", got)
	}
	for range 10 {
		b.throttled(t0.Add(time.Hour))
		t0 = t0.Add(time.Second)
	}
	if got := b.limit(); got < 2.0/aimdFloorDiv {
		t.Fatalf("rate fell to %v/s, under the floor", got)
	}
	if bs.get("123456789012|us-east-1", t0) != b || bs.get("210987654321|us-east-1", t0) == b {
		t.Fatal("buckets are not per account and region")
	}
}
