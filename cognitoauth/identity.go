package cognitoauth

import (
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

const (
	// IdentityVar is the request var holding the *Identity of a verified
	// caller.
	IdentityVar = "cognito_auth.identity"
	// CredentialsVar is the request var holding the caller's vended AWS
	// credentials (an aws.CredentialsProvider), when vending is configured.
	CredentialsVar = "cognito_auth.aws_credentials"
)

// Identity is the verified caller. It is shared between requests that
// present the same token (through the verified-token cache), so readers
// must treat it, including Claims, as read-only.
type Identity struct {
	// Subject is the sub claim.
	Subject string
	// Username is Cognito's username / cognito:username, or the OIDC
	// preferred_username.
	Username string
	// Email is the email claim, when present.
	Email string
	// ClientID is the OAuth client: client_id, else azp, else (Cognito ID
	// tokens) the audience.
	ClientID string
	// Issuer is the iss claim.
	Issuer string
	// TokenUse is Cognito's token_use ("access" or "id"); empty for OIDC.
	TokenUse string
	// TokenType is "access" or "id": Cognito's token_use; otherwise
	// "access" for typ at+jwt, "id" for a token with an aud, else "access".
	TokenType string
	// Groups is cognito:groups (or a generic groups claim).
	Groups []string
	// Scopes is the space-separated scope claim, split.
	Scopes []string
	// Audience is the aud claim as a list.
	Audience []string
	// ExpiresAt and IssuedAt are exp and iat (IssuedAt may be zero).
	ExpiresAt time.Time
	IssuedAt  time.Time
	// Claims holds every claim of the verified payload.
	Claims map[string]any

	// Joined forms, computed once so cached identities fill placeholders
	// without allocating.
	groupsJoined string
	scopeJoined  string
	phOnce       sync.Once
	ph           [len(placeholderNames)]any
}

// MarshalLogObject logs the non-secret, non-personal fields of the
// identity; the raw claims and email stay out of logs.
func (id *Identity) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("sub", id.Subject)
	if id.Username != "" {
		enc.AddString("username", id.Username)
	}
	if id.ClientID != "" {
		enc.AddString("client_id", id.ClientID)
	}
	enc.AddString("issuer", id.Issuer)
	enc.AddString("token_type", id.TokenType)
	if id.groupsJoined != "" {
		enc.AddString("groups", id.groupsJoined)
	}
	if id.scopeJoined != "" {
		enc.AddString("scope", id.scopeJoined)
	}
	enc.AddTime("expires_at", id.ExpiresAt)
	return nil
}

var _ zapcore.ObjectMarshaler = (*Identity)(nil)

// GroupList returns the caller's groups (cognito:groups, or a generic groups
// claim), one element per group exactly as the token listed them.
//
// It is the API for other modules that authorize on groups: they find the
// *Identity in the IdentityVar request var and read this list through an
// interface of their own, so they need not import this package. The slice
// is shared by every request presenting the same token and must not be
// modified. The {http.auth.user.groups} placeholder joins the groups with
// commas for display and logs; a group name may itself contain a comma, so
// splitting the placeholder is no substitute for this list.
func (id *Identity) GroupList() []string {
	if id == nil {
		return nil
	}
	return id.Groups
}

// ScopeList returns the caller's granted scopes: the space-separated scope
// claim, split, or else the scp claim's elements exactly as listed (an
// element containing a space stays one value, which no rule can name).
//
// Like GroupList, it is the API for other modules, read through the
// IdentityVar request var; the slice is shared and must not be modified.
// Splitting {http.auth.user.scope} on spaces is no substitute.
func (id *Identity) ScopeList() []string {
	if id == nil {
		return nil
	}
	return id.Scopes
}
