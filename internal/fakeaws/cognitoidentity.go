package fakeaws

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Cognito Identity (identity pools), JSON 1.1: GetId and
// GetCredentialsForIdentity (unsigned, enhanced flow) and
// GetOpenIdTokenForDeveloperIdentity (signed: developer-authenticated
// identities).

func init() {
	Register(func(f *Fake) {
		f.Handle("cognito-identity", "GetId", cognitoGetID)
		f.Handle("cognito-identity", "GetCredentialsForIdentity", cognitoGetCredentialsForIdentity)
		f.Handle("cognito-identity", "GetOpenIdTokenForDeveloperIdentity", cognitoGetOpenIDTokenForDeveloperIdentity)
	})
}

// CognitoIdentityProvider is the Logins key of developer-issued OpenID
// tokens, and the issuer (with https://) of those tokens.
const CognitoIdentityProvider = "cognito-identity.amazonaws.com"

// IdentityPool is a Cognito identity pool.
type IdentityPool struct {
	// ID is "<region>:<uuid>".
	ID string
	// Providers are the accepted Logins keys: an OIDC issuer without its
	// scheme, e.g. "cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc". Each
	// needs a matching AddOIDCProvider (Issuer "https://"+key, or "http://"
	// for a local issuer), whose ClientIDs play the pool's app client IDs.
	Providers []string
	// DeveloperProvider enables developer-authenticated identities.
	DeveloperProvider string
	// AuthenticatedRole is the default role of authenticated identities.
	AuthenticatedRole string
	// TokenRoles applies the "choose role from token" rule: a
	// cognito:preferred_role claim picks the role, and CustomRoleArn must be
	// one of the token's cognito:roles.
	TokenRoles bool
	// CredentialsTTL is how long vended credentials last; default 1h, as on
	// AWS (GetCredentialsForIdentity has no duration parameter).
	CredentialsTTL time.Duration
}

type identityRecord struct {
	pool     string
	provider string // Logins key (or the developer provider name)
	subject  string // the user: token sub or developer user identifier
}

// AddIdentityPool creates (or replaces) an identity pool.
func (f *Fake) AddIdentityPool(p IdentityPool) {
	if p.CredentialsTTL == 0 {
		p.CredentialsTTL = time.Hour
	}
	v := vendingOf(f)
	v.mu.Lock()
	v.pools[p.ID] = &p
	v.mu.Unlock()
}

// IdentityID returns the identity a pool assigned to provider+subject.
func (f *Fake) IdentityID(poolID, provider, subject string) (string, bool) {
	v := vendingOf(f)
	v.mu.Lock()
	defer v.mu.Unlock()
	id, ok := v.identityIx[poolID+"|"+provider+"|"+subject]
	return id, ok
}

func (v *vending) pool(id string) (*IdentityPool, *Error) {
	v.mu.Lock()
	p := v.pools[id]
	v.mu.Unlock()
	if p == nil {
		return nil, Errorf("ResourceNotFoundException", "IdentityPool '%s' not found.", id)
	}
	return p, nil
}

