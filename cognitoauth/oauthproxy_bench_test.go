package cognitoauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// BenchmarkServeHTTPCachedWithOAuthProxy is BenchmarkServeHTTPCached with
// oauth_proxy configured: the proxy's dispatch (two prefix checks) must
// leave the request path as it was, allocation-free on a cached token.
func BenchmarkServeHTTPCachedWithOAuthProxy(b *testing.B) {
	is := testissuer.New()
	b.Cleanup(is.Close)
	m := proxyModuleB(b, is)
	w, r := cachedRequest(b, m, is)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.ServeHTTP(w, r, okHandler); err != nil {
			b.Fatal(err)
		}
	}
}

// The same as a test, so CI fails if the proxy adds an allocation to
// the request path.
func TestOAuthProxyAddsNoAllocationToTheRequestPath(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	perRequest := func(m *CognitoAuth) float64 {
		w, r := cachedRequest(t, m, is)
		return testing.AllocsPerRun(200, func() { _ = m.ServeHTTP(w, r, okHandler) })
	}
	without := perRequest(provision(t, &CognitoAuth{Issuer: is.Issuer(), ClientIDs: []string{proxyClient}, Resource: proxyResource}))
	with := perRequest(proxyModuleB(t, is))
	if with != without {
		t.Fatalf("%v allocations per request with oauth_proxy, %v without", with, without)
	}
}

func proxyModuleB(tb testing.TB, is *testissuer.Issuer) *CognitoAuth {
	tb.Helper()
	return provision(tb, &CognitoAuth{
		Issuer: is.Issuer(), ClientIDs: []string{proxyClient}, Resource: proxyResource,
		OAuthProxy: &OAuthProxy{ClientID: proxyClient, Key: testSealingKey,
			AuthorizeURL: "https://login.example.com/oauth2/authorize", TokenURL: "https://login.example.com/oauth2/token"},
	})
}

// cachedRequest is an MCP request with a valid token that m has already
// verified once (so it is cached).
func cachedRequest(tb testing.TB, m *CognitoAuth, is *testissuer.Issuer) (*httptest.ResponseRecorder, *http.Request) {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://mcp.example.com/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+is.Mint(is.CognitoAccessClaims("user-1", proxyClient)))
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
	w := httptest.NewRecorder()
	if err := m.ServeHTTP(w, r, okHandler); err != nil || w.Code != 200 {
		tb.Fatal(err, w.Code, w.Header())
	}
	return w, r
}
