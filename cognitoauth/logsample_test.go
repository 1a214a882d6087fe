package cognitoauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// observe routes m's log into an observer recording level and above.
func observe(m *CognitoAuth, level zapcore.Level) *observer.ObservedLogs {
	core, logs := observer.New(level)
	m.logger = zap.New(core)
	return logs
}

// Requests without a (valid) token are what every scanner and the first
// step of every OAuth login send: they are logged at DEBUG only, and
// counted by caddy_cognito_auth_validations_total instead.
func TestUnauthenticatedRejectionsLogAtDebug(t *testing.T) {
	is := newCognitoIssuer(t)
	m, reg := metricsModule(t, &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(), ClientIDs: []string{testClient}})
	logs := observe(m, zapcore.DebugLevel)
	before := scrape(t, reg)

	expired := is.CognitoAccessClaims("u", testClient)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for range 100 {
		serve(t, m, bearerRequest(""))
		serve(t, m, bearerRequest("not-a-jwt"))
		serve(t, m, bearerRequest(is.Mint(expired)))
	}
	for _, e := range logs.All() {
		if e.Level != zapcore.DebugLevel {
			t.Fatalf("%s line at %s: %v", e.Message, e.Level, e.ContextMap())
		}
	}
	if n := logs.FilterMessage("request rejected").Len(); n != 300 {
		t.Fatalf("%d debug lines, want 300", n)
	}
	wantDeltas(t, before, scrape(t, reg), map[string]float64{
		`caddy_cognito_auth_validations_total{result="missing"}`: 100,
		`caddy_cognito_auth_validations_total{result="invalid"}`: 100,
		`caddy_cognito_auth_validations_total{result="expired"}`: 100,
		`caddy_cognito_auth_jwks_fetches_total{result="ok"}`:     1,
	})
}

// A verified caller refused over and over (403 here) writes one INFO line
// per minute, the next one saying how many were left out.
func TestRefusalLogSampledPerIdentity(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	m := cognitoModule(t, is, func(m *CognitoAuth) { m.now = clock.now; m.Groups = []string{"admins"} })
	logs := observe(m, zapcore.InfoLevel)
	alice := is.Mint(is.CognitoAccessClaims("alice", testClient))
	bob := is.Mint(is.CognitoAccessClaims("bob", testClient))

	for range 1000 {
		if res := serve(t, m, bearerRequest(alice)); res.rec.Code != 403 {
			t.Fatalf("status %d", res.rec.Code)
		}
	}
	serve(t, m, bearerRequest(bob))
	lines := logs.TakeAll()
	if len(lines) != 2 || lines[0].ContextMap()["sub"] != "alice" || lines[1].ContextMap()["sub"] != "bob" {
		t.Fatalf("1000 refusals of alice and one of bob wrote %d lines: %v", len(lines), lines)
	}
	if lines[0].Level != zapcore.InfoLevel || lines[0].ContextMap()["status"] != int64(403) {
		t.Fatalf("line %v at %s", lines[0].ContextMap(), lines[0].Level)
	}
	clock.advance(logSampleInterval - time.Second)
	serve(t, m, bearerRequest(alice))
	if logs.Len() != 0 {
		t.Fatal("a second line within the interval")
	}
	clock.advance(time.Second)
	serve(t, m, bearerRequest(alice))
	lines = logs.TakeAll()
	if len(lines) != 1 || lines[0].ContextMap()["suppressed"] != int64(1000) {
		t.Fatalf("after the interval: %v", lines)
	}
}

