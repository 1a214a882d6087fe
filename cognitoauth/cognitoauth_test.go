package cognitoauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

func TestValidCognitoAccessToken(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	tok := is.Mint(is.CognitoAccessClaims("user-1", testClient).
		With("cognito:groups", []string{"admins", "ops"}).With("scope", "openid mcp/tools"))

	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req := bearerRequest("")
		req.Header.Set("Authorization", scheme+" "+tok)
		res := serve(t, m, req)
		if res.rec.Code != 200 || !res.nextRan || res.err != nil {
			t.Fatalf("%s: status %d next=%v err=%v body=%s", scheme, res.rec.Code, res.nextRan, res.err, res.rec.Body)
		}
		id := res.identity
		if id == nil {
			t.Fatal("identity var not set")
		}
		if id.Subject != "user-1" || id.Username != "user-1-user" || id.ClientID != testClient ||
			id.Issuer != cognitoIss || id.TokenUse != "access" || id.TokenType != "access" ||
			strings.Join(id.Groups, ",") != "admins,ops" || strings.Join(id.Scopes, " ") != "openid mcp/tools" ||
			id.ExpiresAt.IsZero() || id.IssuedAt.IsZero() || id.Claims["jti"] == nil {
			t.Fatalf("identity = %+v", id)
		}
		want := map[string]string{
			"http.auth.user.id": "user-1", "http.auth.user.username": "user-1-user",
			"http.auth.user.client_id": testClient, "http.auth.user.groups": "admins,ops",
			"http.auth.user.scope": "openid mcp/tools", "http.auth.user.issuer": cognitoIss,
			"http.auth.user.token_use": "access", "http.auth.user.email": "",
		}
		for k, v := range want {
			if got, _ := res.repl.GetString(k); got != v {
				t.Fatalf("%s = %q, want %q", k, got, v)
			}
		}
	}
	if m.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", m.cache.len())
	}
}

func TestCognitoIDTokens(t *testing.T) {
	is := newCognitoIssuer(t)
	idTok := is.Mint(is.CognitoIDClaims("user-2", testClient))
	accessTok := is.Mint(is.CognitoAccessClaims("user-2", testClient))
	onlyID := cognitoModule(t, is, func(m *CognitoAuth) { m.TokenUse = "id" })
	anyUse := cognitoModule(t, is, func(m *CognitoAuth) { m.TokenUse = "any" })

	res := serve(t, onlyID, bearerRequest(idTok))
	if res.rec.Code != 200 || res.identity.TokenType != "id" || res.identity.Email != "user-2@example.com" ||
		res.identity.ClientID != testClient || res.identity.Username != "user-2-user" {
		t.Fatalf("id token: %d %+v", res.rec.Code, res.identity)
	}
	if res := serve(t, onlyID, bearerRequest(accessTok)); res.rec.Code != 401 {
		t.Fatalf("access token accepted where id required: %d", res.rec.Code)
	}
	for _, tok := range []string{idTok, accessTok} {
		if res := serve(t, anyUse, bearerRequest(tok)); res.rec.Code != 200 {
			t.Fatalf("token_use any: %d %s", res.rec.Code, res.rec.Body)
		}
	}
}

func TestOIDCAudiencesAndTokenTypes(t *testing.T) {
	is := ti.New(ti.WithKey(ti.KeyOptions{Kind: ti.ECP384}))
	t.Cleanup(is.Close)
	m := provision(t, &CognitoAuth{Issuer: is.Issuer(), Audiences: []string{"https://MCP.example.com/mcp/"}})

	cases := []struct {
		name     string
		tok      string
		status   int
		tokenTyp string
	}{
		{"at+jwt exact audience", is.Mint(is.OIDCAccessClaims("u", "https://mcp.example.com/mcp"), ti.Typ("at+jwt")), 200, "access"},
		{"audience array, upper-case scheme", is.Mint(is.OIDCAccessClaims("u", "other", "HTTPS://mcp.example.com/mcp/"), ti.Typ("at+jwt")), 200, "access"},
		{"plain JWT with aud is an id token", is.Mint(is.OIDCAccessClaims("u", "https://mcp.example.com/mcp")), 200, "id"},
		{"no typ", is.Mint(is.OIDCAccessClaims("u", "https://mcp.example.com/mcp"), ti.Typ("")), 200, "id"},
		{"other audience", is.Mint(is.OIDCAccessClaims("u", "https://evil.example.com/mcp"), ti.Typ("at+jwt")), 401, ""},
		{"path differs", is.Mint(is.OIDCAccessClaims("u", "https://mcp.example.com/mcp2"), ti.Typ("at+jwt")), 401, ""},
		{"no audience", is.Mint(is.OIDCAccessClaims("u"), ti.Typ("at+jwt")), 401, ""},
		{"cognito token_use ignored in OIDC mode", is.Mint(is.OIDCAccessClaims("u", "https://mcp.example.com/mcp").With("token_use", "id")), 200, "id"},
	}
	for _, c := range cases {
		res := serve(t, m, bearerRequest(c.tok))
		if res.rec.Code != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, res.rec.Code, c.status, res.rec.Body)
		}
		if c.status == 200 && res.identity.TokenType != c.tokenTyp {
			t.Fatalf("%s: token type %q, want %q", c.name, res.identity.TokenType, c.tokenTyp)
		}
	}
	if is.DiscoveryFetches() != 1 || is.JWKSFetches() != 1 {
		t.Fatalf("discovery=%d jwks=%d, want 1/1", is.DiscoveryFetches(), is.JWKSFetches())
	}
}

