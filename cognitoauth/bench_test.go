package cognitoauth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var okHandler = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return nil })

// BenchmarkValidateCold measures full verification (parse, RS256
// signature, claims) of a token the cache has not seen.
func BenchmarkValidateCold(b *testing.B) {
	is := newCognitoIssuer(b)
	m := cognitoModule(b, is, func(m *CognitoAuth) { m.CacheSize = -1 })
	tok := is.Mint(is.CognitoAccessClaims("user-1", testClient))
	if _, err := m.authenticate(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.authenticate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCached measures a repeated token: hash plus LRU hit.
func BenchmarkValidateCached(b *testing.B) {
	is := newCognitoIssuer(b)
	m := cognitoModule(b, is)
	tok := is.Mint(is.CognitoAccessClaims("user-1", testClient))
	if _, err := m.authenticate(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.authenticate(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeHTTPCached is the whole middleware on the cached path,
// including placeholders and the identity var (request setup excluded).
func BenchmarkServeHTTPCached(b *testing.B) {
	is := newCognitoIssuer(b)
	m := cognitoModule(b, is)
	tok := is.Mint(is.CognitoAccessClaims("user-1", testClient).With("cognito:groups", []string{"a", "b"}))
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		reqs[i] = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
	}
	w := httptest.NewRecorder()
	if err := m.ServeHTTP(w, reqs[0], okHandler); err != nil || w.Code != 200 {
		b.Fatal(err, w.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.ServeHTTP(w, reqs[i%len(reqs)], okHandler); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateManyTokens cycles through more distinct tokens than a
// small cache holds, so every lookup misses and evicts.
func BenchmarkValidateManyTokens(b *testing.B) {
	is := newCognitoIssuer(b)
	m := cognitoModule(b, is, func(m *CognitoAuth) { m.CacheSize = 16 })
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = is.Mint(is.CognitoAccessClaims("user-"+strconv.Itoa(i), testClient))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.authenticate(toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
	}
}
