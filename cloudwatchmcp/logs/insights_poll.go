package logs

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// insightsAPI is the part of the Logs client that waiting on an Insights
// query needs; *cloudwatchlogs.Client satisfies it.
type insightsAPI interface {
	GetQueryResults(context.Context, *cloudwatchlogs.GetQueryResultsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	StopQuery(context.Context, *cloudwatchlogs.StopQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StopQueryOutput, error)
	// Options name the region and credentials, hence the account whose
	// polling budget the wait spends (insights_budget.go).
	Options() cloudwatchlogs.Options
}

// insightsWait configures one wait for an Insights query.
type insightsWait struct {
	// Timeout bounds the wait; toolkit.Env.MaxQueryTimeout caps it. Zero polls
	// once.
	Timeout time.Duration
	// StopOnTimeout stops the query when the wait times out. The single-query
	// tool leaves it running so the agent can collect it later with
	// get_logs_insight_query_results, as awslabs does; a batch that gives up
	// on a chunk should stop it to free the account's query concurrency.
	StopOnTimeout bool
	// OnPoll, if set, sees every poll that did not finish the query.
	OnPoll func(out *cloudwatchlogs.GetQueryResultsOutput, elapsed time.Duration, polls int)
}

// insightsOutcome is how a wait ended when it did not fail.
type insightsOutcome struct {
	// Output is the last GetQueryResults response. When the query finished
	// Complete, Results holds every page of rows.
	Output   *cloudwatchlogs.GetQueryResultsOutput
	Polls    int
	Elapsed  time.Duration
	TimedOut bool
	// Timeout is the effective bound after capping.
	Timeout time.Duration
	// Throttled counts GetQueryResults calls AWS throttled (and the wait
	// rode out).
	Throttled int
}

// insightsTerminal reports whether a status is final. Anything but
// Scheduled and Running is: Complete, Failed, Cancelled, Timeout, Unknown.
func insightsTerminal(s types.QueryStatus) bool {
	return s != types.QueryStatusScheduled && s != types.QueryStatusRunning
}

// stopQueryTimeout bounds the StopQuery sent after the caller went away.
const stopQueryTimeout = 5 * time.Second

// waitInsightsQuery polls queryID until it reaches a final status or the
// wait times out, on the cost-bounded schedule (insights_schedule.go),
// within the account's polling budget (insights_budget.go), and, while
// several waits of one identity run in one region, through their shared
// list of running queries (insights_watch.go). On cancellation of ctx (the
// client cancelled or disconnected) it stops the query, since nobody will
// read its results and it would otherwise hold one of the account's
// concurrent-query slots, and returns ctx's error. Throttling is waited
// out; any other GetQueryResults failure is returned as is.
func waitInsightsQuery(ctx context.Context, e *toolkit.Env, api insightsAPI, queryID string, w insightsWait) (insightsOutcome, error) {
	timeout := w.Timeout
	if e.MaxQueryTimeout > 0 && timeout > e.MaxQueryTimeout {
		timeout = e.MaxQueryTimeout
	}
	if timeout < 0 {
		timeout = 0
	}
	ws := &waitState{e: e, api: api, id: queryID, w: w, start: e.Now(), budget: budgetFor(ctx, e, api)}
	ws.deadline = ws.start.Add(timeout)
	ws.res.Timeout = timeout
	if cl, ok := api.(*cloudwatchlogs.Client); ok && stateOf(e).watch != nil {
		ws.watch = stateOf(e).watch.join(cl)
		defer ws.watch.leave()
	}
	return ws.run(ctx)
}

// waitState is one wait in progress.
type waitState struct {
	e        *toolkit.Env
	api      insightsAPI
	id       string
	w        insightsWait
	budget   *pollBudget
	watch    *watchMember // nil: poll only
	start    time.Time
	deadline time.Time

	res      insightsOutcome
	lastPoll time.Time         // when the last GetQueryResults was sent
	last     types.QueryStatus // what it said
}

func (ws *waitState) run(ctx context.Context) (insightsOutcome, error) {
	e := ws.e
	// The first poll waits for the schedule too: a query is never done
	// the instant StartQuery returns.
	for {
		done, err := ws.awaitNextPoll(ctx)
		if err != nil {
			stopInsightsQuery(ctx, e, ws.api, ws.id, "client cancelled")
			return ws.res, err
		}
		if done {
			// The query left the running list: fetch it now, whatever
			// the budget says (it is charged all the same).
			ws.budget.spend(e.Now())
		} else {
			waited, err := ws.budget.wait(ctx, e, ws.deadline)
			if err != nil {
				stopInsightsQuery(ctx, e, ws.api, ws.id, "client cancelled")
				return ws.res, err
			}
			toolkit.NoteBudgetWait(ctx, waited)
		}
		ws.lastPoll = e.Now()
		out, err := ws.api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(ws.id)}, noThrottleRetries)
		if ctx.Err() != nil {
			stopInsightsQuery(ctx, e, ws.api, ws.id, "client cancelled")
			return ws.res, ctx.Err()
		}
		ws.res.Polls++
		now := e.Now()
		ws.res.Elapsed = now.Sub(ws.start)
		switch {
		case err != nil && isThrottle(err):
			// AWS is short of quota for this account: slow everyone in
			// it down and ask again later; the query may well be done,
			// and failing it would throw its results away.
			ws.budget.throttled(now)
			ws.res.Throttled++
			toolkit.NoteThrottled(ctx)
		case err != nil:
			return ws.res, err
		default:
			ws.budget.answered(now)
			ws.res.Output, ws.last = out, out.Status
			if insightsTerminal(out.Status) {
				if out.Status == types.QueryStatusComplete && out.NextToken != nil {
					if err := insightsRemainingPages(ctx, e, ws.api, ws.id, out); err != nil {
						if ctx.Err() != nil {
							return ws.res, ctx.Err()
						}
						return ws.res, err
					}
				}
				return ws.res, nil
			}
		}
		if !now.Before(ws.deadline) {
			ws.res.TimedOut = true
			if ws.res.Output == nil {
				// Throttled throughout: report the query as still running.
				ws.res.Output = &cloudwatchlogs.GetQueryResultsOutput{Status: types.QueryStatusRunning}
			}
			if ws.w.StopOnTimeout {
				stopInsightsQuery(ctx, e, ws.api, ws.id, "wait timed out")
			}
			return ws.res, nil
		}
		if ws.w.OnPoll != nil && err == nil {
			ws.w.OnPoll(out, ws.res.Elapsed, ws.res.Polls)
		}
	}
}

