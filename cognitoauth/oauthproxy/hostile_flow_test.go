package oauthproxy

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
)

// wantRedirectError asserts an OAuth error redirect to the client.
func wantRedirectError(t *testing.T, e *env, resp *http.Response, a *authRequest, code string) {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), a.redirectURI+"?") {
		t.Fatalf("got %d to %q, want a redirect to the client", resp.StatusCode, resp.Header.Get("Location"))
	}
	if q := loc.Query(); q.Get("error") != code || q.Get("iss") != e.origin || q.Get("code") != "" {
		t.Fatalf("redirect %v, want error=%s with iss", loc, code)
	}
}

func TestAuthorizeRequiresPKCE(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	a.params.Set("code_challenge", "")
	a.params.Set("code_challenge_method", "")
	resp, _ := e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "invalid_request")
}

func TestAuthorizeRefusesPlainPKCE(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	a.params.Set("code_challenge", a.verifier) // plain: the challenge is the verifier
	a.params.Set("code_challenge_method", "plain")
	resp, _ := e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "invalid_request")
	a.params.Set("code_challenge_method", "")
	resp, _ = e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "invalid_request")
}

func TestAuthorizeRequiresCodeAndState(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	a.params.Set("response_type", "token")
	resp, _ := e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "unsupported_response_type")
	a = newAuthRequest(clientID, clientCB)
	a.params.Set("state", "")
	resp, _ = e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "invalid_request")
}

func TestAuthorizeRefusesResourceOfAnotherServer(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	a.params.Set("resource", "https://other.example.com/mcp")
	resp, _ := e.get(e.authURL(a))
	wantRedirectError(t, e, resp, a, "invalid_target")
	// Case and a trailing slash do not make another resource.
	a = newAuthRequest(clientID, clientCB)
	a.params.Set("resource", strings.ToUpper(e.origin[:4])+e.origin[4:]+"/mcp/")
	if resp, body := e.get(e.authURL(a)); resp.StatusCode != 200 || !strings.Contains(body, "Approve") {
		t.Fatalf("equivalent resource refused: %d", resp.StatusCode)
	}
}

func TestTokenRefusesResourceOfAnotherServer(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	status, body := e.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {a.clientID}, "code": {code},
		"redirect_uri": {clientCB}, "code_verifier": {a.verifier}, "resource": {"https://other.example.com/mcp"}})
	wantOAuthError(t, status, body, 400, "invalid_target")
}

func TestTokenRefusesWrongVerifier(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	for _, v := range []string{newVerifier(), "", a.verifier[:42], s256(a.verifier)} {
		status, body := e.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {a.clientID}, "code": {code},
			"redirect_uri": {clientCB}, "code_verifier": {v}})
		wantOAuthError(t, status, body, 400, "invalid_grant")
	}
	if n := len(e.fake.TokenRequests()); n != 0 {
		t.Fatalf("a request without the right verifier reached the upstream %d times", n)
	}
}

