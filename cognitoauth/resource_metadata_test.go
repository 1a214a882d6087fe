package cognitoauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Later handlers (cloudwatch_mcp's per-tool step-up) build challenges that
// must point at the same metadata as our own 401s.
func TestResourceMetadataVar(t *testing.T) {
	is := newCognitoIssuer(t)
	tok := is.Mint(is.CognitoAccessClaims("user-1", testClient))
	for name, c := range map[string]struct {
		resource string
		want     string
	}{
		"derived from the request": {"", "http://mcp.example.com/.well-known/oauth-protected-resource/mcp"},
		"configured resource":      {"https://edge.example.com/mcp/", "https://edge.example.com/.well-known/oauth-protected-resource/mcp"},
	} {
		t.Run(name, func(t *testing.T) {
			m := cognitoModule(t, is, func(m *CognitoAuth) { m.Resource = c.resource })
			req := caddyhttp.PrepareRequest(bearerRequest(tok), caddy.NewReplacer(), nil, nil)
			var got any
			next := caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				got = caddyhttp.GetVar(r.Context(), ResourceMetadataVar)
				return nil
			})
			if err := m.ServeHTTP(httptest.NewRecorder(), req, next); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("%s = %#v, want %q", ResourceMetadataVar, got, c.want)
			}
			// The 401 challenge names the same document.
			res := serve(t, m, bearerRequest(""))
			if ch := res.rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `resource_metadata="`+c.want+`"`) {
				t.Fatalf("challenge %q does not name %s", ch, c.want)
			}
		})
	}
}
