package cognitoauth

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/promreg"
)

// The collectors are package-level, like Caddy's own admin and config
// metrics: every config load gets a fresh registry (caddy.Context), and
// registering the same collectors there keeps counters monotonic across
// reloads instead of resetting them. Every label value comes from a fixed
// set in this package, never from a token, claim or request.
const (
	metricsNamespace = "caddy"
	metricsSubsystem = "cognito_auth"
)

// Values of the result label of caddy_cognito_auth_validations_total.
const (
	resultOK          = "ok"           // authenticated (and authorized, and vended when configured)
	resultMissing     = "missing"      // no bearer token: the initial 401 challenge
	resultInvalid     = "invalid"      // malformed, bad signature, wrong issuer/audience/client, ...
	resultExpired     = "expired"      // signature fine, exp (plus leeway) has passed
	resultForbidden   = "forbidden"    // valid token, but scope, group or AWS refused it (403)
	resultUnavailable = "unavailable"  // signing keys or AWS credentials unavailable (503)
	resultRateLimited = "rate_limited" // valid token, over the identity's rate_limit (429)
)

// reasonExpired is the rejection reason checkClaims gives for an expired
// token; the expired result is recognised by it.
const reasonExpired = "token expired"

var (
	// validationsTotal counts the middleware's verdict per request that
	// needed one (the PRM document, CORS preflights and disabled mode do
	// not). It is the record of unauthenticated requests (missing, invalid,
	// expired), which are logged at DEBUG only, and of rate-limited ones,
	// whose INFO lines are sampled.
	validationsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "validations_total",
		Help:      "Bearer token validations by result (ok, missing, invalid, expired, forbidden, unavailable, rate_limited).",
	}, []string{"result"})

	// jwksFetchesTotal counts loads of an issuer's signing keys: on demand
	// (first use, unknown kid) and jwk.Cache's periodic background refresh.
	jwksFetchesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "jwks_fetches_total",
		Help:      "Signing key (JWKS, with OIDC discovery when needed) fetches by result (ok, error).",
	}, []string{"result"})

	// vendExchangesTotal counts credential exchanges with AWS. Concurrent
	// requests of one user share one exchange, and cache hits make none.
	vendExchangesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "vend_exchanges_total",
		Help:      "AWS credential exchanges by vending mode and result (ok, refused, error).",
	}, []string{"mode", "result"})

	// vendDuration is how long one exchange took, retries included.
	vendDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "vend_duration_seconds",
		Help:      "Duration of AWS credential exchanges by vending mode.",
		Buckets:   []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"mode"})

	// credentialCacheLookupsTotal counts vended-credential cache lookups:
	// hit (fresh), refresh (still valid, served while a renewal runs) and
	// miss (the request waits for an exchange).
	credentialCacheLookupsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "credential_cache_lookups_total",
		Help:      "Vended AWS credential cache lookups by result (hit, refresh, miss).",
	}, []string{"result"})
)

// rateLimitFallbacks counts requests whose rate limit this instance
// decided with its own buckets because the configured Redis could not
// (down, too slow, or failing). Alert on its rate: meanwhile the limit is
// per instance, not per cluster.
var rateLimitFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: metricsNamespace,
	Subsystem: metricsSubsystem,
	Name:      "rate_limit_fallbacks_total",
	Help:      "Requests whose rate limit was decided by this instance's own buckets because Redis could not decide.",
})

// Children resolved once, so the per-request paths only add atomically.
var (
	validationOK          = validationsTotal.WithLabelValues(resultOK)
	validationMissing     = validationsTotal.WithLabelValues(resultMissing)
	validationInvalid     = validationsTotal.WithLabelValues(resultInvalid)
	validationExpired     = validationsTotal.WithLabelValues(resultExpired)
	validationForbidden   = validationsTotal.WithLabelValues(resultForbidden)
	validationUnavailable = validationsTotal.WithLabelValues(resultUnavailable)
	validationRateLimited = validationsTotal.WithLabelValues(resultRateLimited)

	jwksFetchOK    = jwksFetchesTotal.WithLabelValues("ok")
	jwksFetchError = jwksFetchesTotal.WithLabelValues("error")

	credCacheHit     = credentialCacheLookupsTotal.WithLabelValues("hit")
	credCacheRefresh = credentialCacheLookupsTotal.WithLabelValues("refresh")
	credCacheMiss    = credentialCacheLookupsTotal.WithLabelValues("miss")
)