// A code works once: the replay is refused by the instance's used-code
// set, without a call upstream.
func TestCodeReplayIsRefused(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	if status, body := e.redeem(a, code); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	status, body := e.redeem(a, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
	if n := len(e.fake.TokenRequests()); n != 1 {
		t.Fatalf("the replay reached the upstream: %d token requests", n)
	}
}

// Replayed at another instance (same key, its own used-code set), the
// code wraps an upstream code that is already spent: the upstream
// refuses it and so does the proxy.
func TestCodeReplayOnAnotherInstanceIsRefusedByTheUpstream(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	if status, body := e.redeem(a, code); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	other := e.secondInstance()
	status, body := other.redeem(a, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
	tr := e.fake.TokenRequests()
	if len(tr) != 2 || tr[1].Error != "invalid_grant" {
		t.Fatalf("upstream token requests %+v: the replay must be refused upstream", tr)
	}
}

func TestCodeRedeemedByAnotherClientIsRefused(t *testing.T) {
	e := newEnv(t)
	aliceClient := e.register(clientCB)
	mallory := e.register(clientCB) // same redirect URI, another registration
	a := newAuthRequest(aliceClient, clientCB)
	code := e.codeFor(a, alice, alicePass)
	stolen := *a
	stolen.clientID = mallory
	status, body := e.redeem(&stolen, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
	if n := len(e.fake.TokenRequests()); n != 0 {
		t.Fatal("another client's redemption reached the upstream")
	}
}

func TestRefreshTokenOfAnotherClientIsRefused(t *testing.T) {
	e := newEnv(t)
	clientA, clientB := e.register(clientCB), e.register(clientCB)
	a := newAuthRequest(clientA, clientCB)
	_, tok := e.redeem(a, e.codeFor(a, alice, alicePass))
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", tok)
	}
	status, body := e.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientB}, "refresh_token": {rt}})
	wantOAuthError(t, status, body, 400, "invalid_grant")
	if status, body := e.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA}, "refresh_token": {rt}}); status != 200 {
		t.Fatalf("the owner's refresh failed: %d %v", status, body)
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	e.clock.advance(codeLifetime + 2*time.Second)
	status, body := e.redeem(a, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
}

// callbackURL runs a login up to the upstream's redirect back to the
// proxy and returns that URL with the browser that holds the cookie.
func (e *env) callbackURL(a *authRequest) (*url.URL, *http.Cookie) {
	e.t.Helper()
	b := e.browser(alice, alicePass, a.redirectURI)
	b.Stop = func(u *url.URL) bool { return u.Path == PathCallback }
	u := e.login(b, a)
	cookies := b.Client.Jar.Cookies(u)
	for _, c := range cookies {
		if c.Name == e.proxy.bindingCookieName() {
			return u, c
		}
	}
	e.t.Fatalf("no binding cookie in the browser: %v", cookies)
	return nil, nil
}

// A callback URL replayed without the browser that started the login
// (or in another browser) gets a page, and no code is issued.
func TestCallbackWithoutBindingCookieIsRefused(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	cb, cookie := e.callbackURL(a)

	req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
	resp, body := e.do(req)
	wantErrorPage(t, resp, body, http.StatusForbidden)

	other := &http.Cookie{Name: cookie.Name, Value: randomToken(32)}
	req, _ = http.NewRequest(http.MethodGet, cb.String(), nil)
	req.AddCookie(other)
	resp, body = e.do(req)
	wantErrorPage(t, resp, body, http.StatusForbidden)

	// The control: the right browser gets its code.
	req, _ = http.NewRequest(http.MethodGet, cb.String(), nil)
	req.AddCookie(cookie)
	resp, _ = e.do(req)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "code=") {
		t.Fatalf("the right browser got %d %q", resp.StatusCode, loc)
	}
}

var hiddenField = regexp.MustCompile(`name="(request|csrf_token)" value="([^"]*)"`)

// consentForm loads the consent page and returns its hidden fields and
// the binding cookie.
func (e *env) consentForm(a *authRequest) (request, csrf string, cookie *http.Cookie) {
	e.t.Helper()
	resp, body := e.get(e.authURL(a))
	if resp.StatusCode != 200 {
		e.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == "request" {
			request = m[2]
		} else {
			csrf = m[2]
		}
	}
	for _, c := range resp.Cookies() {
		if c.Name == e.proxy.bindingCookieName() {
			cookie = c
		}
	}
	if request == "" || csrf == "" || cookie == nil {
		e.t.Fatalf("consent page without request, csrf_token or cookie")
	}
	return
}

func (e *env) postConsent(form url.Values, cookie *http.Cookie, origin string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, e.origin+PathConsent, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return e.send(req)
}

func TestConsentWithoutCSRFTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	request, csrf, cookie := e.consentForm(a)
	for _, f := range []url.Values{
		{"request": {request}, "decision": {"approve"}},
		{"request": {request}, "decision": {"approve"}, "csrf_token": {""}},
		{"request": {request}, "decision": {"approve"}, "csrf_token": {randomToken(32)}},
	} {
		resp, body := e.postConsent(f, cookie, e.origin)
		wantErrorPage(t, resp, body, http.StatusForbidden)
	}
	// A forged cross-site POST: the browser sends no Lax cookie, or the
	// Origin gives it away.
	approve := url.Values{"request": {request}, "csrf_token": {csrf}, "decision": {"approve"}}
	resp, body := e.postConsent(approve, nil, "https://evil.example")
	wantErrorPage(t, resp, body, http.StatusForbidden)
	resp, body = e.postConsent(approve, cookie, "https://evil.example")
	wantErrorPage(t, resp, body, http.StatusForbidden)
	// Another browser's consent request with this browser's token.
	_, _, otherCookie := e.consentForm(newAuthRequest(clientID, clientCB))
	resp, body = e.postConsent(approve, otherCookie, e.origin)
	wantErrorPage(t, resp, body, http.StatusForbidden)
	if n := len(e.fake.AuthorizeRequests()); n != 0 {
		t.Fatalf("a refused consent reached the upstream %d times", n)
	}
	// The control: the genuine form goes upstream.
	resp, _ = e.postConsent(approve, cookie, e.origin)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.fake.URL()+"/oauth2/authorize?") {
		t.Fatalf("genuine consent: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestForgedOrTruncatedClientIDIsRefused(t *testing.T) {
	e := newEnv(t)
	real := e.register(clientCB)
	otherKey, _ := NewKeyRing(e.resource, NewKey())
	foreign := otherKey.Seal(purposeClient, []byte(`{"r":["https://evil.example/cb"],"n":"Evil","i":1}`))
	otherSite, _ := NewKeyRing("https://other.example.com/mcp", e.key)
	otherSiteID := otherSite.Seal(purposeClient, []byte(`{"r":["http://127.0.0.1:8765/callback"],"i":1}`))
	flipped := []byte(real)
	flipped[len(flipped)/2] ^= 0x01
	if flipped[len(flipped)/2] == '.' {
		flipped[len(flipped)/2] = 'A'
	}
	for name, id := range map[string]string{
		"truncated":               real[:len(real)-5],
		"bit flipped":             string(flipped),
		"sealed with another key": foreign,
		"sealed for another site": otherSiteID,
		"a code sealed as client": e.proxy.seal(purposeCode, &codeRecord{ID: "x", Exp: time.Now().Add(time.Hour).Unix()}),
		// A well-formed registration, but sealed for another purpose.
		"registration sealed as state": e.proxy.keys.Seal(purposeState, []byte(`{"r":["http://127.0.0.1:8765/callback"],"i":1}`)),
	} {
		a := newAuthRequest(id, clientCB)
		resp, body := e.get(e.authURL(a))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: authorize answered %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
		wantErrorPage(t, resp, body, http.StatusBadRequest)
		status, tb := e.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "code": {"x"}})
		wantOAuthError(t, status, tb, 401, "invalid_client")
	}
}

// Keys rotate without breaking registered clients: previous_keys opens
// what the old key sealed; without it, old registrations are unknown.
func TestPreviousKeysStillOpenOldRecords(t *testing.T) {
	e := newEnv(t)
	old := e.register(clientCB)
	rotated, _ := NewKeyRing(e.resource, NewKey(), e.key)
	e.proxy.keys = rotated
	a := newAuthRequest(old, clientCB)
	if resp, _ := e.get(e.authURL(a)); resp.StatusCode != 200 {
		t.Fatalf("a client registered under the previous key: %d", resp.StatusCode)
	}
	dropped, _ := NewKeyRing(e.resource, NewKey())
	e.proxy.keys = dropped
	resp, body := e.get(e.authURL(a))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
}

// An unreachable identity provider is a clear page at Approve and a 503
// at the token endpoint, never a hang or a bare 500.
func TestUpstreamDownIsAnsweredClearly(t *testing.T) {
	e := newEnv(t)
	a, code := e.authorized()
	e.fake.SetDown(true)
	status, body := e.redeem(a, code)
	wantOAuthError(t, status, body, 503, "temporarily_unavailable")

	down := newEnv(t, func(c *Config) { c.Upstream.Issuer = "http://127.0.0.1:1" })
	down.fake.AddClient(fakecognito.AppClient{ID: upClient, Secret: upSecret})
	id := down.register(clientCB)
	request, csrf, cookie := down.consentForm(newAuthRequest(id, clientCB))
	resp, page := down.postConsent(url.Values{"request": {request}, "csrf_token": {csrf}, "decision": {"approve"}}, cookie, down.origin)
	wantErrorPage(t, resp, page, http.StatusServiceUnavailable)
}
