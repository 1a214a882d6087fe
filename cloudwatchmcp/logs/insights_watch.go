package logs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"golang.org/x/sync/singleflight"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	// watchAfter is when a wait may switch from its own GetQueryResults
	// schedule to the shared watch; young queries are cheap to poll.
	watchAfter = 2 * time.Second
	// watchGap spaces the shared DescribeQueries calls, on a grid every
	// waiter of the identity and region agrees on: a query that completes
	// is noticed within about this long, however long it ran, as with its
	// own schedule.
	watchGap = time.Second
	// watchDirectEvery still polls a watched query's own status now and
	// then, in case the list lags behind it.
	watchDirectEvery = 5 * time.Second
	// watchPages bounds the DescribeQueries pages read per refresh (1,000
	// queries each; an account runs at most a few dozen at once).
	watchPages = 3
	// watchFetchTimeout bounds one shared refresh.
	watchFetchTimeout = 5 * time.Second
)

// runningWatch lets the Logs Insights waits of one identity in one region
// share one DescribeQueries(status Running) call per watchGap while two or
// more of them are waiting (analyze_log_group's two queries, a batch's
// chunks, one user's parallel calls): n waits then cost one list call per
// second between them, plus one GetQueryResults each once done, instead of
// one GetQueryResults each per second. A lone wait polls its own query: a
// list call would cost as much and say less. The call is signed with that
// identity's own credentials (its client), and spends the account's
// polling budget like any poll.
type runningWatch struct {
	now     func() time.Time
	flights singleflight.Group

	mu      sync.Mutex
	snaps   map[*cloudwatchlogs.Client]*runningSnapshot
	waiters map[*cloudwatchlogs.Client]int
}

// runningSnapshot is the set of queries that were Running at `at`.
type runningSnapshot struct {
	at  time.Time
	ids map[string]struct{}
}

func newRunningWatch(now func() time.Time) *runningWatch {
	return &runningWatch{now: now, snaps: map[*cloudwatchlogs.Client]*runningSnapshot{}, waiters: map[*cloudwatchlogs.Client]int{}}
}

// watchMember is one wait's membership in the watch of its client.
type watchMember struct {
	w    *runningWatch
	cl   *cloudwatchlogs.Client
	once sync.Once
}

// join counts a wait in; it must leave when done.
func (w *runningWatch) join(cl *cloudwatchlogs.Client) *watchMember {
	w.mu.Lock()
	w.waiters[cl]++
	w.mu.Unlock()
	return &watchMember{w: w, cl: cl}
}

func (m *watchMember) leave() {
	m.once.Do(func() {
		m.w.mu.Lock()
		defer m.w.mu.Unlock()
		if m.w.waiters[m.cl]--; m.w.waiters[m.cl] <= 0 {
			delete(m.w.waiters, m.cl)
		}
	})
}

// shared reports whether another wait of the same client is waiting too.
func (m *watchMember) shared() bool {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	return m.w.waiters[m.cl] >= 2
}

// nextTick is the next point of the shared refresh grid after now.
func (m *watchMember) nextTick(now time.Time) time.Time {
	return now.Truncate(watchGap).Add(watchGap)
}

// running returns the queries running as of this grid interval, refreshing
// the list once per interval for every waiter.
func (m *watchMember) running(ctx context.Context, e *toolkit.Env, budget *pollBudget) (map[string]struct{}, error) {
	w, cl := m.w, m.cl
	w.mu.Lock()
	s := w.snaps[cl]
	w.mu.Unlock()
	if s != nil && !s.at.Before(w.now().Truncate(watchGap)) {
		return s.ids, nil
	}
	// Waiters share the refresh; it runs on its own deadline so that one
	// waiter going away does not fail the others'.
	ch := w.flights.DoChan(fmt.Sprintf("%p", cl), func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), watchFetchTimeout)
		defer cancel()
		return w.refresh(fctx, e, cl, budget)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(map[string]struct{}), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *runningWatch) refresh(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, budget *pollBudget) (map[string]struct{}, error) {
	ids := map[string]struct{}{}
	var token *string
	at := w.now()
	for range watchPages {
		waited, err := budget.wait(ctx, e, at.Add(watchFetchTimeout))
		if err != nil {
			return nil, err
		}
		toolkit.NoteBudgetWait(ctx, waited)
		if token == nil {
			at = w.now() // a query listed was running at least until now
		}
		out, err := cl.DescribeQueries(ctx, &cloudwatchlogs.DescribeQueriesInput{
			Status: types.QueryStatusRunning, MaxResults: aws.Int32(1000), NextToken: token,
		}, noThrottleRetries)
		if err != nil {
			if isThrottle(err) {
				budget.throttled(w.now())
				toolkit.NoteThrottled(ctx)
			}
			return nil, err
		}
		budget.answered(w.now())
		for _, q := range out.Queries {
			ids[aws.ToString(q.QueryId)] = struct{}{}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Snapshots of identities no longer waiting are dropped here; the map
	// holds only clients refreshed within the last minute.
	for c, s := range w.snaps {
		if at.Sub(s.at) > time.Minute {
			delete(w.snaps, c)
		}
	}
	w.snaps[cl] = &runningSnapshot{at: at, ids: ids}
	return ids, nil
}
