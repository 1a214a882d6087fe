package cognitoauth

import (
	"net/http"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// TestClientIDsEnforcedForOIDCIssuers: client_ids restricts app clients
// with a generic issuer too (it used to be silently ignored there).
func TestClientIDsEnforcedForOIDCIssuers(t *testing.T) {
	is := testissuer.New()
	t.Cleanup(is.Close)
	const aud = "https://mcp.example.com/mcp"
	m := provision(t, &CognitoAuth{Issuer: is.Issuer(), Audiences: []string{aud}, ClientIDs: []string{"agent-app"}})
	without := func(c testissuer.Claims, name string) testissuer.Claims { delete(c, name); return c }
	for name, tc := range map[string]struct {
		claims testissuer.Claims
		want   int
	}{
		"client_id allowed":      {is.OIDCAccessClaims("u1", aud).With("client_id", "agent-app"), http.StatusOK},
		"client_id refused":      {is.OIDCAccessClaims("u1", aud).With("client_id", "other-app"), http.StatusUnauthorized},
		"azp allowed":            {without(is.OIDCAccessClaims("u1", aud), "client_id").With("azp", "agent-app"), http.StatusOK},
		"no client, aud is app":  {without(is.OIDCAccessClaims("u1", aud, "agent-app"), "client_id"), http.StatusOK},
		"no client, aud not app": {without(is.OIDCAccessClaims("u1", aud), "client_id"), http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			res := serve(t, m, bearerRequest(is.Mint(tc.claims, testissuer.Typ("at+jwt"))))
			if res.rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", res.rec.Code, tc.want, res.rec.Header().Get("WWW-Authenticate"))
			}
			if tc.want != http.StatusOK && (res.nextRan || res.challengeError() != "invalid_token") {
				t.Fatalf("refusal must be invalid_token and stop the route: %+v", res.rec.Header())
			}
		})
	}
}
