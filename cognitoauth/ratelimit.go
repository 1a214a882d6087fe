package cognitoauth

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"
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

	store    *limiterStore
	storeKey string
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
		return newLimiterStore(limit, burst, maxRateLimiters), nil
	})
	if err != nil {
		rl.storeKey = ""
		return err
	}
	rl.store = v.(*limiterStore)
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
	if rl == nil || rl.store == nil {
		return false, nil
	}
	wait := rl.store.take(id.Issuer+"\x00"+id.Subject, now)
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

// limiterStore holds one token bucket per identity in an LRU list. Idle
// entries are swept from the cold end on every call, so there is no
// background goroutine to stop.
type limiterStore struct {
	limit rate.Limit
	burst int
	max   int
	// idle is how long a bucket takes to refill completely: an entry idle
	// that long is indistinguishable from a new one, so dropping it loses
	// nothing.
	idle time.Duration

	mu    sync.Mutex
	ll    *list.List // front = most recently used
	items map[string]*list.Element
}

type limiterEntry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

func newLimiterStore(limit rate.Limit, burst, max int) *limiterStore {
	idle := time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	return &limiterStore{limit: limit, burst: burst, max: max, idle: idle,
		ll: list.New(), items: make(map[string]*list.Element)}
}

// take spends one token of key's bucket at now. It returns 0 when the
// request is admitted, else how long until it would be (and spends
// nothing).
func (s *limiterStore) take(key string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	var e *limiterEntry
	if el, ok := s.items[key]; ok {
		e = el.Value.(*limiterEntry)
		s.ll.MoveToFront(el)
	} else {
		e = &limiterEntry{key: key, lim: rate.NewLimiter(s.limit, s.burst)}
		s.items[key] = s.ll.PushFront(e)
		for s.ll.Len() > s.max {
			s.remove(s.ll.Back())
		}
	}
	if now.After(e.last) {
		e.last = now
	}
	res := e.lim.ReserveN(now, 1)
	if !res.OK() {
		return s.idle
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops entries that have been idle for a full refill.
func (s *limiterStore) sweep(now time.Time) {
	for el := s.ll.Back(); el != nil; el = s.ll.Back() {
		if now.Sub(el.Value.(*limiterEntry).last) < s.idle {
			return
		}
		s.remove(el)
	}
}

func (s *limiterStore) remove(el *list.Element) {
	s.ll.Remove(el)
	delete(s.items, el.Value.(*limiterEntry).key)
}

func (s *limiterStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len()
}

// Destruct frees the buckets once no config uses the store.
func (s *limiterStore) Destruct() error {
	s.mu.Lock()
	s.ll.Init()
	s.items = map[string]*list.Element{}
	s.mu.Unlock()
	return nil
}