// verifyDuration times full verifications of tokens that passed: the
// latency auth adds for a token the verified-token cache has not seen
// (signature, claims, and any wait for signing keys). Cache hits are not
// timed: they cost microseconds, and reading the clock on every request
// would cost the hot path a measurable share. Rejected tokens are left out
// so that floods of garbage do not flatter the percentiles; their count is
// in validations_total.
var verifyDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
	Namespace: metricsNamespace,
	Subsystem: metricsSubsystem,
	Name:      "verify_duration_seconds",
	Help:      "Duration of full verifications of accepted tokens (verified-token cache misses), waits for signing keys included.",
	Buckets:   []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
})

var collectors = []prometheus.Collector{
	validationsTotal, jwksFetchesTotal, vendExchangesTotal, vendDuration, credentialCacheLookupsTotal,
	verifyDuration, rateLimitFallbacks,
}

// registerMetrics adds the collectors to a config's registry. Several
// cognito_auth handlers provision against the same registry, so finding
// our own collectors already there is fine; anything else is a clash.
func registerMetrics(reg *prometheus.Registry) error {
	return promreg.Register(reg, collectors...)
}

// countRejection records the verdict of a rejected request.
func countRejection(e *authError) {
	switch {
	case e == errNoToken:
		validationMissing.Inc()
	case e.status == http.StatusForbidden:
		validationForbidden.Inc()
	case e.status == http.StatusServiceUnavailable:
		validationUnavailable.Inc()
	case e.reason == reasonExpired:
		validationExpired.Inc()
	default:
		validationInvalid.Inc()
	}
}

// countJWKSFetch records one key set load.
func countJWKSFetch(err error) {
	if err != nil {
		jwksFetchError.Inc()
	} else {
		jwksFetchOK.Inc()
	}
}

// countCredCacheLookup records what the credentials cache offered.
func countCredCacheLookup(creds *Credentials, fresh bool) {
	switch {
	case fresh:
		credCacheHit.Inc()
	case creds != nil:
		credCacheRefresh.Inc()
	default:
		credCacheMiss.Inc()
	}
}

// observeExchange records one AWS credential exchange of mode. Exchanges
// are rare (one per user per credential lifetime), so resolving the
// children here costs nothing worth caching.
func observeExchange(mode string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
		if isRefusal(err) {
			result = "refused"
		}
	}
	vendExchangesTotal.WithLabelValues(mode, result).Inc()
	vendDuration.WithLabelValues(mode).Observe(time.Since(start).Seconds())
}

// countFetch records an on-demand fetch; its success enables counting
// jwk.Cache's background refreshes.
func (s *keySource) countFetch(err error) {
	countJWKSFetch(err)
	if err == nil {
		s.loaded.Store(true)
	}
}

// countBackgroundFetch records a jwk.Cache refresh. Before the first
// on-demand fetch has succeeded, the cache's callbacks belong to that
// fetch, which counts itself.
func (s *keySource) countBackgroundFetch(err error) {
	if s.loaded.Load() {
		countJWKSFetch(err)
	}
}

// jwksErrSink receives the errors of jwk.Cache's background refreshes.
type jwksErrSink struct{ s *keySource }

func (e jwksErrSink) Error(err error) { e.s.countBackgroundFetch(err) }

// verifyTimed is verifyToken timed into verifyDuration; only cache misses
// call it.
func (m *CognitoAuth) verifyTimed(tok string, now time.Time) (*Identity, *authError) {
	start := time.Now()
	id, aerr := m.verifyToken(tok, now)
	if aerr == nil {
		verifyDuration.Observe(time.Since(start).Seconds())
	}
	return id, aerr
}
