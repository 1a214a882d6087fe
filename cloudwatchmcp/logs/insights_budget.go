package logs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// CloudWatch Logs request quotas are per account and region, shared by
// every user, dashboard and script in that account. All Logs Insights
// polling this handler does for one (account, region), whoever's
// credentials sign it, shares one token bucket (insights_poll_rate), so N
// users waiting never poll faster than the budget: their waits slow down
// instead. Throttling from AWS halves that account's bucket and each
// answered request wins a little back (AIMD), so the rate settles under
// whatever else the account is spending.
const (
	// DefaultInsightsPollRate and DefaultInsightsPollBurst: a third of the
	// default 5–6 TPS GetQueryResults quota, and enough burst for one
	// person's short queries to get their early polls at once.
	DefaultInsightsPollRate  = 2.0
	DefaultInsightsPollBurst = 10

	// budgetIdle: a bucket unused this long is dropped (when more than
	// budgetKeep are kept); its next user starts with a full burst.
	budgetIdle = 10 * time.Minute
	budgetKeep = 256
	// aimdCutEvery: at most one halving per this long. The requests in
	// flight or already granted when AWS started throttling come back
	// throttled too; one cut answers them all.
	aimdCutEvery = 2 * time.Second
	// aimdFloorDiv: the rate never drops below 1/aimdFloorDiv of the
	// configured one, so waits always progress.
	aimdFloorDiv = 20
	// aimdStepDiv: each request answered unthrottled adds 1/aimdStepDiv of
	// the configured rate back, so a cut is recovered after about
	// aimdStepDiv/2 requests and throttling recurs rarely.
	aimdStepDiv = 50
)

// pollBudgets holds the buckets per (account, region).
type pollBudgets struct {
	rate  float64
	burst int

	mu    sync.Mutex
	byKey map[string]*pollBudget
}

func newPollBudgets(perSecond float64, burst int) *pollBudgets {
	if perSecond <= 0 {
		perSecond = DefaultInsightsPollRate
	}
	if burst <= 0 {
		burst = DefaultInsightsPollBurst
	}
	return &pollBudgets{rate: perSecond, burst: burst, byKey: map[string]*pollBudget{}}
}

// pollBudget is one (account, region)'s bucket.
type pollBudget struct {
	ceiling float64
	burst   int

	mu sync.Mutex
	// tat is the theoretical arrival time of the next request (GCRA): each
	// grant moves it one interval (1/cur) on, and a request may go up to
	// burst−1 intervals ahead of it. Unlike a token bucket, a grant is
	// never earlier than one granted before at a lower rate, so a change
	// of rate cannot bunch requests up.
	tat      time.Time
	cur      float64
	lastCut  time.Time
	lastUsed time.Time
}

func (bs *pollBudgets) get(key string, now time.Time) *pollBudget {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.byKey[key]; ok {
		b.touch(now)
		return b
	}
	if len(bs.byKey) >= budgetKeep {
		for k, b := range bs.byKey {
			if b.idle(now) {
				delete(bs.byKey, k)
			}
		}
	}
	b := &pollBudget{ceiling: bs.rate, burst: bs.burst, cur: bs.rate, lastUsed: now}
	bs.byKey[key] = b
	return b
}

func (b *pollBudget) touch(now time.Time) {
	b.mu.Lock()
	b.lastUsed = now
	b.mu.Unlock()
}

func (b *pollBudget) idle(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Sub(b.lastUsed) > budgetIdle
}

// wait takes one request from the bucket, sleeping (on e's clock) until
// it is granted, but not past until: a wait that reaches its own deadline
// makes its last request anyway, on credit. It returns how long it slept.
func (b *pollBudget) wait(ctx context.Context, e *toolkit.Env, until time.Time) (time.Duration, error) {
	now := e.Now()
	slot := b.reserve(now, until)
	d := slot.Sub(now)
	if d <= 0 {
		return 0, nil
	}
	if err := e.Sleep(ctx, d); err != nil {
		return 0, err
	}
	return d, nil
}

// reserve grants the next request a time, no later than until.
func (b *pollBudget) reserve(now, until time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastUsed = now
	interval := time.Duration(float64(time.Second) / b.cur)
	if b.tat.Before(now) {
		b.tat = now
	}
	burst := b.burst
	if b.cur < b.ceiling {
		// Below the configured rate the burst is 1: a burst saved up while
		// slowed down would hit the quota AWS just said is spent at once.
		burst = 1
	}
	slot := b.tat.Add(-time.Duration(burst-1) * interval)
	if slot.Before(now) {
		slot = now
	}
	if slot.After(until) {
		slot = until
	}
	b.tat = b.tat.Add(interval)
	return slot
}

// spend takes one request without waiting (the final fetch of a query
// known to be done): the bucket goes into debt, which later waits repay.
func (b *pollBudget) spend(now time.Time) { b.reserve(now, now) }

// throttled halves the bucket's rate, at most once per aimdCutEvery.
func (b *pollBudget) throttled(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.lastCut.IsZero() && now.Sub(b.lastCut) < aimdCutEvery {
		return
	}
	b.lastCut = now
	b.cur = max(b.cur/2, b.ceiling/aimdFloorDiv)
}

// answered wins back a step of the rate after a request AWS did not
// throttle.
func (b *pollBudget) answered(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur >= b.ceiling {
		return
	}
	b.cur = min(b.cur+b.ceiling/aimdStepDiv, b.ceiling)
}

// limit is the bucket's current rate.
func (b *pollBudget) limit() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// budgetFor returns the bucket of the account and region api's
// credentials act in. An account that cannot be learned (STS refused)
// falls back to the identity's own bucket: still bounded, only not shared.
func budgetFor(ctx context.Context, e *toolkit.Env, api insightsAPI) *pollBudget {
	o := api.Options()
	key := "?|" + o.Region
	if o.Credentials != nil {
		if acct, err := e.AccountID(ctx, o.Credentials, o.Region); err == nil {
			key = acct + "|" + o.Region
		} else if c, err := o.Credentials.Retrieve(ctx); err == nil {
			key = "key:" + c.AccessKeyID + "|" + o.Region
		}
	}
	return stateOf(e).budgets.get(key, e.Now())
}

// isThrottle reports whether err is AWS refusing a request for its rate.
func isThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "LimitExceededException", "TooManyRequestsException", "RequestLimitExceeded":
			return true
		}
	}
	return false
}

// noThrottleRetries leaves throttling of scheduled Insights requests to
// the budget: the SDK's retryer would retry a ThrottlingException within
// milliseconds, each attempt another request against the quota AWS just
// said is spent, and hide it from the bucket.
func noThrottleRetries(o *cloudwatchlogs.Options) {
	if o.Retryer != nil {
		o.Retryer = throttleNotRetried{o.Retryer}
	}
}

type throttleNotRetried struct{ aws.Retryer }

func (r throttleNotRetried) IsErrorRetryable(err error) bool {
	return !isThrottle(err) && r.Retryer.IsErrorRetryable(err)
}

func (r throttleNotRetried) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}

// Interface guards
var _ aws.RetryerV2 = throttleNotRetried{}
