package cognitoauth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
)

// gcraScript is the cluster-wide limiter: the generic cell rate
// algorithm (the token bucket of ratelimit.go, stored as one number) in
// one Lua script, so a decision is atomic however many instances ask.
//
// Each key holds an identity's theoretical arrival time (TAT) in
// microseconds of Redis's own clock (TIME), so instance clocks do not
// matter. A request is admitted when TAT + interval − burst × interval
// is not in the future; then TAT advances by one interval. A full bucket
// (no key, or a TAT in the past) admits burst requests at once, and one
// per interval after that, as golang.org/x/time/rate does. The key
// expires when the bucket would be full again.
//
// One run decides a batch of requests (see sharedLimiter): KEYS are the
// requests' identity keys in arrival order (a key may repeat: its
// requests are charged one after the other); ARGV[1] is the interval
// (µs, may be fractional), ARGV[2] the burst. It returns, per key, 0 when
// admitted, else the microseconds until it would be.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
	local tat = now
	local stored = redis.call('GET', key)
	if stored then
		tat = math.max(tonumber(stored), now)
	end
	local newtat = tat + interval
	local allowat = newtat - burst * interval
	if allowat > now then
		out[i] = math.ceil(allowat - now)
	else
		redis.call('SET', key, string.format('%.0f', newtat), 'PX', math.max(1, math.ceil((newtat - now) / 1000)))
		out[i] = 0
	end
end
return out
`)

// maxBatch bounds the keys of one script run.
const maxBatch = 128

// sharedLimiter decides a RateLimit in Redis. Concurrent requests are
// decided together, in one script run (a Batcher): under load that is
// one round trip and one script start for many requests, which is what
// keeps cluster mode's cost per request small.
type sharedLimiter struct {
	client *redisclient.Client
	// limits names the limits in the key, so handlers with other limits
	// have their own budget (as the per-instance stores do).
	limits   string
	interval string // µs per request
	burst    string
	batch    *redisclient.Batcher[*decision]
}

// decision is one request's question to Redis and its answer.
type decision struct {
	key  string
	wait time.Duration
	err  error
}

func newSharedLimiter(c *redisclient.Client, requests int, window time.Duration, burst int) *sharedLimiter {
	s := &sharedLimiter{
		client:   c,
		limits:   fmt.Sprintf("%d/%d burst %d", requests, window.Microseconds(), burst),
		interval: strconv.FormatFloat(float64(window.Microseconds())/float64(requests), 'f', -1, 64),
		burst:    strconv.Itoa(burst),
	}
	s.batch = redisclient.NewBatcher(maxBatch, s.decide)
	return s
}

// take charges one request of the identity and returns how long until it
// would be admitted (0: admitted now), or an error when Redis could not
// decide.
func (s *sharedLimiter) take(issuer, sub string) (time.Duration, error) {
	d := &decision{key: redisclient.Key("rl", issuer, sub, s.limits)}
	s.batch.Do(d)
	return d.wait, d.err
}

// decide runs the script once for a batch. Not a request's context: the
// run serves all of them, and the client's timeouts bound it.
func (s *sharedLimiter) decide(batch []*decision) {
	keys := make([]string, len(batch))
	for i, d := range batch {
		keys[i] = d.key
	}
	// EVALSHA, and EVAL (which loads the script) after a Redis restart.
	res, err := gcraScript.Run(context.Background(), s.client.Redis(), keys, s.interval, s.burst).Int64Slice()
	if err == nil && len(res) != len(batch) {
		err = errors.New("rate limit script: unexpected reply")
	}
	for i, d := range batch {
		if err != nil {
			d.err = err
			continue
		}
		d.wait = time.Duration(res[i]) * time.Microsecond
	}
}

// While Redis cannot decide, each instance limits with its own buckets.
// An operator hears of it at most once a minute per process (whatever the
// number of handlers), and once when Redis decides again.
const fallbackWarnEvery = time.Minute

var (
	fallbackWarnedAt atomic.Int64 // unix nanoseconds of the last warning
	fallingBack      atomic.Bool
)

// fellBack records a request decided by this instance because of err.
func (rl *RateLimit) fellBack(err error, now time.Time) {
	rateLimitFallbacks.Inc()
	fallingBack.Store(true)
	last := fallbackWarnedAt.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < fallbackWarnEvery {
		return
	}
	if !fallbackWarnedAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	cause := err.Error()
	if errors.Is(err, redisclient.ErrUnavailable) {
		// The breaker refused without asking: name what opened it.
		cause = rl.shared.client.Status().LastError
	}
	rl.auth.logger.Warn("Redis cannot decide rate limits; each instance limits with its own buckets until it can (logged at most once a minute)",
		zap.String("redis", rl.shared.client.String()), zap.String("error", cause))
}

// decided records a request decided in Redis, and says so once after a
// fallback.
func (rl *RateLimit) decided() {
	if fallingBack.Load() && fallingBack.CompareAndSwap(true, false) {
		rl.auth.logger.Info("Redis decides rate limits again: one budget per user across instances",
			zap.String("redis", rl.shared.client.String()))
	}
}
