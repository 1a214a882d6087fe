package cognitoauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	testRegion = "us-east-1"
	testPool   = "us-east-1_Test123"
	testClient = "client-a"
	cognitoIss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test123"
)

// newCognitoIssuer starts a test issuer that mints tokens for testPool.
func newCognitoIssuer(t testing.TB, opts ...testissuer.Option) *testissuer.Issuer {
	t.Helper()
	is := testissuer.New(append([]testissuer.Option{testissuer.WithIssuer(cognitoIss)}, opts...)...)
	t.Cleanup(is.Close)
	return is
}

// provision builds a module the way Caddy would (Provision, Validate) and
// cleans it up when the test ends.
func provision(t testing.TB, m *CognitoAuth) *CognitoAuth {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := m.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() { _ = m.Cleanup() })
	if err := m.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	m.logger = zap.NewNop()
	return m
}

// cognitoModule is a Cognito-mode module whose keys come from is.
func cognitoModule(t testing.TB, is *testissuer.Issuer, adjust ...func(*CognitoAuth)) *CognitoAuth {
	t.Helper()
	m := &CognitoAuth{Region: testRegion, UserPoolID: testPool, JWKSURL: is.JWKSURL(), ClientIDs: []string{testClient}}
	for _, f := range adjust {
		f(m)
	}
	return provision(t, m)
}

type result struct {
	rec      *httptest.ResponseRecorder
	err      error
	nextRan  bool
	identity *Identity
	repl     *caddy.Replacer
}

func (r result) challengeError() string {
	mm := regexp.MustCompile(`error="([^"]*)"`).FindStringSubmatch(r.rec.Header().Get("WWW-Authenticate"))
	if mm == nil {
		return ""
	}
	return mm[1]
}

// serve runs one request through the middleware the way Caddy's server
// would prepare it, with a terminal handler that answers 200.
func serve(t testing.TB, m *CognitoAuth, req *http.Request) result {
	t.Helper()
	repl := caddy.NewReplacer()
	req = caddyhttp.PrepareRequest(req, repl, nil, nil)
	rec := httptest.NewRecorder()
	var res result
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		res.nextRan = true
		w.WriteHeader(http.StatusOK)
		return nil
	})
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("panic: %v", p)
			}
		}()
		res.err = m.ServeHTTP(rec, req, next)
	}()
	res.rec = rec
	res.repl = repl
	res.identity, _ = caddyhttp.GetVar(req.Context(), IdentityVar).(*Identity)
	return res
}

func bearerRequest(tok string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "http://mcp.example.com/mcp", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}
