package cognitoauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/keylimit"
)

// maxRateLimiters bounds the per-identity limiters of one rate limit, so
// memory stays bounded however many identities the issuer has. Identities
// only exist once their token verified, so reaching it takes that many
// real users active within one refill period.
const maxRateLimiters = 100000

// RateLimit bounds how many requests each verified identity may make. The
// identity is the token's issuer and sub, so a user's budget is shared by
// all their tokens and clients, and one user cannot spend another's. Each
// identity has a token bucket (golang.org/x/time/rate) that holds burst
// requests and refills at requests per window: `rate_limit 20 1m` admits
// 20 requests at once and then one every 3s. A request over the limit is
// answered 429 Too Many Requests with Retry-After (seconds until the
// bucket admits it) before any AWS credentials are vended.
//
// Buckets survive config reloads as long as the issuer and the limits
// stay the same; handlers with the same issuer and limits share one budget
// per identity. An identity idle long enough for its bucket to refill is
// forgotten (it would start full anyway), and at most 100000 identities
// are tracked, least recently seen dropped first.
type RateLimit struct {
	// Requests is how many requests an identity may make per window.
	// Required, at least 1.
	Requests int `json:"requests,omitempty"`

	// Window is the period over which requests are allowed, e.g. 1m.
	// Required, between 1s and 24h.
	Window caddy.Duration `json:"window,omitempty"`

	// Burst is how many requests an identity may make at once when its
	// bucket is full. Default: requests.
	Burst int `json:"burst,omitempty"`

	store    *keylimit.Store
	storeKey string
	shared   *sharedLimiter // with redis: the cluster-wide budget
	auth     *CognitoAuth
}

func (rl *RateLimit) burst() int {
	if rl.Burst > 0 {
		return rl.Burst
	}
	return rl.Requests
}

func (rl *RateLimit) validate() error {
	if rl == nil {
		return nil
	}
	if rl.Requests < 1 {
		return errors.New("rate_limit: requests must be at least 1")
	}
	if w := time.Duration(rl.Window); w < time.Second || w > 24*time.Hour {
		return fmt.Errorf("rate_limit: window must be between 1s and 24h, not %v", w)
	}
	if rl.Burst < 0 {
		return errors.New("rate_limit: burst must not be negative")
	}
	return nil
}

// rateLimiters shares the limiter stores across config reloads, the way
// caddy-ratelimit keeps its zones: a reload that keeps the limits keeps
// every identity's bucket.
var rateLimiters = caddy.NewUsagePool()

// provision attaches the shared store for this issuer and these limits.
func (rl *RateLimit) provision(m *CognitoAuth) error {
	if rl == nil {
		return nil
	}
	if err := rl.validate(); err != nil {
		return err
	}
	rl.auth = m
	limit := rate.Limit(float64(rl.Requests) / time.Duration(rl.Window).Seconds())
	burst := rl.burst()
	rl.storeKey = fmt.Sprintf("%s %d/%s burst %d", m.issuer, rl.Requests, time.Duration(rl.Window), burst)
	v, _, err := rateLimiters.LoadOrNew(rl.storeKey, func() (caddy.Destructor, error) {
		return keylimit.New(limit, burst, maxRateLimiters), nil
	})
	if err != nil {
		rl.storeKey = ""
		return err
	}
	rl.store = v.(*keylimit.Store)
	if m.redis != nil {
		rl.shared = newSharedLimiter(m.redis, rl.Requests, time.Duration(rl.Window), burst)
	}
	return nil
}

// cleanup releases the store; the last config using it frees it.
func (rl *RateLimit) cleanup() error {
	if rl == nil || rl.storeKey == "" {
		return nil
	}
	_, err := rateLimiters.Delete(rl.storeKey)
	rl.storeKey, rl.store = "", nil
	return err
}

// errRateLimited is the reason given to callers over their limit.
var errRateLimited = errors.New("rate limit exceeded")

// admit charges one request to id at now. Over the limit, it answers 429
// and returns handled=true.
func (rl *RateLimit) admit(w http.ResponseWriter, r *http.Request, id *Identity, now time.Time) (handled bool, err error) {
	if rl == nil {
		return false, nil
	}
	store := rl.store
	if store == nil {
		return false, nil
	}
	wait := rl.wait(store, id, now)
	if wait <= 0 {
		return false, nil
	}
	// Whole seconds, rounded up: a client that waits exactly this long is
	// admitted.
	retry := int64(math.Ceil(wait.Seconds()))
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(errorPlaceholder, errRateLimited.Error())
	}
	validationRateLimited.Inc()
	// INFO, but sampled per identity: an operator sees who hits the limit,
	// and a client hammering past it cannot flood the log.
	if c := rl.auth.logger.Check(zapcore.InfoLevel, "rate limited"); c != nil {
		if ok, suppressed := rl.auth.sampler.allow("429\x00"+id.Issuer+"\x00"+id.Subject, now); ok {
			fields := []zap.Field{zap.String("sub", logValue(id.Subject)), zap.String("client_ip", clientIP(r)),
				zap.Int64("retry_after", retry), zap.String("uri_path", logValue(r.URL.Path))}
			if suppressed > 0 {
				fields = append(fields, zap.Int("suppressed", suppressed))
			}
			c.Write(fields...)
		}
	}
	h := w.Header()
	h.Set("Retry-After", strconv.FormatInt(retry, 10))
	h.Set("Cache-Control", "no-store")
	if hasErrorRoutes(r) {
		return true, caddyhttp.Error(http.StatusTooManyRequests, errRateLimited)
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"rate_limited", errRateLimited.Error() + ", retry after " + strconv.FormatInt(retry, 10) + "s"})
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(body)
	return true, nil
}

// wait charges one request of id and returns how long until it would be
// admitted (0: admitted). With redis, Redis decides for the whole
// cluster; when it cannot, this instance's bucket does.
func (rl *RateLimit) wait(store *keylimit.Store, id *Identity, now time.Time) time.Duration {
	if rl.shared != nil {
		wait, err := rl.shared.take(id.Issuer, id.Subject)
		if err == nil {
			rl.decided()
			return wait
		}
		rl.fellBack(err, now)
	}
	return store.Take(id.Issuer+"\x00"+id.Subject, now)
}
