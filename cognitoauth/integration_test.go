package cognitoauth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp/caddyfile" // registers the cognito_auth directive
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	pool    = "us-east-1_Test123"
	poolIss = "https://cognito-idp.us-east-1.amazonaws.com/" + pool
	base    = "http://localhost:9101"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cognitoauth-caddytest")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir+"/data")
	os.Setenv("XDG_CONFIG_HOME", dir+"/config")
	watchLogs(dir + "/logs")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newTester(t *testing.T) *caddytest.Tester {
	tc := secretScan(t, caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: 2101}))
	tc.Client.Transport = reloadTolerant{tc.Client.Transport}
	return tc
}

// siteConfig protects /admin/* with a group requirement and everything
// else with a plain token check; responses echo the placeholders.
func siteConfig(jwksURL, extra string) string {
	return fmt.Sprintf(`{
	admin localhost:2101
	http_port 9101
	https_port 9441
	skip_install_trust
	persist_config off
	debug
	log {
		output file {$COGNITO_TEST_LOGS}/caddy.log
		format json
	}
}

%s {
	# A client that puts its token in the query string is refused, but the
	# access log records the URI: the filter keeps the token out of it.
	log {
		output file {$COGNITO_TEST_LOGS}/access.log
		format filter {
			wrap json
			request>uri query {
				replace access_token REDACTED
			}
		}
	}
	handle /admin/* {
		cognito_auth {
			user_pool us-east-1 %s
			jwks_url %s
			client_ids client-a
			scopes openid
			groups admins
		}
		respond "admin {http.auth.user.id}"
	}
	handle {
		cognito_auth {
			user_pool us-east-1 %s
			jwks_url %s
			client_ids client-a
			resource %s/mcp
			leeway 10s
		}
		respond "id={http.auth.user.id} user={http.auth.user.username} client={http.auth.user.client_id} groups={http.auth.user.groups} scope={http.auth.user.scope} iss={http.auth.user.issuer} use={http.auth.user.token_use}%s"
	}
}
`, base, pool, jwksURL, pool, jwksURL, base, extra)
}