func TestEveryAllowedAlgorithm(t *testing.T) {
	is := newCognitoIssuer(t)
	var kids []string
	for _, k := range []ti.KeyKind{ti.RSA, ti.RSAPSS, ti.ECP256, ti.ECP384, ti.ECP521, ti.Ed25519} {
		kid, err := is.AddKey(ti.KeyOptions{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, kid)
	}
	noAlgKID, _ := is.AddKey(ti.KeyOptions{Kind: ti.RSA, Alg: "-", Use: "-"})
	m := cognitoModule(t, is)
	for _, kid := range kids {
		if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(kid)))); res.rec.Code != 200 {
			t.Fatalf("kid %s: %d %s", kid, res.rec.Code, res.rec.Body)
		}
	}
	// Without a JWK alg, any RSA algorithm of the allow-list may be used.
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(noAlgKID), ti.Alg("RS512")))); res.rec.Code != 200 {
		t.Fatalf("RS512 on alg-less key: %d %s", res.rec.Code, res.rec.Body)
	}
	if is.JWKSFetches() != 1 {
		t.Fatalf("jwks fetches = %d", is.JWKSFetches())
	}
}

func TestScopesGroupsAndChallenges(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, func(m *CognitoAuth) {
		m.Scopes = []string{"mcp/read", "mcp/write"}
		m.Groups = []string{"admins", "ops"}
		m.Resource = "https://mcp.example.com/mcp"
	})
	prm := `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`

	res := serve(t, m, bearerRequest(""))
	if res.rec.Code != 401 || res.rec.Header().Get("WWW-Authenticate") != `Bearer scope="mcp/read mcp/write", `+prm {
		t.Fatalf("no token: %d %q", res.rec.Code, res.rec.Header().Get("WWW-Authenticate"))
	}
	if res.rec.Header().Get("Content-Type") != "application/json" || res.rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("headers = %v", res.rec.Header())
	}

	ok := is.Mint(is.CognitoAccessClaims("u", testClient).With("scope", "openid mcp/read mcp/write").With("cognito:groups", []string{"ops"}))
	if res := serve(t, m, bearerRequest(ok)); res.rec.Code != 200 {
		t.Fatalf("good token: %d %s", res.rec.Code, res.rec.Body)
	}
	partial := is.Mint(is.CognitoAccessClaims("u", testClient).With("scope", "mcp/read").With("cognito:groups", []string{"ops"}))
	res = serve(t, m, bearerRequest(partial))
	want := `Bearer error="insufficient_scope", error_description="missing required scope", scope="mcp/read mcp/write", ` + prm
	if res.rec.Code != 403 || res.rec.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("partial scope: %d %q", res.rec.Code, res.rec.Header().Get("WWW-Authenticate"))
	}
	noGroup := is.Mint(is.CognitoAccessClaims("u", testClient).With("scope", "mcp/read mcp/write"))
	if res := serve(t, m, bearerRequest(noGroup)); res.rec.Code != 403 || res.challengeError() != "insufficient_scope" {
		t.Fatalf("no group: %d", res.rec.Code)
	}
	expired := is.Mint(is.CognitoAccessClaims("u", testClient).With("exp", time.Now().Add(-time.Hour).Unix()))
	res = serve(t, m, bearerRequest(expired))
	want = `Bearer error="invalid_token", error_description="token expired", scope="mcp/read mcp/write", ` + prm
	if got := res.rec.Header().Get("WWW-Authenticate"); got != want {
		t.Fatalf("expired challenge = %q", got)
	}
	if got, _ := res.repl.GetString(errorPlaceholder); got != "token expired" {
		t.Fatalf("error placeholder = %q", got)
	}
}

