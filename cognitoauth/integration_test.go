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

	_ "github.com/mcpedge/caddy-cloudwatch-mcp/caddyfile" // registers the cognito_auth directive
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	pool    = "us-east-1_Test123"
	poolIss = "https://cognito-idp.us-east-1.amazonaws.com/" + pool
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

// edge is the in-process Caddy of one test. Every config it loads gets
// fresh ports (internal/testcaddy), so a request can only reach the config
// loaded last, never a server of the one before still shutting down.
type edge struct {
	t      *testing.T
	base   string       // http://localhost:PORT of the config loaded last
	client *http.Client // its responses go through the secret scan
}

// newEdge starts the secret scan of t's logs and responses.
func newEdge(t *testing.T) *edge {
	scan.Begin(t)
	return &edge{t: t, client: &http.Client{Timeout: time.Minute, Transport: scan.Transport(&http.Transport{})}}
}

// load runs the config for a site on fresh ports. config gets the site's
// base URL and the global options every config here starts with.
func (e *edge) load(config func(base, globals string) string) {
	e.t.Helper()
	p := testcaddy.Start(e.t, 2, func(p []int) string {
		return config(fmt.Sprintf("http://localhost:%d", p[0]), fmt.Sprintf("\thttp_port %d\n\thttps_port %d\n\tadmin off\n", p[0], p[1]))
	})
	e.base = fmt.Sprintf("http://localhost:%d", p[0])
	// The previous config's server closes its keep-alive connections.
	e.client.CloseIdleConnections()
}

// siteConfig protects /admin/* with a group requirement and everything
// else with a plain token check; responses echo the placeholders.
func siteConfig(jwksURL, extra string) func(base, globals string) string {
	return func(base, globals string) string {
		return fmt.Sprintf(`{
%s	skip_install_trust
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
`, globals, base, pool, jwksURL, pool, jwksURL, base, extra)
	}
}

func do(t *testing.T, e *edge, method, path, token string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestCaddyfileIntegration(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	e := newEdge(t)
	e.load(siteConfig(is.JWKSURL(), ""))
	base := e.base

	resp, body := do(t, e, "GET", "/mcp", "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp"` {
		t.Fatalf("no token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	if !strings.Contains(body, `"error_description":"bearer token required"`) {
		t.Fatalf("no-token body = %s", body)
	}

	tok := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("cognito:groups", []string{"admins", "ops"}))
	resp, body = do(t, e, "POST", "/mcp", tok)
	want := "id=user-1 user=user-1-user client=client-a groups=admins,ops scope=openid email iss=" + poolIss + " use=access"
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("valid token: %d %q", resp.StatusCode, body)
	}
	if resp, body = do(t, e, "GET", "/admin/x", tok); resp.StatusCode != 200 || body != "admin user-1" {
		t.Fatalf("admin: %d %q", resp.StatusCode, body)
	}

	reader := is.Mint(is.CognitoAccessClaims("user-2", "client-a").With("cognito:groups", []string{"readers"}))
	resp, body = do(t, e, "GET", "/admin/x", reader)
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 403 || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="openid"`) ||
		!strings.Contains(ch, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/admin/x"`) {
		t.Fatalf("wrong group: %d %q %s", resp.StatusCode, ch, body)
	}

	expired := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("exp", time.Now().Add(-time.Minute).Unix()))
	resp, body = do(t, e, "GET", "/mcp", expired)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token", error_description="token expired"`) ||
		strings.Contains(body, expired[len(expired)-10:]) {
		t.Fatalf("expired: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}

	if resp, _ = do(t, e, "GET", "/mcp?access_token="+tok, ""); resp.StatusCode != 401 {
		t.Fatalf("query token accepted: %d", resp.StatusCode)
	}

	for _, p := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, body = do(t, e, "GET", p, "")
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
		if doc["resource"] != base+"/mcp" || fmt.Sprint(doc["authorization_servers"]) != "["+poolIss+"]" ||
			fmt.Sprint(doc["bearer_methods_supported"]) != "[header]" {
			t.Fatalf("%s: %v", p, doc)
		}
	}

	resp, body = do(t, e, "OPTIONS", "/mcp", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
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
	e := newEdge(t)
	e.load(func(base, globals string) string {
		return strings.Replace(siteConfig(is.JWKSURL(), "")(base, globals), "\thandle {", "\thandle_errors {\n\t\trespond \"custom {err.status_code}: {http.auth.cognito_auth.error}\"\n\t}\n\thandle {", 1)
	})
	resp, body := do(t, e, "GET", "/mcp", "not.a.token")
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
	e := newEdge(t)
	tok := is.Mint(is.CognitoAccessClaims("user-1", "client-a").With("cognito:groups", []string{"admins"}))

	load := func(i int) {
		e.load(siteConfig(is.JWKSURL(), fmt.Sprintf(" v=%d", i)))
		resp, body := do(t, e, "GET", "/mcp", tok)
		if resp.StatusCode != 200 || !strings.HasSuffix(body, fmt.Sprintf(" v=%d", i)) {
			t.Fatalf("reload %d: %d %q", i, resp.StatusCode, body)
		}
	}
	load(0)
	e.client.CloseIdleConnections()
	before := settledGoroutines(0)
	for i := 1; i <= 50; i++ {
		load(i)
	}
	e.client.CloseIdleConnections()
	after := settledGoroutines(before + 5)
	if after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over 50 reloads", before, after)
	}
	if got := is.JWKSFetches(); got != 1 {
		t.Fatalf("jwks fetched %d times over 50 reloads, want 1", got)
	}
}

// settledGoroutines lets connection and shutdown goroutines finish. With
// target 0 it returns the lowest count over two seconds (a baseline);
// otherwise it returns as soon as the count is at most target, or the
// lowest count after 30 s: a leak stays however long it waits, and a
// loaded machine only makes stragglers go later.
func settledGoroutines(target int) int {
	wait := 30 * time.Second
	if target == 0 {
		wait = 2 * time.Second
	}
	n := runtime.NumGoroutine()
	for end := time.Now().Add(wait); (target == 0 || n > target) && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		n = min(n, runtime.NumGoroutine())
	}
	return n
}

func TestEnabledEnvSwitch(t *testing.T) {
	const cf = `http://localhost {
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
