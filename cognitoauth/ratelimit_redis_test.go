package cognitoauth

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap/zapcore"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
)

// redisLimited is limited with the budget in Redis at url.
func redisLimited(clock *fakeClock, url string, requests int, window time.Duration, burst int) func(*CognitoAuth) {
	return func(m *CognitoAuth) {
		limited(clock, requests, window, burst)(m)
		m.Redis = url
	}
}

func resetFallbackWarnings(t *testing.T) {
	fallbackWarnedAt.Store(0)
	fallingBack.Store(false)
	t.Cleanup(func() { fallbackWarnedAt.Store(0); fallingBack.Store(false) })
}

// Two handlers with their own per-instance stores (different limits key
// them apart locally) but the same limits in Redis would share a
// budget; here two handlers with the same limits on one Redis share one
// budget while the per-instance stores stay untouched: Redis decides.
func TestRedisRateLimitIsDecidedInRedis(t *testing.T) {
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	a := cognitoModule(t, is, redisLimited(clock, srv.URL(), 3, time.Hour, 0))
	b := cognitoModule(t, is, redisLimited(clock, srv.URL(), 3, time.Hour, 0))
	alice := is.Mint(is.CognitoAccessClaims("alice", testClient))
	bob := is.Mint(is.CognitoAccessClaims("bob", testClient))

	codes := []int{}
	for i := range 6 {
		m := a
		if i%2 == 1 {
			m = b
		}
		res := serve(t, m, bearerRequest(alice))
		codes = append(codes, res.rec.Code)
		if res.rec.Code == 429 {
			// 3 per hour: the next request is admitted 20 minutes after
			// the last admitted one, by Redis's clock.
			if ra := res.rec.Header().Get("Retry-After"); ra != "1200" {
				t.Fatalf("Retry-After %q, want 1200", ra)
			}
		}
	}
	if want := []int{200, 200, 200, 429, 429, 429}; !equalInts(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	if res := serve(t, b, bearerRequest(bob)); res.rec.Code != 200 {
		t.Fatalf("bob: %d", res.rec.Code)
	}
	if n := a.RateLimit.store.Len(); n != 0 {
		t.Fatalf("the per-instance store decided %d identities while Redis was up", n)
	}
	// Other limits are another budget.
	c := cognitoModule(t, is, redisLimited(clock, srv.URL(), 4, time.Hour, 0))
	if res := serve(t, c, bearerRequest(alice)); res.rec.Code != 200 {
		t.Fatalf("other limits share the budget: %d", res.rec.Code)
	}
}

// Burst and rate in Redis match the per-instance bucket: 600/min with a
// burst of 5 admits 5 at once, then one per 100 ms.
func TestRedisRateLimitBurst(t *testing.T) {
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, redisLimited(newFakeClock(), srv.URL(), 600, time.Minute, 5))
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	start := time.Now()
	ok := 0
	for range 5 {
		if serve(t, m, bearerRequest(tok)).rec.Code == 200 {
			ok++
		}
	}
	res := serve(t, m, bearerRequest(tok))
	elapsed := time.Since(start)
	// Refill during the loop can admit one more on a slow machine.
	refill := int(elapsed / (100 * time.Millisecond))
	if ok != 5 || (res.rec.Code != 429 && refill == 0) {
		t.Fatalf("%d admitted, then %d, in %v", ok, res.rec.Code, elapsed)
	}
	if res.rec.Code == 429 && res.rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", res.rec.Header().Get("Retry-After"))
	}
}

