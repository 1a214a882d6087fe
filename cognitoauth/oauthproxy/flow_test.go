package oauthproxy

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func jwtClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The whole login, as an MCP client does it, against the fake Cognito:
// register, authorize, consent, upstream login, callback, token, refresh.
func TestLoginThroughTheProxy(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	clientID := a.clientID

	status, tok := e.redeem(a, code)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tok)
	}
	at, _ := tok["access_token"].(string)
	c := jwtClaims(t, at)
	if c["iss"] != e.fake.URL() || c["client_id"] != upClient || c["sub"] != e.fake.Sub(alice) || c["token_use"] != "access" {
		t.Fatalf("access token claims %v: want the upstream's token for alice via the proxy's app client", c)
	}
	if _, hasAud := c["aud"]; hasAud {
		t.Fatalf("the fake's access tokens have no aud, like Cognito's: %v", c)
	}
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) || tok["refresh_token"] == "" || tok["scope"] != testScopes {
		t.Fatalf("token response %v", tok)
	}
	if _, ok := tok["id_token"]; ok {
		t.Fatal("the upstream's ID token must not be passed on")
	}

	// Upstream side: one authorize with the proxy's client, fixed callback
	// and its own PKCE; one token request with Basic auth and a verifier.
	ar := e.fake.AuthorizeRequests()
	if len(ar) != 1 || ar[0].ClientID != upClient || ar[0].RedirectURI != e.origin+PathCallback ||
		ar[0].CodeChallengeMethod != "S256" || !ar[0].HasChallenge || !ar[0].HasState || ar[0].Scope != testScopes {
		t.Fatalf("upstream authorize requests %+v", ar)
	}
	if ar[0].Resource != "" {
		t.Fatal("resource must not be forwarded unless forward_resource is set")
	}
	tr := e.fake.TokenRequests()
	if len(tr) != 1 || tr[0].AuthMethod != "client_secret_basic" || !tr[0].Verifier || tr[0].Status != 200 {
		t.Fatalf("upstream token requests %+v", tr)
	}

	// Refresh: a new access token, and a new refresh token for the client.
	rt := tok["refresh_token"].(string)
	status, ref := e.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}, "resource": {e.resource}})
	if status != http.StatusOK || ref["access_token"] == at || ref["access_token"] == "" {
		t.Fatalf("refresh: %d %v", status, ref)
	}
	if nrt, _ := ref["refresh_token"].(string); nrt == "" || nrt == rt {
		t.Fatalf("refresh must return a fresh refresh token, got %q", nrt)
	}
	if c := jwtClaims(t, ref["access_token"].(string)); c["sub"] != e.fake.Sub(alice) {
		t.Fatalf("refreshed token for %v", c["sub"])
	}
}

// A loopback client registered on one port comes back on another
// (RFC 8252 §7.3); the code is bound to the port it used.
func TestLoopbackClientMayUseAnotherPort(t *testing.T) {
	e := newEnv(t)
	clientID := e.register("http://127.0.0.1:1111/callback")
	a := newAuthRequest(clientID, "http://127.0.0.1:53682/callback")
	code := e.codeFor(a, alice, alicePass)
	wrong := *a
	wrong.redirectURI = "http://127.0.0.1:1111/callback"
	status, body := e.redeem(&wrong, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
	// The failed attempt did not spend the code: the right request works.
	if status, body := e.redeem(a, code); status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
}

// Deny on the consent page sends access_denied back to the client and
// never reaches the upstream.
func TestDenyReturnsAccessDenied(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	b := e.browser(alice, alicePass, clientCB)
	b.Deny = true
	u := e.login(b, a)
	if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != a.state || q.Get("iss") != e.origin || q.Get("code") != "" {
		t.Fatalf("deny redirect %v", u)
	}
	if n := len(e.fake.AuthorizeRequests()); n != 0 {
		t.Fatalf("deny reached the upstream %d times", n)
	}
}

// An upstream error (the user cancels at Cognito) is passed on to the
// client's validated redirect URI as an OAuth error.
func TestUpstreamErrorIsPassedOn(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	b := e.browser(alice, alicePass, clientCB)
	// Approve, then stop at the upstream login and come back as Cognito
	// does when the user cancels.
	b.Stop = func(u *url.URL) bool { return strings.HasPrefix(u.String(), e.fake.URL()+"/oauth2/authorize") }
	up := e.login(b, a)
	back := e.origin + PathCallback + "?" + url.Values{"error": {"access_denied"}, "error_description": {"user cancelled"}, "state": {up.Query().Get("state")}}.Encode()
	req, _ := http.NewRequest(http.MethodGet, back, nil)
	for _, c := range b.Client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, _ := e.do(req)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), clientCB+"?") {
		t.Fatalf("callback answered %d to %v", resp.StatusCode, loc)
	}
	if q := loc.Query(); q.Get("error") != "access_denied" || q.Get("state") != a.state || q.Get("iss") != e.origin {
		t.Fatalf("error redirect %v", loc)
	}
}
