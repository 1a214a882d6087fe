package cognitoauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// newFakeClock reuses jwks_test.go's settable clock, starting now so
// freshly minted tokens stay valid.
func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func limited(clock *fakeClock, requests int, window time.Duration, burst int) func(*CognitoAuth) {
	return func(m *CognitoAuth) {
		m.now = clock.now
		m.RateLimit = &RateLimit{Requests: requests, Window: caddy.Duration(window), Burst: burst}
	}
}

func TestRateLimitPerIdentity(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	m := cognitoModule(t, is, limited(clock, 20, time.Minute, 0))
	alice := is.Mint(is.CognitoAccessClaims("alice", testClient))
	alice2 := is.Mint(is.CognitoAccessClaims("alice", testClient)) // another token, same identity
	bob := is.Mint(is.CognitoAccessClaims("bob", testClient))

	// The bucket holds <requests>: 20 at once, with either of alice's tokens.
	for i := range 20 {
		tok := alice
		if i%2 == 1 {
			tok = alice2
		}
		if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 || !res.nextRan {
			t.Fatalf("request %d: %d %s", i+1, res.rec.Code, res.rec.Body)
		}
	}
	res := serve(t, m, bearerRequest(alice2))
	if res.rec.Code != http.StatusTooManyRequests || res.nextRan || res.err != nil {
		t.Fatalf("21st request: %d next=%v err=%v", res.rec.Code, res.nextRan, res.err)
	}
	// 20 per minute refills one every 3s.
	if ra := res.rec.Header().Get("Retry-After"); ra != "3" {
		t.Fatalf("Retry-After = %q, want 3", ra)
	}
	var body struct{ Error, Error_description string }
	if err := json.Unmarshal(res.rec.Body.Bytes(), &body); err != nil || body.Error != "rate_limited" {
		t.Fatalf("body %s", res.rec.Body)
	}
	if v, _ := res.repl.GetString(errorPlaceholder); v != "rate limit exceeded" {
		t.Fatalf("error placeholder %q", v)
	}
	// bob has his own bucket.
	if res := serve(t, m, bearerRequest(bob)); res.rec.Code != 200 {
		t.Fatalf("bob: %d", res.rec.Code)
	}
	// Rejected requests spend nothing: after 3s exactly one more passes.
	for range 5 {
		serve(t, m, bearerRequest(alice))
	}
	clock.advance(2 * time.Second)
	if res := serve(t, m, bearerRequest(alice)); res.rec.Code != 429 || res.rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("after 2s: %d Retry-After %q", res.rec.Code, res.rec.Header().Get("Retry-After"))
	}
	clock.advance(time.Second)
	if res := serve(t, m, bearerRequest(alice)); res.rec.Code != 200 {
		t.Fatalf("after 3s: %d", res.rec.Code)
	}
	if res := serve(t, m, bearerRequest(alice)); res.rec.Code != 429 {
		t.Fatalf("second after 3s: %d", res.rec.Code)
	}
	// A full window later the whole bucket is back.
	clock.advance(time.Minute)
	for i := range 20 {
		if res := serve(t, m, bearerRequest(alice)); res.rec.Code != 200 {
			t.Fatalf("refilled request %d: %d", i+1, res.rec.Code)
		}
	}
}

func TestRateLimitBurst(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	// 600 per minute is 10/s; a burst of 5 admits 5 at once.
	m := cognitoModule(t, is, limited(clock, 600, time.Minute, 5))
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	ok := 0
	for range 8 {
		if serve(t, m, bearerRequest(tok)).rec.Code == 200 {
			ok++
		}
	}
	if ok != 5 {
		t.Fatalf("%d admitted at once, want burst 5", ok)
	}
	res := serve(t, m, bearerRequest(tok))
	if res.rec.Code != 429 || res.rec.Header().Get("Retry-After") != "1" { // 100ms, rounded up
		t.Fatalf("%d Retry-After %q", res.rec.Code, res.rec.Header().Get("Retry-After"))
	}
	clock.advance(500 * time.Millisecond)
	ok = 0
	for range 8 {
		if serve(t, m, bearerRequest(tok)).rec.Code == 200 {
			ok++
		}
	}
	if ok != 5 {
		t.Fatalf("%d admitted after 500ms at 10/s, want 5", ok)
	}
}

// Unauthenticated requests never reach the limiter, so they cannot create
// limiters either.
func TestRateLimitIgnoresUnauthenticated(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	m := cognitoModule(t, is, limited(clock, 1, time.Hour, 0))
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	for range 3 {
		if res := serve(t, m, bearerRequest("not.a.token")); res.rec.Code != 401 {
			t.Fatalf("bad token: %d", res.rec.Code)
		}
	}
	if m.RateLimit.store.Len() != 0 {
		t.Fatalf("rejected tokens created %d limiters", m.RateLimit.store.Len())
	}
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatalf("first: %d", res.rec.Code)
	}
	res := serve(t, m, bearerRequest(tok))
	if res.rec.Code != 429 || res.rec.Header().Get("Retry-After") != "3600" {
		t.Fatalf("second: %d Retry-After %q", res.rec.Code, res.rec.Header().Get("Retry-After"))
	}
}