func do(t *testing.T, tc *caddytest.Tester, method, path, token string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// doRetry is do for a GET with a token (reloadTolerant does the retrying).
func doRetry(t *testing.T, tc *caddytest.Tester, path, token string) (*http.Response, string) {
	t.Helper()
	return do(t, tc, "GET", path, token)
}

// reloadTolerant retries a body-less request whose connection failed
// without an answer: right after a config load, the server being shut
// down may still accept one connection and close it (EOF). Nothing was
// served, so sending it again is safe.
type reloadTolerant struct{ next http.RoundTripper }

func (rt reloadTolerant) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := rt.next.RoundTrip(req)
		if err == nil || req.Body != nil || attempt == 3 || req.Context().Err() != nil {
			return resp, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCaddyfileIntegration(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	tc := newTester(t)
	tc.InitServer(siteConfig(is.JWKSURL(), ""), "caddyfile")

	resp, body := do(t, tc, "GET", "/mcp", "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp"` {
		t.Fatalf("no token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	if !strings.Contains(body, `"error_description":"bearer token required"`) {
		t.Fatalf("no-token body = %s", body)
	}

	tok := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("cognito:groups", []string{"admins", "ops"}))
	resp, body = do(t, tc, "POST", "/mcp", tok)
	want := "id=user-1 user=user-1-user client=client-a groups=admins,ops scope=openid email iss=" + poolIss + " use=access"
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("valid token: %d %q", resp.StatusCode, body)
	}
	if resp, body = do(t, tc, "GET", "/admin/x", tok); resp.StatusCode != 200 || body != "admin user-1" {
		t.Fatalf("admin: %d %q", resp.StatusCode, body)
	}

	reader := is.Mint(is.CognitoAccessClaims("user-2", "client-a").With("cognito:groups", []string{"readers"}))
	resp, body = do(t, tc, "GET", "/admin/x", reader)
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 403 || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="openid"`) ||
		!strings.Contains(ch, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/admin/x"`) {
		t.Fatalf("wrong group: %d %q %s", resp.StatusCode, ch, body)
	}

	expired := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("exp", time.Now().Add(-time.Minute).Unix()))
	resp, body = do(t, tc, "GET", "/mcp", expired)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token", error_description="token expired"`) ||
		strings.Contains(body, expired[len(expired)-10:]) {
		t.Fatalf("expired: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}

	if resp, _ = do(t, tc, "GET", "/mcp?access_token="+tok, ""); resp.StatusCode != 401 {
		t.Fatalf("query token accepted: %d", resp.StatusCode)
	}

	for _, p := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, body = do(t, tc, "GET", p, "")
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
		if doc["resource"] != base+"/mcp" || fmt.Sprint(doc["authorization_servers"]) != "["+poolIss+"]" ||
			fmt.Sprint(doc["bearer_methods_supported"]) != "[header]" {
			t.Fatalf("%s: %v", p, doc)
		}
	}

	resp, body = do(t, tc, "OPTIONS", "/mcp", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "id={http.auth.user.id} ") {
		t.Fatalf("preflight: %d %q", resp.StatusCode, body)
	}
	if got := is.JWKSFetches(); got != 1 {
		t.Fatalf("jwks fetches = %d, want 1", got)
	}
}

func TestHandleErrorsRendersRejection(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	tc := newTester(t)
	cfg := strings.Replace(siteConfig(is.JWKSURL(), ""), "\thandle {", "\thandle_errors {\n\t\trespond \"custom {err.status_code}: {http.auth.cognito_auth.error}\"\n\t}\n\thandle {", 1)
	tc.InitServer(cfg, "caddyfile")
	resp, body := do(t, tc, "GET", "/mcp", "not.a.token")
	if resp.StatusCode != 401 || body != "custom 401: invalid signature" && body != "custom 401: malformed token header" {
		t.Fatalf("handle_errors: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("challenge lost in handle_errors: %q", resp.Header.Get("WWW-Authenticate"))
	}
}

func TestReloadDoesNotLeakOrRefetch(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	tc := newTester(t)
	tok := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("cognito:groups", []string{"admins"}))

	load := func(i int) {
		tc.InitServer(siteConfig(is.JWKSURL(), fmt.Sprintf(" v=%d", i)), "caddyfile")
		// The old server closes its keep-alive connections on reload.
		tc.Client.CloseIdleConnections()
		resp, body := doRetry(t, tc, "/mcp", tok)
		if resp.StatusCode != 200 || !strings.HasSuffix(body, fmt.Sprintf(" v=%d", i)) {
			t.Fatalf("reload %d: %d %q", i, resp.StatusCode, body)
		}
	}
	load(0)
	tc.Client.CloseIdleConnections()
	before := settledGoroutines(0)
	for i := 1; i <= 50; i++ {
		load(i)
	}
	tc.Client.CloseIdleConnections()
	after := settledGoroutines(before + 5)
	if after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over 50 reloads", before, after)
	}
	if got := is.JWKSFetches(); got != 1 {
		t.Fatalf("jwks fetched %d times over 50 reloads, want 1", got)
	}
}

// settledGoroutines waits briefly for connection and shutdown goroutines
// to finish, returning as soon as the count is at most target.
func settledGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 40 && n > target; i++ {
		time.Sleep(50 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func TestEnabledEnvSwitch(t *testing.T) {
	const cf = `http://localhost:9101 {
	cognito_auth {
		user_pool us-east-1 us-east-1_Test123
		client_ids client-a
		enabled {$ENABLE_AUTH:true}
	}
	respond ok
}
`
	for env, want := range map[string]string{"": "", "false": `"enabled":false`, "true": `"enabled":true`} {
		if env == "" {
			os.Unsetenv("ENABLE_AUTH")
		} else {
			t.Setenv("ENABLE_AUTH", env)
		}
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
		if err != nil {
			t.Fatalf("ENABLE_AUTH=%q: %v", env, err)
		}
		if env == "" {
			want = `"enabled":true` // the default in {$ENABLE_AUTH:true}
		}
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), `"handler":"cognito_auth"`) {
			t.Fatalf("ENABLE_AUTH=%q: %s", env, out)
		}
	}
}