// identity returns (creating on first use) the identity of provider+subject.
func (v *vending) identity(p *IdentityPool, provider, subject string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ix := p.ID + "|" + provider + "|" + subject
	if id, ok := v.identityIx[ix]; ok {
		return id
	}
	region, _, _ := strings.Cut(p.ID, ":")
	h := randHex(16)
	id := fmt.Sprintf("%s:%s-%s-%s-%s-%s", region, h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
	v.identityIx[ix] = id
	v.identities[id] = &identityRecord{pool: p.ID, provider: provider, subject: subject}
	return id
}

func notAuthorized(format string, args ...any) *Error {
	return Errorf("NotAuthorizedException", format, args...)
}

// login is one verified Logins entry.
type login struct {
	provider string
	subject  string
	claims   map[string]any
}

// checkLogins verifies the Logins map of an enhanced-flow call. Messages
// follow Cognito's.
func (v *vending) checkLogins(r *Request, p *IdentityPool) (*login, *Error) {
	logins := r.Map("Logins")
	if len(logins) == 0 {
		return nil, notAuthorized("Unauthenticated access is not supported for this identity pool.")
	}
	if len(logins) > 1 {
		return nil, Errorf("InvalidParameterException", "fakeaws supports one login per call")
	}
	for key, raw := range logins {
		tok, _ := raw.(string)
		if key == CognitoIdentityProvider {
			c, ok := v.verifyOwnJWT(tok, r.Now())
			if !ok {
				return nil, notAuthorized("Invalid login token. Token is expired or its signature is invalid.")
			}
			if aud, _ := c["aud"].(string); aud != p.ID {
				return nil, notAuthorized("Invalid login token. Token is not from this identity pool.")
			}
			sub, _ := c["sub"].(string)
			return &login{provider: key, subject: sub, claims: c}, nil
		}
		if !slices.Contains(p.Providers, key) {
			return nil, notAuthorized("Token is not from a supported provider of this identity pool.")
		}
		claims, prov, terr := v.checkJWT(tok, r.Now())
		if terr != nil {
			switch terr.fault {
			case tokenNoAudience:
				return nil, notAuthorized("Invalid login token. Missing a required claim: aud")
			case tokenBadAudience:
				return nil, notAuthorized("Token is not from a supported provider of this identity pool.")
			case tokenExpired:
				return nil, notAuthorized("Invalid login token. Token expired: %s", terr.detail)
			case tokenUnknownIssuer:
				return nil, notAuthorized("Invalid login token. Issuer doesn't match providerName")
			case tokenBadSignature:
				return nil, notAuthorized("Invalid login token. Couldn't verify signed token.")
			default:
				return nil, notAuthorized("Invalid login token. Not a valid OpenId Connect identity token.")
			}
		}
		if stripScheme(prov.Issuer) != key {
			return nil, notAuthorized("Invalid login token. Issuer doesn't match providerName")
		}
		sub, _ := claims["sub"].(string)
		return &login{provider: key, subject: sub, claims: claims}, nil
	}
	return nil, nil // unreachable
}

func stripScheme(iss string) string {
	if _, rest, ok := strings.Cut(iss, "://"); ok {
		return rest
	}
	return iss
}

func cognitoGetID(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	p, err := v.pool(r.String("IdentityPoolId"))
	if err != nil {
		return nil, err
	}
	l, err := v.checkLogins(r, p)
	if err != nil {
		return nil, err
	}
	if l.provider == CognitoIdentityProvider {
		return map[string]any{"IdentityId": l.subject}, nil
	}
	return map[string]any{"IdentityId": v.identity(p, l.provider, l.subject)}, nil
}

func cognitoGetCredentialsForIdentity(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	identityID := r.String("IdentityId")
	v.mu.Lock()
	rec := v.identities[identityID]
	v.mu.Unlock()
	if rec == nil {
		return nil, Errorf("ResourceNotFoundException", "Identity '%s' not found.", identityID)
	}
	p, err := v.pool(rec.pool)
	if err != nil {
		return nil, err
	}
	l, err := v.checkLogins(r, p)
	if err != nil {
		return nil, err
	}
	switch {
	case l.provider == CognitoIdentityProvider && l.subject == identityID:
	case l.provider == rec.provider && l.subject == rec.subject:
	default:
		return nil, notAuthorized("Logins don't match. Please include at least one valid login for this identity or identity pool.")
	}

	role := p.AuthenticatedRole
	tokenRoles := audiences(l.claims["cognito:roles"])
	if p.TokenRoles {
		if pr, _ := l.claims["cognito:preferred_role"].(string); pr != "" {
			role = pr
		}
	}
	if custom := r.String("CustomRoleArn"); custom != "" {
		if !p.TokenRoles || !slices.Contains(tokenRoles, custom) {
			return nil, notAuthorized("Invalid identity pool configuration. Check assigned IAM roles for this pool.")
		}
		role = custom
	}
	if role == "" {
		return nil, Errorf("InvalidIdentityPoolConfigurationException", "Invalid identity pool configuration. Check assigned IAM roles for this pool.")
	}
	exp := r.Now().Add(p.CredentialsTTL)
	akid, secret, token := v.issue(r.Fake(), Session{Op: r.Op, Owner: rec.subject, RoleARN: role, IdentityID: identityID, Expires: exp})
	return map[string]any{
		"IdentityId": identityID,
		"Credentials": map[string]any{
			"AccessKeyId": akid, "SecretKey": secret, "SessionToken": token, "Expiration": exp,
		},
	}, nil
}

func cognitoGetOpenIDTokenForDeveloperIdentity(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	p, err := v.pool(r.String("IdentityPoolId"))
	if err != nil {
		return nil, err
	}
	logins := r.Map("Logins")
	if p.DeveloperProvider == "" {
		return nil, notAuthorized("Developer authenticated identities are not enabled for this identity pool.")
	}
	userID, _ := logins[p.DeveloperProvider].(string)
	if len(logins) != 1 || userID == "" {
		return nil, Errorf("InvalidParameterException", "Logins must hold exactly one entry, for the developer provider %s", p.DeveloperProvider)
	}
	id := v.identity(p, p.DeveloperProvider, userID)
	if want := r.String("IdentityId"); want != "" && want != id {
		return nil, Errorf("DeveloperUserAlreadyRegisteredException", "The developer user identifier is already linked to another identity.")
	}
	ttl := 15 * time.Minute
	if n, ok := r.Int("TokenDuration"); ok {
		if n < 1 || n > 86400 {
			return nil, Errorf("InvalidParameterException", "TokenDuration must be between 1 and 86400 seconds")
		}
		ttl = time.Duration(n) * time.Second
	}
	now := r.Now()
	tok := v.signJWT(map[string]any{
		"iss": "https://" + CognitoIdentityProvider,
		"sub": id,
		"aud": p.ID,
		"amr": []string{"authenticated", p.DeveloperProvider, p.DeveloperProvider + ":" + p.ID + ":" + userID},
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	})
	return map[string]any{"IdentityId": id, "Token": tok}, nil
}
