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
)

const (
	// watchAfter is when a wait switches from its own GetQueryResults
	// schedule to the shared watch; until then the schedule polls at most
	// every 250 ms anyway.
	watchAfter = 2 * time.Second
	// watchGap is how often a waiting query looks at the shared list of
	// running queries, and how old that list may be: a query that
	// completes is noticed within about this long, however long it ran.
	watchGap = 250 * time.Millisecond
	// watchDirectEvery still polls a watched query's own status now and
	// then, in case the list lags behind it.
	watchDirectEvery = 5 * time.Second
	// watchPages bounds the DescribeQueries pages read per refresh (1,000
	// queries each; an account runs at most a few dozen at once).
	watchPages = 3
	// watchFetchTimeout bounds one shared refresh.
	watchFetchTimeout = 5 * time.Second
)

// runningWatch lets every long Logs Insights wait of one identity in one
// region share a single DescribeQueries(status Running) call per watchGap.
// Polling each query's GetQueryResults every 250 ms would cost 4 calls per
// second per query against a low per-account quota; backing off instead
// (awslabs polls every second) leaves results waiting up to a second.
// Shared, the cost is at most 4 calls per second per identity and region,
// however many queries it waits on, plus one GetQueryResults per query
// once it is done; and a query is noticed within watchGap of completing.
// The call is signed with that identity's own credentials (its client).
type runningWatch struct {
	now     func() time.Time
	flights singleflight.Group

	mu    sync.Mutex
	snaps map[*cloudwatchlogs.Client]*runningSnapshot
}

// runningSnapshot is the set of queries that were Running at `at`.
type runningSnapshot struct {
	at  time.Time
	ids map[string]struct{}
}

func newRunningWatch(now func() time.Time) *runningWatch {
	return &runningWatch{now: now, snaps: map[*cloudwatchlogs.Client]*runningSnapshot{}}
}

// forClient returns insightsWait.Running for cl.
func (w *runningWatch) forClient(cl *cloudwatchlogs.Client) func(context.Context) (map[string]struct{}, error) {
	return func(ctx context.Context) (map[string]struct{}, error) { return w.running(ctx, cl) }
}

// running returns the queries running as of at most watchGap ago.
func (w *runningWatch) running(ctx context.Context, cl *cloudwatchlogs.Client) (map[string]struct{}, error) {
	w.mu.Lock()
	s := w.snaps[cl]
	w.mu.Unlock()
	if s != nil && w.now().Sub(s.at) < watchGap {
		return s.ids, nil
	}
	// Waiters share the refresh; it runs on its own deadline so that one
	// waiter going away does not fail the others'.
	ch := w.flights.DoChan(fmt.Sprintf("%p", cl), func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), watchFetchTimeout)
		defer cancel()
		return w.refresh(fctx, cl)
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

func (w *runningWatch) refresh(ctx context.Context, cl *cloudwatchlogs.Client) (map[string]struct{}, error) {
	at := w.now() // a query listed was running at least until now
	ids := map[string]struct{}{}
	var token *string
	for range watchPages {
		out, err := cl.DescribeQueries(ctx, &cloudwatchlogs.DescribeQueriesInput{
			Status: types.QueryStatusRunning, MaxResults: aws.Int32(1000), NextToken: token,
		})
		if err != nil {
			return nil, err
		}
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
