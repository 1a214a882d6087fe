package cognitoauth

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/promreg"
	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

// scrape gathers reg the way the metrics endpoint does and flattens our
// series to `name{label="value",...}` -> value (histograms as _count).
func scrape(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out, err := promreg.Flatten(reg, "caddy_cognito_auth_")
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return out
}

// metricsModule provisions m in its own config context, as a config load
// would, and returns the registry that context's metrics endpoint serves.
func metricsModule(t testing.TB, m *CognitoAuth) (*CognitoAuth, *prometheus.Registry) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := m.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() { _ = m.Cleanup() })
	if err := m.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	m.logger = zap.NewNop()
	return m, ctx.GetMetricsRegistry()
}

// wantDeltas compares two scrapes: every listed series changed by exactly
// its value, and every other series did not change.
func wantDeltas(t testing.TB, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	for k := range want {
		if _, ok := after[k]; !ok {
			t.Errorf("series %s not exposed; have %v", k, keys(after))
		}
	}
	for k, v := range after {
		if d := v - before[k]; d != want[k] {
			t.Errorf("%s changed by %v, want %v", k, d, want[k])
		}
	}
}

func keys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestValidationMetrics(t *testing.T) {
	is := newCognitoIssuer(t)
	m, reg := metricsModule(t, &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(),
		ClientIDs: []string{testClient}, Scopes: []string{"mcp/read"}})
	sub := "sub-7c1f0e9a-metrics"
	good := is.Mint(is.CognitoAccessClaims(sub, testClient).With("scope", "mcp/read"))
	before := scrape(t, reg)

	steps := []struct {
		tok    string
		status int
	}{
		{good, 200},
		{good, 200}, // token cache hit: still a validation
		{"", 401},
		{"not.a.jwt", 401},
		{is.Mint(is.CognitoAccessClaims(sub, "other-client").With("scope", "mcp/read")), 401},
		{is.Mint(is.CognitoAccessClaims(sub, testClient).With("scope", "mcp/read").With("exp", time.Now().Add(-time.Hour).Unix())), 401},
		{is.Mint(is.CognitoAccessClaims(sub, testClient)), 403}, // no scope
	}
	for i, s := range steps {
		if res := serve(t, m, bearerRequest(s.tok)); res.rec.Code != s.status {
			t.Fatalf("step %d: status %d, want %d", i, res.rec.Code, s.status)
		}
	}
	// Not a validation: the PRM document and CORS preflights.
	serve(t, m, httptestRequest(http.MethodGet, "http://mcp.example.com/.well-known/oauth-protected-resource"))
	pre := httptestRequest(http.MethodOptions, "http://mcp.example.com/mcp")
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	serve(t, m, pre)

	after := scrape(t, reg)
	wantDeltas(t, before, after, map[string]float64{
		`caddy_cognito_auth_validations_total{result="ok"}`:        2,
		`caddy_cognito_auth_validations_total{result="missing"}`:   1,
		`caddy_cognito_auth_validations_total{result="invalid"}`:   2,
		`caddy_cognito_auth_validations_total{result="expired"}`:   1,
		`caddy_cognito_auth_validations_total{result="forbidden"}`: 1,
		`caddy_cognito_auth_jwks_fetches_total{result="ok"}`:       1,
		// Timed: the first good token and the scope-less one, which
		// verified before the scope check refused it. Not the cache hit,
		// not the rejected tokens.
		`caddy_cognito_auth_verify_duration_seconds_count{}`: 2,
	})
	// Every result is exposed from the start, so rate() works at once.
	for _, r := range []string{"unavailable", "rate_limited"} {
		if _, ok := after[`caddy_cognito_auth_validations_total{result="`+r+`"}`]; !ok {
			t.Errorf("%s series missing", r)
		}
	}
	wantNoSecrets(t, after, sub, good)
}

func TestJWKSFetchMetrics(t *testing.T) {
	is := newCognitoIssuer(t)
	m, reg := metricsModule(t, &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL()})
	clock := useFakeClock(m)
	mint := func() string { return is.Mint(is.CognitoAccessClaims("u", testClient)) }

	// Cold start with the issuer down: 503, one failed fetch.
	is.SetDown(true)
	before := scrape(t, reg)
	if res := serve(t, m, bearerRequest(mint())); res.rec.Code != 503 {
		t.Fatalf("status %d", res.rec.Code)
	}
	wantDeltas(t, before, scrape(t, reg), map[string]float64{
		`caddy_cognito_auth_validations_total{result="unavailable"}`: 1,
		`caddy_cognito_auth_jwks_fetches_total{result="error"}`:      1,
	})

	// Recovery, then a rotation: one fetch each, none for known keys.
	is.SetDown(false)
	is.ResetCounters()
	clock.advance(restPeriod + time.Second)
	before = scrape(t, reg)
	for range 3 {
		if res := serve(t, m, bearerRequest(mint())); res.rec.Code != 200 {
			t.Fatalf("status %d", res.rec.Code)
		}
	}
	is.Rotate(ti.RSA)
	if res := serve(t, m, bearerRequest(mint())); res.rec.Code != 200 {
		t.Fatalf("after rotation: %d", res.rec.Code)
	}
	wantDeltas(t, before, scrape(t, reg), map[string]float64{
		`caddy_cognito_auth_validations_total{result="ok"}`:  4,
		`caddy_cognito_auth_jwks_fetches_total{result="ok"}`: 2,
		`caddy_cognito_auth_verify_duration_seconds_count{}`: 4, // four new tokens
	})
	if got := is.JWKSFetches(); got != 2 {
		t.Fatalf("issuer saw %d fetches, the metric 2", got)
	}
}

