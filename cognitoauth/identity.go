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
