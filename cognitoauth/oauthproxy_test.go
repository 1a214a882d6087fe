package cognitoauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cognitoauth/oauthproxy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	proxyResource = "https://mcp.example.com/mcp"
	proxyClient   = "5abc1234defgh"
)

var testSealingKey = base64.StdEncoding.EncodeToString(oauthproxy.NewKey())

// proxyModule is an issuer-mode module with oauth_proxy, as the login
// tests configure it against a Cognito-like issuer.
func proxyModule(t *testing.T, is *testissuer.Issuer, adjust ...func(*CognitoAuth)) *CognitoAuth {
	t.Helper()
	m := &CognitoAuth{
		Issuer: is.Issuer(), ClientIDs: []string{proxyClient}, Resource: proxyResource, Scopes: []string{"mcp/read"},
		OAuthProxy: &OAuthProxy{ClientID: proxyClient, Key: testSealingKey,
			AuthorizeURL: "https://login.example.com/oauth2/authorize", TokenURL: "https://login.example.com/oauth2/token"},
	}
	for _, f := range adjust {
		f(m)
	}
	return provision(t, m)
}

// Cognito-shaped access tokens (client_id, no aud) from an issuer in
// issuer mode are accepted when client_ids names their client and the
// audience only defaulted to resource; nothing else loosens.
func TestTokensWithoutAudBoundByClientID(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	cognitoShaped := func(client string) string { return is.Mint(is.CognitoAccessClaims("u1", client)) }
	for name, tc := range map[string]struct {
		m    *CognitoAuth
		tok  string
		want int
	}{
		"no aud, our client": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource, ClientIDs: []string{proxyClient}},
			cognitoShaped(proxyClient), http.StatusOK},
		"no aud, another client": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource, ClientIDs: []string{proxyClient}},
			cognitoShaped("someone-else"), http.StatusUnauthorized},
		"aud of another resource, our client": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource, ClientIDs: []string{proxyClient}},
			is.Mint(is.CognitoAccessClaims("u1", proxyClient).With("aud", "https://other.example.com/mcp")), http.StatusUnauthorized},
		"no aud, no client_ids": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource},
			cognitoShaped(proxyClient), http.StatusUnauthorized},
		"no aud, explicit audiences": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource, Audiences: []string{proxyResource}, ClientIDs: []string{proxyClient}},
			cognitoShaped(proxyClient), http.StatusUnauthorized},
		"no aud, client named only by azp": {
			&CognitoAuth{Issuer: is.Issuer(), Resource: proxyResource, ClientIDs: []string{proxyClient}},
			is.Mint(testissuer.Claims{"sub": "u1", "iss": is.Issuer(), "azp": proxyClient, "exp": 9999999999}), http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			res := serve(t, provision(t, tc.m), bearerRequest(tc.tok))
			if res.rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", res.rec.Code, tc.want, res.rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// With oauth_proxy, the site is its own authorization server: the
// resource metadata names its origin and the proxy's scopes, and the
// proxy's endpoints answer before the token check (only those).
func TestOAuthProxyServedBeforeTheTokenCheck(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	m := proxyModule(t, is)

	res := serve(t, m, httptest.NewRequest(http.MethodGet, "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", nil))
	var prm protectedResourceMetadata
	_ = json.Unmarshal(res.rec.Body.Bytes(), &prm)
	if len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != "https://mcp.example.com" ||
		strings.Join(prm.ScopesSupported, " ") != "openid mcp/read" {
		t.Fatalf("resource metadata %+v", prm)
	}
	res = serve(t, m, httptest.NewRequest(http.MethodGet, "https://mcp.example.com/.well-known/oauth-authorization-server", nil))
	if res.rec.Code != 200 || res.nextRan || !strings.Contains(res.rec.Body.String(), `"code_challenge_methods_supported":["S256"]`) {
		t.Fatalf("metadata: %d next=%v %s", res.rec.Code, res.nextRan, res.rec.Body)
	}
	res = serve(t, m, httptest.NewRequest(http.MethodPost, "https://mcp.example.com/oauth/register",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1:1234/cb"]}`)))
	if res.rec.Code != http.StatusCreated || res.nextRan {
		t.Fatalf("register: %d %s", res.rec.Code, res.rec.Body)
	}
	// Not the proxy's: a token is required as before.
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "https://mcp.example.com/oauth/token", nil),
		httptest.NewRequest(http.MethodPost, "https://mcp.example.com/oauth/tokens", nil),
		httptest.NewRequest(http.MethodPost, "https://mcp.example.com/mcp", nil),
	} {
		if res := serve(t, m, r); res.rec.Code != http.StatusUnauthorized || res.nextRan {
			t.Fatalf("%s %s: %d", r.Method, r.URL.Path, res.rec.Code)
		}
	}
	// An explicit authorization_servers wins.
	m2 := proxyModule(t, is, func(m *CognitoAuth) { m.AuthorizationServers = []string{"https://as.example.com"} })
	res = serve(t, m2, httptest.NewRequest(http.MethodGet, "https://mcp.example.com/.well-known/oauth-protected-resource", nil))
	if !strings.Contains(res.rec.Body.String(), `"authorization_servers":["https://as.example.com"]`) {
		t.Fatalf("explicit authorization_servers ignored: %s", res.rec.Body)
	}
}

// Start-up says in words what cannot work.
func TestOAuthProxyValidation(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	for name, tc := range map[string]struct {
		adjust func(*CognitoAuth)
		want   string
	}{
		"identity pool without developer provider": {func(m *CognitoAuth) {
			m.IdentityPool = &IdentityPoolVending{ID: "us-east-1:11111111-2222-3333-4444-555555555555"}
		}, "cannot serve logins with identity_pool unless developer_provider is set"},
		"no resource":          {func(m *CognitoAuth) { m.Resource = ""; m.Audiences = []string{"x"} }, "oauth_proxy requires resource"},
		"no client id":         {func(m *CognitoAuth) { m.OAuthProxy.ClientID = "" }, "client_id is required"},
		"short key":            {func(m *CognitoAuth) { m.OAuthProxy.Key = "c2hvcnQ=" }, "must be 32 bytes"},
		"http redirect listed": {func(m *CognitoAuth) { m.OAuthProxy.RedirectURIs = []string{"http://example.com/cb"} }, "only for loopback"},
		"user pool id tokens": {func(m *CognitoAuth) {
			m.Issuer, m.Region, m.UserPoolID, m.TokenUse = "", "us-east-1", "us-east-1_Test123", "id"
		}, "token_use is id"},
	} {
		t.Run(name, func(t *testing.T) {
			m := &CognitoAuth{
				Issuer: is.Issuer(), ClientIDs: []string{proxyClient}, Resource: proxyResource,
				OAuthProxy: &OAuthProxy{ClientID: proxyClient, Key: testSealingKey},
			}
			tc.adjust(m)
			m.logger = zap.NewNop()
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

// Without key, the sealing key is generated once and kept in Caddy's
// storage: instances starting together agree on one key, and a restart
// finds it again.
func TestSealingKeyIsGeneratedOnceInStorage(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	var wg sync.WaitGroup
	keys := make([][]byte, 4)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadOrCreateKey(context.Background(), st, zap.NewNop())
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if string(k) != string(keys[0]) || len(k) != oauthproxy.KeyLen {
			t.Fatal("instances sharing storage got different sealing keys")
		}
	}
	again, err := loadOrCreateKey(context.Background(), st, zap.NewNop())
	if err != nil || string(again) != string(keys[0]) {
		t.Fatal("the stored key was not found again")
	}
	if _, err := loadOrCreateKey(context.Background(), nil, zap.NewNop()); err == nil {
		t.Fatal("no storage must be an error")
	}
}

// registerAs posts a registration through the module as Caddy's server
// prepares it, from a load balancer's address, with client_ip set to ip
// as Caddy sets it from trusted_proxies ("" leaves Caddy's own value, the
// peer address).
func registerAs(t *testing.T, m *CognitoAuth, ip string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://mcp.example.com/oauth/register",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1:1234/cb"]}`))
	req.RemoteAddr = "10.0.0.1:5555"
	req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, nil)
	if ip != "" {
		caddyhttp.SetVar(req.Context(), caddyhttp.ClientIPVarKey, ip)
	}
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Fatal("registration reached the next handler")
		return nil
	})
	if err := m.ServeHTTP(rec, req, next); err != nil {
		t.Fatal(err)
	}
	if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	return rec.Code
}

func proxyLimited(requests, burst int) func(*CognitoAuth) {
	return func(m *CognitoAuth) {
		m.OAuthProxy.RateLimit = &RateLimit{Requests: requests, Window: caddy.Duration(time.Minute), Burst: burst}
	}
}

// The limit counts per Caddy client IP, so behind a load balancer with
// trusted_proxies each user has a budget and the balancer has none of its
// own; without trusted_proxies the peer address counts.
func TestOAuthProxyRateLimitUsesCaddysClientIP(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	m := proxyModule(t, is, proxyLimited(1, 1))
	for _, step := range []struct {
		ip   string
		want int
	}{
		{"203.0.113.7", http.StatusCreated},
		{"203.0.113.7", http.StatusTooManyRequests},
		{"203.0.113.8", http.StatusCreated},
		{"", http.StatusCreated}, // the peer, 10.0.0.1
		{"", http.StatusTooManyRequests},
	} {
		if got := registerAs(t, m, step.ip); got != step.want {
			t.Fatalf("from %q: %d, want %d", step.ip, got, step.want)
		}
	}
}

// By default an address may start 30 requests at once; rate_limit off
// lifts the limit.
func TestOAuthProxyRateLimitDefaultAndOff(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	m := proxyModule(t, is)
	for i := range defaultProxyBurst {
		if got := registerAs(t, m, "198.51.100.1"); got != http.StatusCreated {
			t.Fatalf("registration %d: %d", i+1, got)
		}
	}
	if got := registerAs(t, m, "198.51.100.1"); got != http.StatusTooManyRequests {
		t.Fatalf("registration %d: %d, want 429", defaultProxyBurst+1, got)
	}
	off := proxyModule(t, is, func(m *CognitoAuth) { m.OAuthProxy.NoRateLimit = true })
	for i := range 3 * defaultProxyBurst {
		if got := registerAs(t, off, "198.51.100.1"); got != http.StatusCreated {
			t.Fatalf("rate_limit off: registration %d: %d", i+1, got)
		}
	}
}

// A reload that keeps the limits keeps every address's bucket; the last
// config using it frees it.
func TestOAuthProxyRateLimitSurvivesReload(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	m1 := proxyModule(t, is, proxyLimited(2, 2))
	for range 2 {
		registerAs(t, m1, "192.0.2.1")
	}
	m2 := proxyModule(t, is, proxyLimited(2, 2)) // the reloaded config
	key := m2.OAuthProxy.limiterKey
	if key == "" || key != m1.OAuthProxy.limiterKey {
		t.Fatalf("limiter keys %q and %q", m1.OAuthProxy.limiterKey, key)
	}
	_ = m1.Cleanup() // the old config goes
	if got := registerAs(t, m2, "192.0.2.1"); got != http.StatusTooManyRequests {
		t.Fatalf("after the reload the address got a fresh budget: %d", got)
	}
	_ = m2.Cleanup()
	if _, loaded := rateLimiters.References(key); loaded {
		t.Fatalf("limiter %q still referenced after its last config went", key)
	}
}

// A client_secret or key read from an unset environment variable stops
// start-up, naming the variable and never a value: an empty secret would
// silently make the app client public, an empty key would silently
// generate a second key beside the cluster's.
func TestOAuthProxyEmptyPlaceholdersStopStartup(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	t.Setenv("CWMCP_TEST_PROXY_SECRET", "")
	t.Setenv("CWMCP_TEST_PROXY_KEY", "")
	for name, tc := range map[string]struct {
		p    OAuthProxy
		want string
	}{
		"secret": {OAuthProxy{ClientSecret: "{env.CWMCP_TEST_PROXY_SECRET}", Key: testSealingKey}, "client_secret is empty at start-up: set {env.CWMCP_TEST_PROXY_SECRET}"},
		"key":    {OAuthProxy{Key: "{env.CWMCP_TEST_PROXY_KEY}"}, "key is empty at start-up: set {env.CWMCP_TEST_PROXY_KEY}"},
	} {
		t.Run(name, func(t *testing.T) {
			p := tc.p
			p.ClientID = proxyClient
			m := &CognitoAuth{Issuer: is.Issuer(), ClientIDs: []string{proxyClient}, Resource: proxyResource, OAuthProxy: &p}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := m.Provision(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("provision: %v, want %q", err, tc.want)
			}
			_ = m.Cleanup()
		})
	}
	t.Setenv("CWMCP_TEST_PROXY_SECRET", "s3cr3t-value-from-the-environment")
	m := proxyModule(t, is, func(m *CognitoAuth) { m.OAuthProxy.ClientSecret = "{env.CWMCP_TEST_PROXY_SECRET}" })
	if m.OAuthProxy.server == nil {
		t.Fatal("no proxy with the secret set")
	}
}
