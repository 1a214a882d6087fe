package cognitoauth_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// scan checks every Caddy test of this package: the debug and access logs
// all configs here write, and every response the tester's client reads,
// must not contain any AWS secret, session token or JWT that a fake or a
// test issuer of this process handed out.
var scan = secretscan.New()

// watchLogs points the configs' {$COGNITO_TEST_LOGS} at dir and scans it.
func watchLogs(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	os.Setenv("COGNITO_TEST_LOGS", dir)
	scan.WatchFile(filepath.Join(dir, "caddy.log"))
	scan.WatchFile(filepath.Join(dir, "access.log"))
}

// limitedSite is one route behind cognito_auth with a rate limit, debug
// logs on, and optionally handle_errors.
func limitedSite(jwksURL, limit, tag string, errorRoutes bool) func(base, globals string) string {
	errs := ""
	if errorRoutes {
		errs = "\thandle_errors {\n\t\trespond \"{err.status_code} {http.auth.cognito_auth.error}\"\n\t}\n"
	}
	return func(base, globals string) string {
		return fmt.Sprintf(`{
%[7]s	skip_install_trust
	persist_config off
	debug
	log {
		output file {$COGNITO_TEST_LOGS}/caddy.log
		format json
	}
}

%[1]s {
	log {
		output file {$COGNITO_TEST_LOGS}/access.log
		format json
	}
%[5]s	cognito_auth {
		user_pool us-east-1 %[2]s
		jwks_url %[3]s
		client_ids client-a
		%[4]s
	}
	respond "ok %[6]s {http.auth.user.id}"
}
`, base, pool, jwksURL, limit, errs, tag, globals)
	}
}

// TestRateLimitThroughCaddy: per-identity buckets, 429 with Retry-After,
// buckets that survive reloads keeping the limits and reset when the
// limits change, and 429 through handle_errors.
func TestRateLimitThroughCaddy(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	e := newEdge(t)
	alice := is.Mint(is.CognitoAccessClaims("alice", "client-a"))
	bob := is.Mint(is.CognitoAccessClaims("bob", "client-a"))
	load := func(limit, tag string, errorRoutes bool) {
		e.load(limitedSite(is.JWKSURL(), limit, tag, errorRoutes))
	}
	expect := func(tok string, status int, what string) *http.Response {
		t.Helper()
		resp, body := do(t, e, "GET", "/mcp", tok)
		if resp.StatusCode != status {
			t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, body, status)
		}
		return resp
	}

	// Hour-long windows: no token comes back while the test runs, however
	// slow the machine (3 a minute would refill one every 20 s).
	load("rate_limit 3 1h", "v0", false)
	for i := range 3 {
		expect(alice, 200, fmt.Sprint("alice ", i+1))
	}
	resp := expect(alice, 429, "alice over the limit")
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 1200 {
		t.Fatalf("Retry-After %q, want 1..1200 (one request per 20 minutes)", resp.Header.Get("Retry-After"))
	}
	expect(bob, 200, "bob")

	// Same limits, different config: alice stays limited, bob keeps his
	// two remaining requests.
	load("rate_limit 3 1h", "v1", false)
	expect(alice, 429, "alice after a reload")
	expect(bob, 200, "bob after a reload")
	expect(bob, 200, "bob's third")
	expect(bob, 429, "bob's fourth")

	// handle_errors renders the 429; Retry-After stays on the response.
	load("rate_limit 3 1h", "v2", true)
	resp, body := do(t, e, "GET", "/mcp", alice)
	if resp.StatusCode != 429 || body != "429 rate limit exceeded" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("handle_errors: %d %q Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}

	// New limits: new buckets.
	load("rate_limit 4 1h burst 2", "v3", false)
	expect(alice, 200, "alice under new limits")
	expect(alice, 200, "alice's second under new limits")
	expect(alice, 429, "alice over the new burst")
}

// TestHeaderLimitsThroughCaddy: oversized and repeated Authorization
// headers are refused before the token is looked at.
func TestHeaderLimitsThroughCaddy(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	e := newEdge(t)
	e.load(limitedSite(is.JWKSURL(), "", "", false))
	tok := is.Mint(is.CognitoAccessClaims("alice", "client-a"))

	send := func(values ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.base+"/mcp", nil)
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp, readAll(resp)
	}
	cases := []struct {
		name   string
		values []string
		status int
		reason string
	}{
		{"17 KB bearer", []string{"Bearer " + strings.Repeat("A", 17<<10)}, 431, "authorization header too large"},
		{"17 KB basic", []string{"Basic " + strings.Repeat("A", 17<<10)}, 431, "authorization header too large"},
		{"two 9 KB headers", []string{"Bearer " + strings.Repeat("A", 9<<10), "Bearer " + strings.Repeat("B", 9<<10)}, 431, "too large"},
		{"12 KB bearer", []string{"Bearer " + strings.Repeat("A", 12<<10)}, 401, "token too large"},
		{"valid token twice", []string{"Bearer " + tok, "Bearer " + tok}, 400, "more than one Authorization header"},
		{"valid token", []string{"Bearer " + tok}, 200, ""},
	}
	for _, c := range cases {
		resp, body := send(c.values...)
		if resp.StatusCode != c.status || !strings.Contains(body, c.reason) {
			t.Errorf("%s: %d %.200s, want %d with %q", c.name, resp.StatusCode, body, c.status, c.reason)
		}
	}
}

func readAll(resp *http.Response) string {
	b := new(strings.Builder)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
