package oauthproxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// wantRegisterRefused registers redirect and expects 400 invalid_redirect_uri.
func wantRegisterRefused(t *testing.T, e *env, redirect string) {
	t.Helper()
	status, body := e.registerRaw(map[string]any{"redirect_uris": []string{redirect}})
	if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_redirect_uri"`) {
		t.Fatalf("register %q: %d %s, want 400 invalid_redirect_uri", redirect, status, body)
	}
}

func TestRegisterRefusesUnlistedHTTPSRedirect(t *testing.T) {
	e := newEnv(t)
	wantRegisterRefused(t, e, "https://evil.example/callback")
}

func TestRegisterRefusesNonLoopbackHTTPRedirect(t *testing.T) {
	e := newEnv(t)
	for _, r := range []string{
		"http://example.com/callback",
		"http://127.0.0.1.nip.io/callback",
		"http://localhost.evil.example/callback",
		"http://localhost@evil.example/callback", // user info: the host is evil.example
		"http://10.0.0.1/callback",
		"http://[::2]/callback",
	} {
		wantRegisterRefused(t, e, r)
	}
}

func TestRegisterRefusesJavascriptRedirect(t *testing.T) {
	e := newEnv(t)
	for _, r := range []string{"javascript:alert(document.cookie)", "JavaScript://%0aalert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)"} {
		wantRegisterRefused(t, e, r)
	}
}

func TestRegisterRefusesFragmentsAndCustomSchemes(t *testing.T) {
	e := newEnv(t)
	for _, r := range []string{"http://127.0.0.1:8765/callback#frag", "cursor://anysphere.cursor-retrieval/oauth/callback", "http://127.0.0.1:8765/call back", "/relative/callback"} {
		wantRegisterRefused(t, e, r)
	}
}

// Operator-listed URIs are the only non-loopback ones allowed, exactly.
func TestRegisterAcceptsListedRedirects(t *testing.T) {
	listed := []string{"https://claude.ai/api/mcp/auth_callback", "cursor://anysphere.cursor-retrieval/oauth/user-callback"}
	e := newEnv(t, func(c *Config) { c.RedirectURIs = listed })
	for _, r := range append(listed, "http://localhost:33418/", "http://[::1]:4000/cb") {
		if status, body := e.registerRaw(map[string]any{"redirect_uris": []string{r}}); status != http.StatusCreated {
			t.Fatalf("register %q: %d %s", r, status, body)
		}
	}
	wantRegisterRefused(t, e, "https://claude.ai/api/mcp/auth_callback/other")
}

// Cursor registers three redirect URIs at once (its custom scheme, its
// hosted agents' callback and a loopback one): refused as a whole until
// the operator lists the two non-loopback ones, then accepted.
func TestRegisterCursorsRedirectSet(t *testing.T) {
	cursor := []string{"cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:8787/callback"}
	e := newEnv(t)
	status, body := e.registerRaw(map[string]any{"client_name": "Cursor", "redirect_uris": cursor, "token_endpoint_auth_method": "none"})
	if status != http.StatusBadRequest || !strings.Contains(body, "invalid_redirect_uri") {
		t.Fatalf("unlisted Cursor callbacks: %d %s", status, body)
	}
	listed := newEnv(t, func(c *Config) { c.RedirectURIs = cursor[:2] })
	if status, body := listed.registerRaw(map[string]any{"client_name": "Cursor", "redirect_uris": cursor, "token_endpoint_auth_method": "none"}); status != http.StatusCreated {
		t.Fatalf("listed Cursor callbacks: %d %s", status, body)
	}
}

// wantErrorPage asserts an error page: 4xx HTML, and no redirect anywhere.
func wantErrorPage(t *testing.T, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("got %d Location=%q %s, want an error page %d", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"), status)
	}
	if !strings.Contains(body, "<h1>") {
		t.Fatalf("error page without a heading: %s", body)
	}
}

func TestAuthorizeUnregisteredRedirectIsAnErrorPage(t *testing.T) {
	e := newEnv(t)
	clientID := e.register(clientCB)
	for _, r := range []string{
		"https://evil.example/callback",       // open redirect attempt
		"http://127.0.0.1:8765/other",         // another path
		"http://localhost:8765/callback",      // another loopback name
		"http://127.0.0.1:8765/callback?x=1",  // another query
		"http://127.0.0.1:8765/callback/../x", // dot segments
		"",
	} {
		a := newAuthRequest(clientID, r)
		resp, body := e.get(e.authURL(a))
		wantErrorPage(t, resp, body, http.StatusBadRequest)
	}
	if n := len(e.fake.AuthorizeRequests()); n != 0 {
		t.Fatalf("the upstream saw %d requests", n)
	}
}

func TestAuthorizeUnknownClientIsAnErrorPage(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"", "no-such-client", "https://evil.example/redirect?to=x"} {
		a := newAuthRequest(id, "https://evil.example/callback")
		resp, body := e.get(e.authURL(a))
		wantErrorPage(t, resp, body, http.StatusBadRequest)
	}
}

// A callback whose state the proxy did not seal never redirects: the
// callback cannot be used to send a browser anywhere.
func TestCallbackOpenRedirectAttempt(t *testing.T) {
	e := newEnv(t)
	for _, q := range []url.Values{
		{"code": {"x"}, "state": {"https://evil.example/"}},
		{"code": {"x"}, "redirect_uri": {"https://evil.example/"}},
		{"error": {"access_denied"}, "state": {randomToken(200)}},
		{"code": {"x"}},
	} {
		resp, body := e.get(e.origin + PathCallback + "?" + q.Encode())
		wantErrorPage(t, resp, body, http.StatusBadRequest)
	}
	// A state sealed for another purpose (here: a registration) is refused too.
	clientID := e.register(clientCB)
	resp, body := e.get(e.origin + PathCallback + "?" + url.Values{"code": {"x"}, "state": {clientID}}.Encode())
	wantErrorPage(t, resp, body, http.StatusBadRequest)
}
