package oauthproxy

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// The proxy's metadata has what spec-following MCP clients require and
// the fake Cognito (like the real one) lacks.
func TestAuthorizationServerMetadata(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(e.fake.URL() + "/.well-known/openid-configuration")
	var up map[string]any
	_ = json.Unmarshal([]byte(body), &up)
	if resp.StatusCode != 200 || up["code_challenge_methods_supported"] != nil || up["registration_endpoint"] != nil {
		t.Fatalf("the fake's discovery must lack PKCE methods and registration, like Cognito's: %v", up)
	}
	for _, path := range []string{PathMetadata, PathOpenIDConfig} {
		resp, body := e.get(e.origin + path)
		var m authServerMetadata
		if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if m.Issuer != e.origin || m.AuthorizationEndpoint != e.origin+PathAuthorize || m.TokenEndpoint != e.origin+PathToken ||
			m.RegistrationEndpoint != e.origin+PathRegister || !slices.Equal(m.CodeChallengeMethodsSupported, []string{"S256"}) ||
			!slices.Equal(m.ResponseTypesSupported, []string{"code"}) ||
			!slices.Equal(m.GrantTypesSupported, []string{"authorization_code", "refresh_token"}) ||
			!slices.Equal(m.TokenEndpointAuthMethodsSupported, []string{"none"}) ||
			!slices.Equal(m.ScopesSupported, []string{"openid", "email"}) ||
			!m.ClientIDMetadataDocumentSupported || !m.AuthorizationResponseIssParameterSupported {
			t.Fatalf("%s: %+v", path, m)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: no CORS", path)
		}
	}
	// Other methods and paths are not the proxy's.
	for _, r := range []*http.Request{
		mustRequest(http.MethodPost, e.origin+PathMetadata),
		mustRequest(http.MethodGet, e.origin+PathToken),
		mustRequest(http.MethodGet, e.origin+PathRegister),
		mustRequest(http.MethodPost, e.origin+PathAuthorize),
		mustRequest(http.MethodGet, e.origin+PathConsent),
		mustRequest(http.MethodGet, e.origin+"/oauth/other"),
		mustRequest(http.MethodGet, e.origin+PathMetadata+"/x"),
	} {
		if resp, _ := e.do(r); resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s handled by the proxy (%d)", r.Method, r.URL.Path, resp.StatusCode)
		}
	}
	// CORS preflights of client-facing endpoints are answered.
	pre := mustRequest(http.MethodOptions, e.origin+PathToken)
	pre.Header.Set("Origin", "https://app.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if resp, _ := e.do(pre); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func mustRequest(method, url string) *http.Request {
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return r
}