// A reload that keeps the limits keeps every bucket; one that changes
// them starts afresh; the last config to go frees the store.
func TestRateLimitSurvivesReload(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	old := cognitoModule(t, is, limited(clock, 2, time.Minute, 0))
	for range 2 {
		serve(t, old, bearerRequest(tok))
	}
	// Caddy provisions the new config before cleaning up the old one.
	same := cognitoModule(t, is, limited(clock, 2, time.Minute, 0))
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if res := serve(t, same, bearerRequest(tok)); res.rec.Code != 429 {
		t.Fatalf("bucket lost over a reload: %d", res.rec.Code)
	}
	changed := cognitoModule(t, is, limited(clock, 3, time.Minute, 0))
	key := same.RateLimit.storeKey
	if err := same.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if res := serve(t, changed, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatalf("new limits kept the old bucket: %d", res.rec.Code)
	}
	if _, loaded := rateLimiters.References(key); loaded {
		t.Fatalf("store %q still referenced after its last config went", key)
	}
}

func TestRateLimitValidate(t *testing.T) {
	for _, rl := range []RateLimit{
		{Requests: 0, Window: caddy.Duration(time.Minute)},
		{Requests: 10},
		{Requests: 10, Window: caddy.Duration(time.Millisecond)},
		{Requests: 10, Window: caddy.Duration(48 * time.Hour)},
		{Requests: 10, Window: caddy.Duration(time.Minute), Burst: -1},
	} {
		if err := rl.validate(); err == nil {
			t.Errorf("%+v accepted", rl)
		}
	}
}

// Oversized headers are refused by length alone; request-derived strings
// in log lines are bounded.
func TestLimitsOnHostileInput(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	core, logs := observer.New(zapcore.DebugLevel)
	m.logger = zap.New(core)

	huge := bearerRequest("")
	huge.Header.Set("Authorization", "Basic "+strings.Repeat("A", 16<<10)) // not even Bearer
	if res := serve(t, m, huge); res.rec.Code != http.StatusRequestHeaderFieldsTooLarge || res.nextRan {
		t.Fatalf("17 KB header: %d", res.rec.Code)
	}
	if m.cache.len() != 0 {
		t.Fatal("oversized header reached the token cache")
	}
	path := "/mcp/" + strings.Repeat("x", 1<<20)
	req := bearerRequest("")
	req.URL.Path = path
	serve(t, m, req)
	if logs.Len() != 2 {
		t.Fatalf("%d log entries", logs.Len())
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && len(s) > maxLogValueBytes+len("…(truncated)") {
				t.Fatalf("log field %s is %d bytes", k, len(s))
			}
		}
	}
	if got := logValue(strings.Repeat("é", 200)); len(got) > maxLogValueBytes+len("…(truncated)") || !strings.HasSuffix(got, "…(truncated)") ||
		!strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("logValue cut badly: %q", got)
	}
}

func TestRateLimitCaddyfile(t *testing.T) {
	parse := func(line string) (*CognitoAuth, error) {
		d := caddyfile.NewTestDispenser("cognito_auth {\n\tissuer https://id.example.com\n\t" + line + "\n\taudiences https://mcp.example.com\n}")
		var m CognitoAuth
		return &m, m.UnmarshalCaddyfile(d)
	}
	for line, want := range map[string]RateLimit{
		"rate_limit 600 1m":          {Requests: 600, Window: caddy.Duration(time.Minute)},
		"rate_limit 600 1m burst 50": {Requests: 600, Window: caddy.Duration(time.Minute), Burst: 50},
		"rate_limit 1 24h":           {Requests: 1, Window: caddy.Duration(24 * time.Hour)},
	} {
		m, err := parse(line)
		if err != nil || m.RateLimit == nil || *m.RateLimit != want || len(m.Audiences) != 1 {
			t.Errorf("%s: %+v %v", line, m.RateLimit, err)
		}
	}
	for line, msg := range map[string]string{
		"rate_limit":                       "wrong argument count",
		"rate_limit 600":                   "wrong argument count",
		"rate_limit 600 1m burst":          "wrong argument count",
		"rate_limit 600 1m 50":             "wrong argument count",
		"rate_limit 600 1m bursts 50":      `unexpected "bursts"`,
		"rate_limit 0 1m":                  "requests must be a positive integer",
		"rate_limit many 1m":               "requests must be a positive integer",
		"rate_limit 600 soon":              `invalid window "soon"`,
		"rate_limit 600 500ms":             "window must be between 1s and 24h",
		"rate_limit 600 1m burst 0":        "burst must be a positive integer",
		"rate_limit 600 1m burst -5":       "burst must be a positive integer",
		"rate_limit 600 1m {\n burst 5\n}": "rate_limit takes no block",
	} {
		_, err := parse(line)
		at := "Testfile:3"
		if strings.Contains(line, "{") {
			at = "Testfile:4" // the first token inside the block
		}
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), at) {
			t.Errorf("%q: error %v, want %q at %s", line, err, msg, at)
		}
	}
}