func TestLeewayAndCacheExpiry(t *testing.T) {
	is := newCognitoIssuer(t)
	clock := time.Now()
	m := cognitoModule(t, is)
	m.now = func() time.Time { return clock }

	// Expired 10 s ago: inside the default 30 s leeway, accepted, not cached.
	stale := is.Mint(is.CognitoAccessClaims("u", testClient).With("exp", clock.Add(-10*time.Second).Unix()).With("iat", clock.Add(-time.Hour).Unix()))
	if res := serve(t, m, bearerRequest(stale)); res.rec.Code != 200 {
		t.Fatalf("within leeway: %d %s", res.rec.Code, res.rec.Body)
	}
	if m.cache.len() != 0 {
		t.Fatal("expired token was cached")
	}

	strict := cognitoModule(t, is, func(m *CognitoAuth) { m.Leeway = caddy.Duration(time.Millisecond) })
	strict.now = func() time.Time { return clock }
	// iat comes from the test's clock too: minted from the wall clock, it can
	// land in the next second, which a 1 ms leeway calls "issued in the future".
	tok := is.Mint(is.CognitoAccessClaims("u", testClient).With("exp", clock.Add(2*time.Second).Unix()).With("iat", clock.Unix()))
	if res := serve(t, strict, bearerRequest(tok)); res.rec.Code != 200 || strict.cache.len() != 1 {
		t.Fatalf("fresh token: %d, cached %d", res.rec.Code, strict.cache.len())
	}
	clock = clock.Add(3 * time.Second)
	res := serve(t, strict, bearerRequest(tok))
	if res.rec.Code != 401 || !strings.Contains(res.rec.Body.String(), "token expired") {
		t.Fatalf("cached token served past exp: %d %s", res.rec.Code, res.rec.Body)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	c := newTokenCache(2)
	now := time.Now()
	ids := make([]*Identity, 3)
	for i := range ids {
		ids[i] = &Identity{Subject: string(rune('a' + i)), ExpiresAt: now.Add(time.Hour)}
		c.put(hashToken(ids[i].Subject), ids[i], now)
		if i == 1 {
			c.get(hashToken("a"), now) // a becomes most recent; b is evicted next
		}
	}
	if c.len() != 2 || c.get(hashToken("b"), now) != nil || c.get(hashToken("a"), now) != ids[0] || c.get(hashToken("c"), now) != ids[2] {
		t.Fatalf("LRU eviction wrong, len %d", c.len())
	}
	if c.get(hashToken("a"), now.Add(time.Hour)) != nil {
		t.Fatal("entry served at exp")
	}
	c.put(hashToken("d"), &Identity{ExpiresAt: now}, now)
	if c.get(hashToken("d"), now.Add(-time.Second)) != nil {
		t.Fatal("already-expired identity was cached")
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	is := newCognitoIssuer(t)
	derived := cognitoModule(t, is, func(m *CognitoAuth) { m.Scopes = []string{"mcp/read"} })
	configured := cognitoModule(t, is, func(m *CognitoAuth) {
		m.Resource = "https://mcp.example.com/mcp"
		m.AuthorizationServers = []string{"https://auth.example.com"}
	})
	get := func(m *CognitoAuth, path string) (int, protectedResourceMetadata, http.Header) {
		res := serve(t, m, httptest.NewRequest(http.MethodGet, "http://mcp.example.com"+path, nil))
		var doc protectedResourceMetadata
		if res.rec.Code == 200 {
			if err := json.Unmarshal(res.rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
		}
		return res.rec.Code, doc, res.rec.Header()
	}
	code, doc, h := get(derived, "/.well-known/oauth-protected-resource")
	if code != 200 || doc.Resource != "http://mcp.example.com" || doc.AuthorizationServers[0] != cognitoIss ||
		doc.ScopesSupported[0] != "mcp/read" || doc.BearerMethodsSupported[0] != "header" || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("root PRM: %d %+v %v", code, doc, h)
	}
	if code, doc, _ = get(derived, "/.well-known/oauth-protected-resource/mcp"); code != 200 || doc.Resource != "http://mcp.example.com/mcp" {
		t.Fatalf("path PRM: %d %+v", code, doc)
	}
	if code, _, _ = get(derived, "/.well-known/oauth-protected-resourcex"); code != 401 {
		t.Fatalf("look-alike path: %d", code)
	}
	for _, p := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		code, doc, _ = get(configured, p)
		if code != 200 || doc.Resource != "https://mcp.example.com/mcp" || doc.AuthorizationServers[0] != "https://auth.example.com" || doc.ScopesSupported != nil {
			t.Fatalf("%s: %d %+v", p, code, doc)
		}
	}
	if code, _, _ = get(configured, "/.well-known/oauth-protected-resource/other"); code != 401 {
		t.Fatalf("foreign path-qualified PRM served: %d", code)
	}
	res := serve(t, derived, httptest.NewRequest(http.MethodPost, "http://mcp.example.com/.well-known/oauth-protected-resource", nil))
	if res.rec.Code != 401 {
		t.Fatalf("POST to PRM: %d", res.rec.Code)
	}
}

func TestCORSPreflightAndDisabled(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	pre := httptest.NewRequest(http.MethodOptions, "http://mcp.example.com/mcp", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if res := serve(t, m, pre); !res.nextRan || res.identity != nil {
		t.Fatal("preflight did not pass through")
	}
	// Only a real preflight (Fetch spec: OPTIONS with Origin and
	// Access-Control-Request-Method) skips the token: without Origin it is
	// just an unauthenticated OPTIONS that would reach the handler.
	noOrigin := httptest.NewRequest(http.MethodOptions, "http://mcp.example.com/mcp", nil)
	noOrigin.Header.Set("Access-Control-Request-Method", "POST")
	if res := serve(t, m, noOrigin); res.nextRan || res.rec.Code != 401 {
		t.Fatalf("OPTIONS with Access-Control-Request-Method but no Origin passed: %d", res.rec.Code)
	}
	noMethod := httptest.NewRequest(http.MethodOptions, "http://mcp.example.com/mcp", nil)
	noMethod.Header.Set("Origin", "https://app.example.com")
	if res := serve(t, m, noMethod); res.nextRan || res.rec.Code != 401 {
		t.Fatalf("OPTIONS with Origin but no Access-Control-Request-Method passed: %d", res.rec.Code)
	}
	plain := httptest.NewRequest(http.MethodOptions, "http://mcp.example.com/mcp", nil)
	if res := serve(t, m, plain); res.nextRan || res.rec.Code != 401 {
		t.Fatalf("OPTIONS without preflight header passed: %d", res.rec.Code)
	}
	off := false
	disabled := cognitoModule(t, is, func(m *CognitoAuth) { m.Enabled = &off })
	if res := serve(t, disabled, bearerRequest("")); !res.nextRan || res.identity != nil {
		t.Fatal("disabled module did not pass through")
	}
}

func TestRejectionGoesToHandleErrors(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	srv := &caddyhttp.Server{Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{{}}}}
	req := caddyhttp.PrepareRequest(bearerRequest("garbage"), caddy.NewReplacer(), nil, srv)
	rec := httptest.NewRecorder()
	err := m.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Fatal("next ran")
		return nil
	}))
	var he caddyhttp.HandlerError
	if !errors.As(err, &he) || he.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	if rec.Body.Len() != 0 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("body %q, challenge %q", rec.Body, rec.Header().Get("WWW-Authenticate"))
	}
	if strings.Contains(err.Error(), "garbage") {
		t.Fatal("error echoes the token")
	}
}