// A client hammering past its rate limit is an operator's business (INFO),
// sampled the same way, and counted as rate_limited.
func TestRateLimitedLoggedAtInfoSampled(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := newFakeClock()
	m, reg := metricsModule(t, &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(),
		ClientIDs: []string{testClient}, RateLimit: &RateLimit{Requests: 1, Window: caddy.Duration(time.Hour)}})
	m.now = clock.now
	logs := observe(m, zapcore.InfoLevel)
	before := scrape(t, reg)
	tok := is.Mint(is.CognitoAccessClaims("alice", testClient))
	codes := map[int]int{}
	for range 1000 {
		codes[serve(t, m, bearerRequest(tok)).rec.Code]++
	}
	if codes[200] != 1 || codes[429] != 999 {
		t.Fatalf("codes %v", codes)
	}
	lines := logs.TakeAll()
	if len(lines) != 1 || lines[0].Message != "rate limited" || lines[0].Level != zapcore.InfoLevel || lines[0].ContextMap()["sub"] != "alice" {
		t.Fatalf("999 refusals wrote %v", lines)
	}
	wantDeltas(t, before, scrape(t, reg), map[string]float64{
		`caddy_cognito_auth_validations_total{result="ok"}`:           1,
		`caddy_cognito_auth_validations_total{result="rate_limited"}`: 999,
		`caddy_cognito_auth_jwks_fetches_total{result="ok"}`:          1,
		`caddy_cognito_auth_verify_duration_seconds_count{}`:          1, // one token, verified once
	})
	clock.advance(logSampleInterval)
	serve(t, m, bearerRequest(tok))
	if lines := logs.TakeAll(); len(lines) != 1 || lines[0].ContextMap()["suppressed"] != int64(998) {
		t.Fatalf("after the interval: %v", lines)
	}
}

// However many identities are refused, one interval holds at most
// logSampleKeys+1 lines, and the table of keys stays bounded.
func TestLogSamplerBounded(t *testing.T) {
	s := newLogSampler()
	now := time.Now()
	written := 0
	for i := range 5 * logSampleKeys {
		for range 3 {
			if ok, _ := s.allow(fmt.Sprint("403\x00iss\x00user-", i), now); ok {
				written++
			}
		}
	}
	if written != logSampleKeys+1 || len(s.keys) != logSampleKeys+1 {
		t.Fatalf("%d lines, %d keys", written, len(s.keys))
	}
	// Next interval: expired keys make room again.
	now = now.Add(logSampleInterval)
	if ok, _ := s.allow("403\x00iss\x00newcomer", now); !ok {
		t.Fatal("a new identity after the interval was suppressed")
	}
	if len(s.keys) > logSampleKeys+1 {
		t.Fatalf("%d keys", len(s.keys))
	}
}

// Log lines name the client the way Caddy's access log does (client_ip:
// trusted_proxies applied, no port), never the proxy's address and port.
func TestRejectionLogsClientIP(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, func(m *CognitoAuth) { m.Groups = []string{"admins"} })
	logs := observe(m, zapcore.DebugLevel)
	direct := func(req *http.Request) {
		t.Helper()
		err := m.ServeHTTP(httptest.NewRecorder(), req, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
			t.Fatal("next ran")
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []string{"", is.Mint(is.CognitoAccessClaims("alice", testClient))} {
		req := bearerRequest(tok)
		req.RemoteAddr = "10.1.2.3:45678"
		req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, nil)
		// What Caddy sets when 10.1.2.3 is a trusted proxy and the request
		// says X-Forwarded-For: 203.0.113.7.
		caddyhttp.SetVar(req.Context(), caddyhttp.ClientIPVarKey, "203.0.113.7")
		direct(req)
	}
	lines := logs.FilterMessage("request rejected").All()
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, e := range lines {
		f := e.ContextMap()
		if f["client_ip"] != "203.0.113.7" {
			t.Errorf("client_ip %v", f["client_ip"])
		}
		for k, v := range f {
			if s, ok := v.(string); ok && (strings.Contains(s, "45678") || strings.Contains(s, "10.1.2.3")) {
				t.Errorf("field %s = %q names the proxy", k, s)
			}
		}
	}
	// Without Caddy's var (not behind a Caddy server), the peer address
	// stands in, still without its port.
	req := bearerRequest("")
	req.RemoteAddr = "192.0.2.1:1234"
	logs.TakeAll()
	direct(req)
	if e := logs.FilterMessage("request rejected").All(); len(e) != 1 || e[0].ContextMap()["client_ip"] != "192.0.2.1" {
		t.Fatalf("lines %v", e)
	}
}
