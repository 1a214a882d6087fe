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
// one Lua script, so a decision is one atomic round trip however many
// instances ask.
//
// The key holds the identity's theoretical arrival time (TAT) in
// microseconds of Redis's own clock (TIME), so instance clocks do not
// matter. A request is admitted when TAT + interval − burst × interval
// is not in the future; then TAT advances by one interval. A full bucket
// (no key, or a TAT in the past) admits burst requests at once, and one
// per interval after that, as golang.org/x/time/rate does. The key
// expires when the bucket would be full again.
//
// KEYS[1]: the identity's key; ARGV[1]: interval (µs, may be
// fractional); ARGV[2]: burst. Returns {1, 0} when admitted, else {0,
// microseconds until it would be}.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
	tat = math.max(tonumber(stored), now)
end
local newtat = tat + interval
local allowat = newtat - burst * interval
if allowat > now then
	return {0, math.ceil(allowat - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', math.max(1, math.ceil((newtat - now) / 1000)))
return {1, 0}
`)

// sharedLimiter decides a RateLimit in Redis.
type sharedLimiter struct {
	client *redisclient.Client
	// limits names the limits in the key, so handlers with other limits
	// have their own budget (as the per-instance stores do).
	limits   string
	interval string // µs per request
	burst    string
}

func newSharedLimiter(c *redisclient.Client, requests int, window time.Duration, burst int) *sharedLimiter {
	return &sharedLimiter{
		client:   c,
		limits:   fmt.Sprintf("%d/%d burst %d", requests, window.Microseconds(), burst),
		interval: strconv.FormatFloat(float64(window.Microseconds())/float64(requests), 'f', -1, 64),
		burst:    strconv.Itoa(burst),
	}
}

// take charges one request of the identity and returns how long until it
// would be admitted (0: admitted now), or an error when Redis could not
// decide.
func (s *sharedLimiter) take(ctx context.Context, issuer, sub string) (time.Duration, error) {
	key := redisclient.Key("rl", issuer, sub, s.limits)
	res, err := gcraScript.Run(ctx, s.client.Redis(), []string{key}, s.interval, s.burst).Int64Slice()
	if err != nil {
		return 0, err
	}
	if len(res) != 2 {
		return 0, errors.New("rate limit script: unexpected reply")
	}
	if res[0] == 1 {
		return 0, nil
	}
	return time.Duration(res[1]) * time.Microsecond, nil
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
	rl.auth.logger.Warn("Redis cannot decide rate limits; each instance limits with its own buckets until it can (logged at most once a minute)",
		zap.String("redis", rl.shared.client.String()), zap.Error(err))
}

// decided records a request decided in Redis, and says so once after a
// fallback.
func (rl *RateLimit) decided() {
	if fallingBack.Load() && fallingBack.CompareAndSwap(true, false) {
		rl.auth.logger.Info("Redis decides rate limits again: one budget per user across instances",
			zap.String("redis", rl.shared.client.String()))
	}
}