// Concurrent requests of one user through several handlers: exactly the
// burst is admitted (the script is atomic).
func TestRedisRateLimitIsExactUnderConcurrency(t *testing.T) {
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	var ms []*CognitoAuth
	for range 3 {
		ms = append(ms, cognitoModule(t, is, redisLimited(clock, srv.URL(), 20, time.Hour, 0)))
	}
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if serve(t, ms[i%3], bearerRequest(tok)).rec.Code == 200 {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 20 per hour refills one every 3 minutes: none during the test.
	if admitted != 20 {
		t.Fatalf("%d of 60 admitted, want exactly 20", admitted)
	}
}

// Redis down: every request is still answered, by this instance's own
// bucket, quickly; the operator is warned at most once a minute and told
// when Redis decides again; a metric counts the fallbacks.
func TestRedisDownFallsBackPerInstance(t *testing.T) {
	resetFallbackWarnings(t)
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	m, reg := metricsModule(t, &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(),
		ClientIDs: []string{testClient}, now: clock.now, Redis: srv.URL(),
		RateLimit: &RateLimit{Requests: 2, Window: caddy.Duration(time.Hour)}})
	logs := observe(m, zapcore.DebugLevel)
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	for i, want := range []int{200, 200, 429} {
		if res := serve(t, m, bearerRequest(tok)); res.rec.Code != want {
			t.Fatalf("request %d with Redis: %d", i+1, res.rec.Code)
		}
	}
	before := scrape(t, reg)

	srv.Stop()
	// The per-instance bucket has not been charged: Redis decided so far.
	for i, want := range []int{200, 200, 429, 429} {
		start := time.Now()
		res := serve(t, m, bearerRequest(tok))
		if res.rec.Code != want || res.err != nil {
			t.Fatalf("request %d with Redis down: %d %v", i+1, res.rec.Code, res.err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("request %d with Redis down took %v", i+1, d)
		}
	}
	if d := scrape(t, reg)["caddy_cognito_auth_rate_limit_fallbacks_total{}"] - before["caddy_cognito_auth_rate_limit_fallbacks_total{}"]; d != 4 {
		t.Fatalf("fallbacks counted %v, want 4", d)
	}
	warnings := func() int { return logs.FilterMessageSnippet("Redis cannot decide rate limits").Len() }
	if warnings() != 1 {
		t.Fatalf("%d warnings, want 1: %v", warnings(), logs.All())
	}
	w := logs.FilterMessageSnippet("Redis cannot decide rate limits").All()[0]
	if w.Level != zapcore.WarnLevel || !strings.Contains(w.ContextMap()["redis"].(string), srv.Addr) {
		t.Fatalf("warning %+v", w)
	}
	// The cause, not the breaker's "failed recently".
	if cause, _ := w.ContextMap()["error"].(string); cause == "" || strings.Contains(cause, "failed recently") {
		t.Fatalf("warning names no cause: %q", cause)
	}
	clock.advance(59 * time.Second)
	serve(t, m, bearerRequest(tok))
	if warnings() != 1 {
		t.Fatal("warned again within a minute")
	}
	clock.advance(2 * time.Second)
	serve(t, m, bearerRequest(tok))
	if warnings() != 2 {
		t.Fatalf("%d warnings after a minute, want 2", warnings())
	}

	// Back, empty (no persistence): Redis decides again by itself.
	if err := srv.Restart(false); err != nil {
		t.Fatal(err)
	}
	bob := is.Mint(is.CognitoAccessClaims("bob", testClient))
	deadline := time.Now().Add(15 * time.Second)
	for logs.FilterMessageSnippet("Redis decides rate limits again").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 15s")
		}
		serve(t, m, bearerRequest(bob))
		time.Sleep(20 * time.Millisecond)
	}
	// alice's budget is in Redis again, which lost it: 2 more.
	for i, want := range []int{200, 200, 429} {
		if res := serve(t, m, bearerRequest(tok)); res.rec.Code != want {
			t.Fatalf("request %d after recovery: %d", i+1, res.rec.Code)
		}
	}
}

