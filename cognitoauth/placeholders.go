package cognitoauth

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ResourceMetadataVar is the request var holding the URL of the protected
// resource metadata (RFC 9728) for the request, so later handlers can build
// their own challenges, such as cloudwatch_mcp's per-tool step-up (403
// insufficient_scope).
const ResourceMetadataVar = "cognito_auth.resource_metadata"

// setIdentity publishes a verified identity to the rest of the route:
// Caddy's standard auth placeholders ({http.auth.user.id} also fills the
// access log's user_id), the typed IdentityVar for later modules, and the
// metadata URL (prm) for their challenges.
func setIdentity(r *http.Request, id *Identity, prm string) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		vals := id.placeholderValues()
		for i, name := range placeholderNames {
			repl.Set(name, vals[i])
		}
	}
	caddyhttp.SetVar(r.Context(), IdentityVar, id)
	caddyhttp.SetVar(r.Context(), ResourceMetadataVar, prm)
}

var placeholderNames = [...]string{
	"http.auth.user.id",
	"http.auth.user.username",
	"http.auth.user.email",
	"http.auth.user.client_id",
	"http.auth.user.groups",
	"http.auth.user.scope",
	"http.auth.user.issuer",
	"http.auth.user.token_use",
}

// placeholderValues boxes the values once per identity, so a cached
// identity sets its placeholders without allocating.
func (id *Identity) placeholderValues() *[len(placeholderNames)]any {
	id.phOnce.Do(func() {
		id.ph = [len(placeholderNames)]any{
			id.Subject, id.Username, id.Email, id.ClientID,
			id.groupsJoined, id.scopeJoined, id.Issuer, id.TokenType,
		}
	})
	return &id.ph
}