// awaitNextPoll sleeps until the query's status is worth asking for
// again: the schedule's next poll or, while the identity's waits share a
// watch, the moment the watch no longer lists the query as running (then
// done is true), or watchDirectEvery has passed, or the deadline. Only
// ctx's cancellation is an error.
func (ws *waitState) awaitNextPoll(ctx context.Context) (done bool, err error) {
	e := ws.e
	for {
		now := e.Now()
		watching := ws.watch != nil && now.Sub(ws.start) >= watchAfter && ws.watch.shared()
		var at time.Time
		if watching {
			at = ws.watch.nextTick(now)
		} else {
			at = ws.start.Add(defaultPollPlan.at(ws.res.Polls+1, ws.lastPoll.Sub(ws.start)))
		}
		if at.After(ws.deadline) {
			at = ws.deadline
		}
		if d := at.Sub(now); d > 0 {
			if err := e.Sleep(ctx, d); err != nil {
				return false, err
			}
		}
		now = e.Now()
		ws.res.Elapsed = now.Sub(ws.start)
		if !watching || !now.Before(ws.deadline) || now.Sub(ws.lastPoll) >= watchDirectEvery {
			return false, nil
		}
		ids, err := ws.watch.running(ctx, e, ws.budget)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			// No logs:DescribeQueries permission, …: this wait polls the
			// query itself from here on.
			ws.watch.leave()
			ws.watch = nil
			return false, nil
		}
		if _, running := ids[ws.id]; running {
			continue
		}
		// Not running: done, or still Scheduled (a queued query is not in
		// the list either, so that one is asked on the schedule's pace).
		if ws.last != types.QueryStatusScheduled {
			return true, nil
		}
		if !now.Before(ws.start.Add(defaultPollPlan.at(ws.res.Polls+1, ws.lastPoll.Sub(ws.start)))) {
			return false, nil
		}
	}
}

// insightsRemainingPages appends the later pages of a complete query's rows
// (GetQueryResults returns at most 10,000 per call; awslabs drops the rest).
func insightsRemainingPages(ctx context.Context, e *toolkit.Env, api insightsAPI, queryID string, out *cloudwatchlogs.GetQueryResultsOutput) error {
	tok := out.NextToken
	for tok != nil {
		more, err := api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(queryID), NextToken: tok})
		if err != nil {
			return err
		}
		out.Results = append(out.Results, more.Results...)
		if more.NextToken != nil && aws.ToString(more.NextToken) == aws.ToString(tok) {
			break // a repeating token would loop forever
		}
		tok = more.NextToken
	}
	out.NextToken = nil
	return nil
}

// stopInsightsQuery stops a query on a context of its own: ctx may already
// be cancelled, and the stop must still reach AWS.
func stopInsightsQuery(ctx context.Context, e *toolkit.Env, api insightsAPI, queryID, why string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopQueryTimeout)
	defer cancel()
	_, err := api.StopQuery(sctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(queryID)})
	if e.Logger != nil {
		if err != nil && !errors.Is(err, context.Canceled) {
			e.Logger.Debug("stopping Logs Insights query failed", zap.String("query_id", queryID), zap.String("reason", why), zap.String("error", toolkit.ErrorMessage(err)))
		} else {
			e.Logger.Debug("stopped Logs Insights query", zap.String("query_id", queryID), zap.String("reason", why))
		}
	}
}
