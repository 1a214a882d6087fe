package cognitoauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

func vendBenchSetup(b *testing.B, adjust func(*CognitoAuth)) (*vendEnv, *CognitoAuth, *Identity, string, []*http.Request) {
	e := newVendEnv(b)
	m := e.module(b, adjust)
	m.logger = zap.NewNop()
	tok := e.idToken("bench-user")
	id, aerr := m.authenticate(tok)
	if aerr != nil {
		b.Fatal(aerr)
	}
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		reqs[i] = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
	}
	return e, m, id, tok, reqs
}

// BenchmarkVendCacheHit is the latency vending adds to a request whose
// credentials are cached: key, LRU lookup, var and placeholders.
func BenchmarkVendCacheHit(b *testing.B) {
	_, m, id, tok, reqs := vendBenchSetup(b, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	if err := m.vend(reqs[0], id, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.vend(reqs[i%len(reqs)], id, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVendCacheHitParallel is the same under contention for the
// cache lock.
func BenchmarkVendCacheHitParallel(b *testing.B) {
	_, m, id, tok, reqs := vendBenchSetup(b, func(m *CognitoAuth) { m.AssumeRole = vendRole })
	if err := m.vend(reqs[0], id, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine needs its own requests: vars maps are per request.
		reqs := make([]*http.Request, 16)
		for i := range reqs {
			reqs[i] = caddyhttp.PrepareRequest(httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil), caddy.NewReplacer(), nil, nil)
		}
		i := 0
		for pb.Next() {
			if err := m.vend(reqs[i%len(reqs)], id, tok); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkServeHTTPVendCached is the whole middleware, token and
// credentials both cached.
func BenchmarkServeHTTPVendCached(b *testing.B) {
	_, m, _, _, reqs := vendBenchSetup(b, func(m *CognitoAuth) { m.AssumeRole = vendRole })
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

// BenchmarkVendMiss is a full exchange against the in-process fake over
// loopback HTTP, per mode.
func BenchmarkVendMiss(b *testing.B) {
	for _, mode := range []struct {
		name string
		set  func(*CognitoAuth)
	}{
		{"assume_role", func(m *CognitoAuth) { m.AssumeRole = vendRole }},
		{"role_arn", func(m *CognitoAuth) { m.RoleARN = vendRole }},
		{"identity_pool", func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} }},
		{"identity_center", func(m *CognitoAuth) {
			m.IdentityCenter = &IdentityCenterVending{ApplicationARN: vendApp, AccountID: vendAcct, RoleName: "ReadOnly"}
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			e, m, id, tok, reqs := vendBenchSetup(b, mode.set)
			e.fake.AddSSOUser(fakeaws.SSOUser{UserName: "bench", Email: "bench-user@example.com", Assignments: map[string][]string{vendAcct: {"ReadOnly"}}})
			key := m.cacheKey(id)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.credCache.remove(key)
				if err := m.vend(reqs[i%len(reqs)], id, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
