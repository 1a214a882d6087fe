package cognitoauth

import (
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

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

// joinList joins the groups (sep ',') or scopes (sep ' ') of an identity
// for their placeholder so that the list can be split again unambiguously:
// inside an item, '%', the separator, control characters and, for
// space-separated lists, every Unicode space are percent-encoded (UTF-8
// bytes, upper-case hex). Splitting on the separator (scopes: on any
// whitespace) and percent-decoding each item (url.PathUnescape) yields the
// claim's values exactly, so a group named "dev,sre" can never read as the
// groups "dev" and "sre".
//
// Encoding rather than refusing such tokens: groups with commas are
// ordinary (directory DNs such as "CN=ops,OU=groups", display names), and
// values that need no encoding, which is nearly all of them, are published
// unchanged.
func joinList(items []string, sep byte) string {
	escape := func(r rune) bool {
		return r == '%' || r == rune(sep) || r < 0x20 || r == 0x7f || (sep == ' ' && unicode.IsSpace(r))
	}
	if !slices.ContainsFunc(items, func(it string) bool { return strings.ContainsFunc(it, escape) }) {
		return strings.Join(items, string(sep))
	}
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(sep)
		}
		for _, r := range it {
			if !escape(r) {
				b.WriteRune(r)
				continue
			}
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				b.WriteByte('%')
				b.WriteByte(upperHex[c>>4])
				b.WriteByte(upperHex[c&15])
			}
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"
