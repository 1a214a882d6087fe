package cognitoauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// healthEnv is cognito_auth with role_arn vending and a health endpoint
// against the fake AWS, counting what the health checks cost.
type healthEnv struct {
	*vendEnv
	m      *CognitoAuth
	probes atomic.Int32 // plain GETs of the fake's endpoint
}

func newHealthEnv(t *testing.T, issuerDown bool) *healthEnv {
	e := &healthEnv{vendEnv: newVendEnv(t)}
	e.iss.SetDown(issuerDown)
	e.fake.OnRequest(func(r *http.Request, _ []byte) {
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			e.probes.Add(1)
		}
	})
	e.m = e.module(t, func(m *CognitoAuth) {
		m.RoleARN = vendRole
		m.Health = &Health{Path: "/healthz"}
	})
	return e
}

type healthAnswer struct {
	code   int
	header http.Header
	body   string
	report healthReport
}

func (e *healthEnv) ask(t *testing.T, method, target string) healthAnswer {
	t.Helper()
	res := serve(t, e.m, httptest.NewRequest(method, "http://mcp.example.com"+target, nil))
	a := healthAnswer{code: res.rec.Code, header: res.rec.Header(), body: res.rec.Body.String()}
	if a.body != "" && strings.HasPrefix(a.body, `{"status"`) {
		if err := json.Unmarshal([]byte(a.body), &a.report); err != nil {
			t.Fatalf("body %q: %v", a.body, err)
		}
	}
	return a
}

func TestHealthKeysAndVending(t *testing.T) {
	e := newHealthEnv(t, true)

	// The issuer is down and no keys were ever loaded: 503.
	a := e.ask(t, http.MethodGet, "/healthz")
	want := healthReport{Status: "unavailable", SigningKeys: "unavailable", AWSVending: "ok"}
	if a.code != 503 || a.report != want || a.header.Get("Retry-After") != "10" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("issuer down: %d %v %s", a.code, a.header, a.body)
	}
	if strings.Contains(a.body, "http") || strings.Contains(a.body, "127.0.0.1") || strings.Contains(a.body, "us-east-1") {
		t.Fatalf("the answer names where things are: %s", a.body)
	}
	if e.logs.FilterMessage("health: signing_keys unavailable").Len() != 1 {
		t.Fatalf("the outage is not logged once: %v", e.logs.All())
	}

	// However often load balancers ask, one check per interval.
	jwks, probes := e.iss.JWKSFetches(), e.probes.Load()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if a := e.ask(t, http.MethodGet, "/healthz"); a.code != 503 {
				t.Errorf("cached answer %d", a.code)
			}
		})
	}
	wg.Wait()
	if e.iss.JWKSFetches() != jwks || e.probes.Load() != probes || probes != 1 {
		t.Fatalf("50 probes in one interval: %d JWKS fetches, %d AWS probes (before: %d, %d)", e.iss.JWKSFetches(), e.probes.Load(), jwks, probes)
	}
	if n := e.fake.CallCount(""); n != 0 {
		t.Fatalf("health checks made %d AWS API calls", n)
	}

	// The issuer is back: the next check after the interval loads the keys.
	e.iss.SetDown(false)
	if a := e.ask(t, http.MethodGet, "/healthz"); a.code != 503 {
		t.Fatalf("within the interval: %d", a.code)
	}
	e.clock.advance(defaultHealthInterval)
	a = e.ask(t, http.MethodGet, "/healthz")
	if a.code != 200 || a.report != (healthReport{Status: "ok", SigningKeys: "ok", AWSVending: "ok"}) || a.header.Get("Retry-After") != "" {
		t.Fatalf("all up: %d %s", a.code, a.body)
	}
	if e.logs.FilterMessage("health: signing_keys available again").Len() != 1 {
		t.Fatal("the recovery is not logged")
	}
	if a := e.ask(t, http.MethodHead, "/healthz"); a.code != 200 || a.body != "" {
		t.Fatalf("HEAD: %d %q", a.code, a.body)
	}

	// Loaded keys keep verifying while the issuer is down: still healthy.
	e.iss.SetDown(true)
	e.clock.advance(defaultHealthInterval)
	if a := e.ask(t, http.MethodGet, "/healthz"); a.code != 200 {
		t.Fatalf("issuer down with keys loaded: %d %s", a.code, a.body)
	}

	// AWS unreachable: 503.
	e.fake.Close()
	e.clock.advance(defaultHealthInterval)
	a = e.ask(t, http.MethodGet, "/healthz")
	if a.code != 503 || a.report != (healthReport{Status: "unavailable", SigningKeys: "ok", AWSVending: "unavailable"}) {
		t.Fatalf("AWS down: %d %s", a.code, a.body)
	}
	if e.logs.FilterMessage("health: aws_vending unavailable").Len() != 1 {
		t.Fatal("the AWS outage is not logged")
	}
}

