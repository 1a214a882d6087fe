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
// watchGap, signed with that identity's key; another identity has its own.
func TestRunningWatchIsShared(t *testing.T) {
	te := mcptest.NewEnv(t)
	clk := withInsightsClock(te)
	cl, id := startHourLongQuery(t, te)
	ctx := context.Background()
	clk.advance(20 * time.Minute) // past the fake's Scheduled phase

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids, err := stateOf(te.Env).watch.running(ctx, cl)
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
	_, _ = stateOf(te.Env).watch.running(ctx, cl)
	if n := calls(); n != 1 {
		t.Fatalf("a list younger than watchGap was refreshed (%d calls)", n)
	}
	clk.advance(time.Millisecond)
	_, _ = stateOf(te.Env).watch.running(ctx, cl)
	if n := calls(); n != 2 {
		t.Fatalf("a list watchGap old was not refreshed (%d calls)", n)
	}
	assertOwner(t, te, "DescribeQueries", 2)

	// Once the query completes it leaves the list.
	clk.advance(time.Hour)
	if ids, _ := stateOf(te.Env).watch.running(ctx, cl); len(ids) != 0 {
		t.Fatalf("completed query still listed: %v", ids)
	}
}

// Without logs:DescribeQueries a wait polls on its own schedule and still
// gets its results.
func TestInsightsWaitWithoutDescribeQueries(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	te.Fake.SetFault("DescribeQueries", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:DescribeQueries"})
	runCompleteQuery(t, te, 20*time.Second)
	if n := len(te.Fake.Calls("DescribeQueries")); n != 1 {
		t.Fatalf("%d DescribeQueries calls after the first refusal, want 1", n)
	}
}