func TestValidate(t *testing.T) {
	good := func() *CognitoAuth {
		return &CognitoAuth{Region: testRegion, UserPoolID: testPool, ClientIDs: []string{testClient}}
	}
	bad := map[string]func(*CognitoAuth){
		"neither":          func(m *CognitoAuth) { m.UserPoolID = "" },
		"both":             func(m *CognitoAuth) { m.Issuer = "https://issuer.example.com" },
		"pool region":      func(m *CognitoAuth) { m.Region = "eu-west-1" },
		"pool id":          func(m *CognitoAuth) { m.UserPoolID = "not-a-pool" },
		"token_use":        func(m *CognitoAuth) { m.TokenUse = "refresh" },
		"leeway":           func(m *CognitoAuth) { m.Leeway = caddy.Duration(time.Hour) },
		"resource":         func(m *CognitoAuth) { m.Resource = "mcp.example.com/mcp" },
		"jwks_url":         func(m *CognitoAuth) { m.JWKSURL = "file:///etc/passwd" },
		"scope with quote": func(m *CognitoAuth) { m.Scopes = []string{`a"b`} },
		"oidc without audience": func(m *CognitoAuth) {
			m.UserPoolID, m.Region, m.Issuer = "", "", "https://issuer.example.com"
		},
		"oidc token_use": func(m *CognitoAuth) {
			m.UserPoolID, m.Region, m.Issuer, m.Audiences, m.TokenUse = "", "", "https://issuer.example.com", []string{"x"}, "id"
		},
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, f := range bad {
		m := good()
		f(m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