// Only GET and HEAD of exactly the path skip authentication.
func TestHealthOpensNoHole(t *testing.T) {
	e := newHealthEnv(t, false)
	for _, tc := range []struct{ method, target string }{
		{http.MethodPost, "/healthz"},
		{http.MethodPut, "/healthz"},
		{http.MethodDelete, "/healthz"},
		{http.MethodOptions, "/healthz"},
		{http.MethodGet, "/healthz/"},
		{http.MethodGet, "/healthz/x"},
		{http.MethodGet, "/healthzz"},
		{http.MethodGet, "/Healthz"},
		{http.MethodGet, "/mcp"},
		{http.MethodGet, "/"},
	} {
		if a := e.ask(t, tc.method, tc.target); a.code != 401 {
			t.Errorf("%s %s without a token: %d %s", tc.method, tc.target, a.code, a.body)
		}
	}
	if a := e.ask(t, http.MethodGet, "/healthz?verbose=1"); a.code != 200 {
		t.Errorf("a query string on the path: %d", a.code)
	}
}

func TestHealthWithAuthDisabledOrNoVending(t *testing.T) {
	is := newCognitoIssuer(t)
	is.SetDown(true)
	off := false
	for _, tc := range []struct {
		adjust func(*CognitoAuth)
		code   int
		want   healthReport
	}{
		{func(m *CognitoAuth) { m.Enabled = &off }, 200, healthReport{"ok", "disabled", "none"}},
		{func(*CognitoAuth) {}, 503, healthReport{"unavailable", "unavailable", "none"}},
	} {
		m := cognitoModule(t, is, func(m *CognitoAuth) {
			m.Health = &Health{Path: "/up", Interval: caddy.Duration(time.Minute)}
			tc.adjust(m)
		})
		res := serve(t, m, httptest.NewRequest(http.MethodGet, "http://x/up", nil))
		var got healthReport
		_ = json.Unmarshal(res.rec.Body.Bytes(), &got)
		if res.rec.Code != tc.code || got != tc.want || res.nextRan {
			t.Errorf("%d %s, want %d %v", res.rec.Code, res.rec.Body, tc.code, tc.want)
		}
		if tc.code == 503 && res.rec.Header().Get("Retry-After") != "60" {
			t.Errorf("Retry-After %q", res.rec.Header().Get("Retry-After"))
		}
	}
}

func TestHealthCaddyfile(t *testing.T) {
	for in, want := range map[string]*Health{
		"health /healthz":              {Path: "/healthz"},
		"health /-/ready interval 30s": {Path: "/-/ready", Interval: caddy.Duration(30 * time.Second)},
		"health healthz":               nil,
		"health /h?x=1":                nil,
		"health /h*":                   nil,
		"health /.well-known/oauth-protected-resource": nil,
		"health":                  nil,
		"health /h interval":      nil,
		"health /h every 5s":      nil,
		"health /h interval 0s":   nil,
		"health /h interval 10m":  nil,
		"health /a /b":            nil,
		"health /h {\n\t\tx\n\t}": nil,
	} {
		var m CognitoAuth
		err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser("cognito_auth {\n\tuser_pool us-east-1 us-east-1_Test123\n\t" + in + "\n}"))
		switch {
		case want == nil && err == nil:
			t.Errorf("%q accepted: %+v", in, m.Health)
		case want == nil && !strings.Contains(err.Error(), "Testfile:3") && !strings.Contains(err.Error(), "Testfile:4"):
			t.Errorf("%q: error without its line: %v", in, err)
		case want != nil && (err != nil || m.Health == nil || m.Health.Path != want.Path || m.Health.Interval != want.Interval):
			t.Errorf("%q: %v %+v", in, err, m.Health)
		}
	}
}
