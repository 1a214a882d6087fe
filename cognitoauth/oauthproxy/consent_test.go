package oauthproxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The consent page says who is asking, where access goes, what it allows
// and where the user signs in; it runs no script, cannot be framed or
// cached, and sets the binding cookie HttpOnly and SameSite=Lax.
func TestConsentPage(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Access = []string{"Use this server's tools with your own AWS permissions"} })
	status, body := e.registerRaw(map[string]any{"client_name": "<b>Claude</b> Code", "redirect_uris": []string{clientCB}})
	if status != http.StatusCreated {
		t.Fatal(body)
	}
	var reg registrationResponse
	_ = json.Unmarshal([]byte(body), &reg)
	resp, page := e.get(e.authURL(newAuthRequest(reg.ClientID, "http://127.0.0.1:40123/callback")))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, page)
	}
	for _, want := range []string{
		"Allow “&lt;b&gt;Claude&lt;/b&gt; Code” to use " + e.proxy.serverName + "?",
		"name chosen by the app, not verified",
		"<code>127.0.0.1:40123</code>", "an app on this computer",
		"Use this server&#39;s tools with your own AWS permissions",
		"Confirm who you are <code>openid</code>", "See your email address <code>email</code>",
		"You'll sign in at <code>" + strings.TrimPrefix(e.fake.URL(), "http://") + "</code>",
		`value="approve"`, `value="deny"`, `name="csrf_token"`, `action="/oauth/consent"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>Claude") {
		t.Error("consent page has a script or unescaped client input")
	}
	h := resp.Header
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", h)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if cookie == nil || cookie.Name != "mcp-oauth" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("binding cookie %+v", cookie)
	}
	// A second login in the same browser keeps its cookie, so both can finish.
	req := mustRequest(http.MethodGet, e.authURL(newAuthRequest(reg.ClientID, clientCB)))
	req.AddCookie(cookie)
	resp2, _ := e.do(req)
	if c := resp2.Cookies(); len(c) != 1 || c[0].Value != cookie.Value {
		t.Fatalf("second login replaced the binding cookie")
	}
}

// On HTTPS the binding cookie is Secure with the __Host- prefix.
func TestConsentCookieOnHTTPS(t *testing.T) {
	kr, _ := NewKeyRing("https://mcp.example.com/mcp", NewKey())
	s, err := New(Config{
		Resource: "https://mcp.example.com/mcp",
		Upstream: Upstream{ClientID: "c", AuthorizeURL: "https://auth.example.com/oauth2/authorize", TokenURL: "https://auth.example.com/oauth2/token"},
		Keys:     kr,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "https://mcp.example.com/oauth/register",
		bytes.NewReader([]byte(`{"redirect_uris":["http://127.0.0.1:5/cb"]}`))))
	var reg registrationResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &reg)
	a := newAuthRequest(reg.ClientID, "http://127.0.0.1:5/cb")
	q := "?response_type=code&client_id=" + reg.ClientID + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&state=s&code_challenge=" + s256(a.verifier) + "&code_challenge_method=S256"
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://mcp.example.com/oauth/authorize"+q, nil))
	c := rec.Result().Cookies()
	if rec.Code != 200 || len(c) != 1 || c[0].Name != "__Host-mcp-oauth" || !c[0].Secure || !c[0].HttpOnly || c[0].Path != "/" || c[0].Domain != "" {
		t.Fatalf("%d cookies %+v", rec.Code, c)
	}
	if !strings.Contains(rec.Body.String(), "<code>auth.example.com</code>") {
		t.Fatal("the sign-in host is not shown")
	}
}