// A hung Redis (it accepts connections, never answers) holds no request
// for long: one waits the read timeout, the others fall back at once.
func TestFrozenRedisDoesNotHoldRequests(t *testing.T) {
	resetFallbackWarnings(t)
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, redisLimited(newFakeClock(), srv.URL(), 1000, time.Minute, 0))
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	srv.Freeze()
	defer srv.Thaw()
	start := time.Now()
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
				t.Errorf("frozen Redis: %d", res.rec.Code)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("40 requests with a frozen Redis took %v", d)
	}
}

// Redis holds a digest of issuer, sub and limits, and a number: no sub,
// token or issuer.
func TestRedisRateLimitStoresNoIdentity(t *testing.T) {
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, redisLimited(newFakeClock(), srv.URL(), 10, time.Minute, 0))
	const sub = "7d1e6a52-3c0b-4b8e-9a51-0f2d6c4e8b13"
	tok := is.Mint(is.CognitoAccessClaims(sub, testClient))
	for range 3 {
		serve(t, m, bearerRequest(tok))
	}
	d := srv.Dump(t)
	if len(d) != 1 || !strings.HasPrefix(d[0].Key, "cwmcp:rl:") || d[0].Type != "string" || d[0].TTL <= 0 || d[0].TTL > 3*time.Minute {
		t.Fatalf("keys %+v", d)
	}
	text := d.Text()
	for _, s := range []string{sub, cognitoIss, testPool, testClient} {
		if bytes.Contains(text, []byte(s)) {
			t.Fatalf("Redis holds %q: %s", s, text)
		}
	}
	scan := secretscan.New()
	scan.Add("sub", sub)
	scan.Capture("redis", text)
	scan.Check(t)
}

func TestRedisOption(t *testing.T) {
	parse := func(lines string) (*CognitoAuth, error) {
		d := caddyfile.NewTestDispenser("cognito_auth {\n\tissuer https://id.example.com\n\taudiences https://mcp.example.com\n\t" + lines + "\n}")
		var m CognitoAuth
		return &m, m.UnmarshalCaddyfile(d)
	}
	for line, want := range map[string]string{
		"redis {env.REDIS_URL}":                    "{env.REDIS_URL}",
		"redis rediss://:pw@cache.internal:6380/2": "rediss://:pw@cache.internal:6380/2",
	} {
		m, err := parse(line)
		if err != nil || m.Redis != want {
			t.Errorf("%s: %q %v", line, m.Redis, err)
		}
	}
	for line, msg := range map[string]string{
		"redis":                                "wrong argument count",
		"redis a b":                            "wrong argument count",
		"redis http://cache:6379":              `scheme must be redis or rediss (TLS), not "http"`,
		"redis redis://u:hunter2hunter2@:6379": "no host",
		"redis redis://h:6379/0?bogus=1":       "bogus",
		"redis redis://h {\n x\n}":             "redis takes no block",
	} {
		_, err := parse(line)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: error %v, want %q with file and line", line, err, msg)
			continue
		}
		if !strings.Contains(line, "{") && !strings.Contains(err.Error(), "Testfile:4") {
			t.Errorf("%q: %v does not point at line 4", line, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestRedisURLFromEnvironment(t *testing.T) {
	srv := redistest.New(t)
	is := newCognitoIssuer(t)
	t.Setenv("CWMCP_TEST_REDIS_URL", srv.URL())
	m := cognitoModule(t, is, redisLimited(newFakeClock(), "{env.CWMCP_TEST_REDIS_URL}", 1, time.Hour, 0))
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	serve(t, m, bearerRequest(tok))
	if n := len(srv.Dump(t)); n != 1 {
		t.Fatalf("%d keys: the URL from the environment was not used", n)
	}

	unset := &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(), Redis: "{env.CWMCP_TEST_REDIS_UNSET}",
		RateLimit: &RateLimit{Requests: 1, Window: caddy.Duration(time.Hour)}}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	err := unset.Provision(ctx)
	_ = unset.Cleanup()
	if err == nil || !strings.Contains(err.Error(), "{env.CWMCP_TEST_REDIS_UNSET}") || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("unset variable: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