func TestVendMetrics(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	const (
		ok      = `caddy_cognito_auth_vend_exchanges_total{mode="identity_pool",result="ok"}`
		refused = `caddy_cognito_auth_vend_exchanges_total{mode="identity_pool",result="refused"}`
		failed  = `caddy_cognito_auth_vend_exchanges_total{mode="identity_pool",result="error"}`
		latency = `caddy_cognito_auth_vend_duration_seconds_count{mode="identity_pool"}`
		hit     = `caddy_cognito_auth_credential_cache_lookups_total{result="hit"}`
		refresh = `caddy_cognito_auth_credential_cache_lookups_total{result="refresh"}`
		miss    = `caddy_cognito_auth_credential_cache_lookups_total{result="miss"}`
		vOK     = `caddy_cognito_auth_validations_total{result="ok"}`
		vForb   = `caddy_cognito_auth_validations_total{result="forbidden"}`
		vUnav   = `caddy_cognito_auth_validations_total{result="unavailable"}`
		jwksOK  = `caddy_cognito_auth_jwks_fetches_total{result="ok"}`
		verify  = `caddy_cognito_auth_verify_duration_seconds_count{}`
	)
	sub := "sub-5d2b-vend-metrics"
	tok := e.idToken(sub)

	before := scrape(t, reg)
	wantOK(t, vendServe(t, m, tok))
	wantOK(t, vendServe(t, m, tok))
	wantOK(t, vendServe(t, m, e.idToken(sub))) // a new token of the same user: still a hit
	after := scrape(t, reg)
	wantDeltas(t, before, after, map[string]float64{ok: 1, latency: 1, miss: 1, hit: 2, vOK: 3, jwksOK: 1, verify: 2})
	wantNoSecrets(t, after, sub, tok)

	// Near expiry: served from the cache while a renewal runs.
	before = after
	e.clock.advance(56 * time.Minute)
	wantOK(t, vendServe(t, m, tok))
	testwait.Until(t, "renewal", func() bool { return scrape(t, reg)[ok]-before[ok] == 1 })
	wantDeltas(t, before, scrape(t, reg), map[string]float64{ok: 1, latency: 1, refresh: 1, vOK: 1})

	// AWS refuses a new user; then AWS is down for another.
	before = scrape(t, reg)
	e.fake.SetFault("GetId", fakeaws.Fault{Status: 400, Code: "NotAuthorizedException", Message: "no"})
	wantRefused(t, vendServe(t, m, e.idToken("bob")), http.StatusForbidden, "invalid_token", "")
	e.fake.SetFault("GetId", fakeaws.Fault{Status: 500, Code: "InternalErrorException", Message: "down"})
	wantRefused(t, vendServe(t, m, e.idToken("carol")), http.StatusServiceUnavailable, "temporarily_unavailable", "")
	e.fake.ClearFaults()
	wantDeltas(t, before, scrape(t, reg), map[string]float64{refused: 1, failed: 1, latency: 2, miss: 2, vForb: 1, vUnav: 1, verify: 2})
}

// TestMetricsRegistration: config reloads provision into fresh registries
// and several handlers share one; neither may fail, and a foreign
// collector with our name must not be silently shadowed.
func TestMetricsRegistration(t *testing.T) {
	is := newCognitoIssuer(t)
	newModule := func() *CognitoAuth {
		return &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL()}
	}
	_, reg1 := metricsModule(t, newModule())
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	for range 2 { // two handlers in one config
		m := newModule()
		if err := m.Provision(ctx); err != nil {
			t.Fatalf("second handler: %v", err)
		}
		t.Cleanup(func() { _ = m.Cleanup() })
	}
	for _, reg := range []*prometheus.Registry{reg1, ctx.GetMetricsRegistry()} {
		got := scrape(t, reg)
		if _, ok := got[`caddy_cognito_auth_validations_total{result="ok"}`]; !ok {
			t.Fatalf("not registered: %v", keys(got))
		}
	}

	clash := prometheus.NewPedanticRegistry()
	clash.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "caddy_cognito_auth_jwks_fetches_total", Help: "x"}))
	err := registerMetrics(clash)
	var are prometheus.AlreadyRegisteredError
	if err == nil || errors.As(err, &are) && are.ExistingCollector == jwksFetchesTotal {
		t.Fatalf("clash not reported: %v", err)
	}
	if err := registerMetrics(nil); err != nil {
		t.Fatal(err)
	}
}

// wantNoSecrets fails when any label carries a subject or token.
func wantNoSecrets(t testing.TB, series map[string]float64, secrets ...string) {
	t.Helper()
	for k := range series {
		for _, s := range secrets {
			if strings.Contains(k, s) {
				t.Fatalf("series %s leaks %q", k, s)
			}
		}
	}
}

func httptestRequest(method, url string) *http.Request {
	r, _ := http.NewRequest(method, url, nil)
	return r
}
