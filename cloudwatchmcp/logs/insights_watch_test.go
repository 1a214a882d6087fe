package logs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// Every waiter of one identity and region shares one DescribeQueries per
// watchGap grid interval, signed with that identity's key.
func TestRunningWatchIsShared(t *testing.T) {
	te := mcptest.NewEnv(t)
	clk := withInsightsClock(te)
	cl, id := startHourLongQuery(t, te)
	ctx := context.Background()
	clk.advance(20 * time.Minute) // past the fake's Scheduled phase
	clk.advance(-clk.now().Sub(clk.now().Truncate(watchGap)))
	watch := stateOf(te.Env).watch
	budget := budgetFor(ctx, te.Env, cl)
	m := watch.join(cl)
	defer m.leave()

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids, err := m.running(ctx, te.Env, budget)
			if _, ok := ids[id]; err != nil || !ok {
				t.Errorf("running list %v, %v: want it to hold %s", ids, err, id)
			}
		}()
	}
	wg.Wait()
	calls := func() int { return len(te.Fake.Calls("DescribeQueries")) }
	if n := calls(); n != 1 {
		t.Fatalf("20 concurrent waiters made %d DescribeQueries calls, want 1", n)
	}
	clk.advance(watchGap - time.Millisecond)
	_, _ = m.running(ctx, te.Env, budget)
	if n := calls(); n != 1 {
		t.Fatalf("a list of this grid interval was refreshed (%d calls)", n)
	}
	clk.advance(time.Millisecond)
	_, _ = m.running(ctx, te.Env, budget)
	if n := calls(); n != 2 {
		t.Fatalf("a list of the last interval was not refreshed (%d calls)", n)
	}
	assertOwner(t, te, "DescribeQueries", 2)

	// Once the query completes it leaves the list.
	clk.advance(time.Hour)
	if ids, _ := m.running(ctx, te.Env, budget); len(ids) != 0 {
		t.Fatalf("completed query still listed: %v", ids)
	}
}

// A lone wait never lists queries: a list call costs as much as polling
// its own query and says less.
func TestLoneWaitDoesNotWatch(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	runCompleteQuery(t, te, 20*time.Second)
	if n := len(te.Fake.Calls("DescribeQueries")); n != 0 {
		t.Fatalf("%d DescribeQueries calls for one wait, want 0", n)
	}
}

// Waits of one identity share the watch: n long queries cost about one
// list call per second between them, not one poll each per second.
func TestConcurrentWaitsShareTheWatch(t *testing.T) {
	const n, run = 6, 30 * time.Second
	got := concurrentWaits(t, n, run, false)
	polls := len(got.te.Fake.Calls("GetQueryResults"))
	lists := len(got.te.Fake.Calls("DescribeQueries"))
	// Alone, each would cost ~1.25·30+2; shared, the list calls (one per
	// second) plus each query's plan before 2 s, direct polls every 5 s
	// and final fetch.
	if total, alone := polls+lists, n*int(1.25*run.Seconds()+2); total > alone/2 {
		t.Fatalf("%d waits made %d GetQueryResults + %d DescribeQueries, want ≤ %d (half of polling alone)", n, polls, lists, alone/2)
	}
	if lists == 0 {
		t.Fatal("no DescribeQueries: the waits did not share the watch")
	}
	// The lags are logged, not asserted: on a loaded machine the virtual
	// clock may move while a wait is between two calls (vclock's stall
	// rule), which shifts when it polls but not what it costs.
	assertOwner(t, got.te, "DescribeQueries", -1)
	t.Logf("%d waits of %v: %d GetQueryResults, %d DescribeQueries, lags %v", n, run, polls, lists, got.lags)
}

// Without logs:DescribeQueries the waits poll on their own schedule and
// still get their results.
func TestInsightsWaitWithoutDescribeQueries(t *testing.T) {
	got := concurrentWaits(t, 3, 20*time.Second, true)
	if n := len(got.te.Fake.Calls("DescribeQueries")); n < 1 || n > 3 {
		t.Fatalf("%d DescribeQueries calls, want each wait to give up after its first refusal", n)
	}
}

type concurrentOutcome struct {
	te   *mcptest.Env
	lags []time.Duration
}

// concurrentWaits runs n execute_log_insights_query calls of alice at once
// on queries the fake completes after run, on a virtual clock.
func concurrentWaits(t *testing.T, n int, run time.Duration, denyList bool) concurrentOutcome {
	t.Helper()
	te := mcptest.NewEnv(t)
	if denyList {
		te.Fake.SetFault("DescribeQueries", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:DescribeQueries"})
	}
	clk := withVClock(te, n)
	defer clk.close()
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: run})
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer clk.done()
			res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_log_insights_query", map[string]any{
				"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
				"query_string": "fields @message | limit 5", "max_timeout": 300,
			})
			d := insightsDict(t, res)
			if d.Status != "Complete" {
				t.Errorf("wait %d: status %s", i, d.Status)
			}
			ids[i] = d.QueryID
		}()
	}
	wg.Wait()
	out := concurrentOutcome{te: te}
	for _, id := range ids {
		q, _ := fakeaws.LogsOf(te.Fake).Query(id)
		out.lags = append(out.lags, q.ReportedDoneAt.Sub(q.CompleteAt))
	}
	return out
}
