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
}

// insightsSchedule spaces GetQueryResults calls. The gap after a poll is a
// fixed fraction of the time already waited, clamped to [Initial, Max]: a
// query that finishes quickly is noticed within Initial, and a long one
// costs few calls (GetQueryResults has a low per-account TPS quota), while
// the detection delay stays a bounded share of the query's own run time.
// awslabs polls every second, which adds up to a second to every query.
type insightsSchedule struct {
	Initial  time.Duration
	Max      time.Duration
	Fraction float64
}

// defaultInsightsSchedule polls every 150 ms for the first 1.2 s, stays at
// or under 250 ms for the first 2 s, and reaches 1 s after 8 s: most
// interactive queries finish within a few seconds, and their results then
// arrive a small fraction of a second after completion, at about 4 calls
// per second at most (GetQueryResults has a low per-account quota; the SDK's
// retryer absorbs throttling).
var defaultInsightsSchedule = insightsSchedule{Initial: 150 * time.Millisecond, Max: time.Second, Fraction: 0.125}

// next returns the gap before the next poll after waiting elapsed.
func (s insightsSchedule) next(elapsed time.Duration) time.Duration {
	if s.Initial <= 0 {
		s = defaultInsightsSchedule
	}
	d := time.Duration(float64(elapsed) * s.Fraction)
	if d < s.Initial {
		d = s.Initial
	}
	if s.Max > 0 && d > s.Max {
		d = s.Max
	}
	return d
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
	// Schedule spaces the polls; zero is defaultInsightsSchedule.
	Schedule insightsSchedule
	// OnPoll, if set, sees every poll that did not finish the query.
	OnPoll func(out *cloudwatchlogs.GetQueryResultsOutput, elapsed time.Duration, polls int)
	// Running, if set, lists the queries running now (a shared, recent
	// DescribeQueries: insights_watch.go). After watchAfter, the wait looks
	// there every watchGap instead of polling the query itself; on an
	// error it goes back to polling.
	Running func(ctx context.Context) (map[string]struct{}, error)
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
}

// insightsTerminal reports whether a status is final. Anything but
// Scheduled and Running is: Complete, Failed, Cancelled, Timeout, Unknown.
func insightsTerminal(s types.QueryStatus) bool {
	return s != types.QueryStatusScheduled && s != types.QueryStatusRunning
}

// stopQueryTimeout bounds the StopQuery sent after the caller went away.
const stopQueryTimeout = 5 * time.Second

// waitInsightsQuery polls queryID until it reaches a final status or the
// wait times out. On cancellation of ctx (the client cancelled or
// disconnected) it stops the query, since nobody will read its results and
// it would otherwise hold one of the account's concurrent-query slots, and
// returns ctx's error. A GetQueryResults failure is returned as is.
func waitInsightsQuery(ctx context.Context, e *toolkit.Env, api insightsAPI, queryID string, w insightsWait) (insightsOutcome, error) {
	timeout := w.Timeout
	if e.MaxQueryTimeout > 0 && timeout > e.MaxQueryTimeout {
		timeout = e.MaxQueryTimeout
	}
	if timeout < 0 {
		timeout = 0
	}
	start := e.Now()
	deadline := start.Add(timeout)
	res := insightsOutcome{Timeout: timeout}
	for {
		out, err := api.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(queryID)})
		if ctx.Err() != nil {
			stopInsightsQuery(ctx, e, api, queryID, "client cancelled")
			return res, ctx.Err()
		}
		if err != nil {
			return res, err
		}
		res.Polls++
		res.Output = out
		now := e.Now()
		res.Elapsed = now.Sub(start)
		if insightsTerminal(out.Status) {
			if out.Status == types.QueryStatusComplete && out.NextToken != nil {
				if err := insightsRemainingPages(ctx, e, api, queryID, out); err != nil {
					if ctx.Err() != nil {
						return res, ctx.Err()
					}
					return res, err
				}
			}
			return res, nil
		}
		if !now.Before(deadline) {
			res.TimedOut = true
			if w.StopOnTimeout {
				stopInsightsQuery(ctx, e, api, queryID, "wait timed out")
			}
			return res, nil
		}
		if w.OnPoll != nil {
			w.OnPoll(out, res.Elapsed, res.Polls)
		}
		if err := awaitNextPoll(ctx, e, &w, queryID, out.Status, start, deadline, &res); err != nil {
			stopInsightsQuery(ctx, e, api, queryID, "client cancelled")
			return res, err
		}
	}
}

// awaitNextPoll sleeps until the query's status is worth asking for again:
// the schedule's gap, or, once watching, the moment the shared list of
// running queries no longer shows it (or watchDirectEvery has passed, or
// the deadline). Only ctx's cancellation is an error.
func awaitNextPoll(ctx context.Context, e *toolkit.Env, w *insightsWait, queryID string, last types.QueryStatus, start, deadline time.Time, res *insightsOutcome) error {
	lastPoll := e.Now()
	for {
		now := e.Now()
		watching := w.Running != nil && now.Sub(start) >= watchAfter
		gap := w.Schedule.next(now.Sub(start))
		if watching {
			gap = watchGap
		}
		if left := deadline.Sub(now); gap > left {
			gap = left
		}
		if err := e.Sleep(ctx, gap); err != nil {
			return err
		}
		now = e.Now()
		res.Elapsed = now.Sub(start)
		if !watching || !now.Before(deadline) || now.Sub(lastPoll) >= watchDirectEvery {
			return nil
		}
		ids, err := w.Running(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// No logs:DescribeQueries permission, throttling, …: this wait
			// polls the query itself from here on.
			w.Running = nil
			return nil
		}
		if _, running := ids[queryID]; running {
			continue
		}
		// Not running: done, or still Scheduled (a queued query is not in
		// the list either, so that one is asked on the schedule's pace).
		if last != types.QueryStatusScheduled || now.Sub(lastPoll) >= w.Schedule.next(res.Elapsed) {
			return nil
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
