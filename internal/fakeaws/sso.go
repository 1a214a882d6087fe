package fakeaws

import (
	"slices"
	"time"
)

// IAM Identity Center, REST JSON: SSO OIDC CreateTokenWithIAM (signed,
// POST /token?aws_iam=t, JWT-bearer grant) and the SSO portal's
// GetRoleCredentials (unsigned, bearer in x-amz-sso_bearer_token, expiry in
// epoch milliseconds).

func init() {
	Register(func(f *Fake) {
		f.Handle("sso-oauth", "CreateTokenWithIAM", ssoCreateTokenWithIAM)
		f.Handle("awsssoportal", "GetRoleCredentials", ssoGetRoleCredentials)
	})
}

// JWTBearerGrant is the grant type CreateTokenWithIAM takes for an external
// IdP's JWT.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// SSOApplication is a customer-managed Identity Center application with the
// JWT-bearer grant configured.
type SSOApplication struct {
	ARN string
	// TrustedIssuer is the iss of accepted assertions; it needs a matching
	// AddOIDCProvider whose ClientIDs are the authorized audiences.
	TrustedIssuer string
	// ClaimAttribute names the JWT claim matched against SSOUser.Email
	// (the trusted token issuer's attribute mapping); default "email".
	ClaimAttribute string
	// AccountAccess enables the sso:account:access scope.
	AccountAccess bool
	// Callers lists key owners allowed to call CreateTokenWithIAM (the
	// application's IAM principal). Empty: any signed caller.
	Callers []string
	// TokenTTL is the access token lifetime; default 1h.
	TokenTTL time.Duration
	// RoleCredentialsTTL is how long GetRoleCredentials keys last (the
	// permission set's session duration); default 1h.
	RoleCredentialsTTL time.Duration
}

// SSOUser is a user of the Identity Center identity store.
type SSOUser struct {
	UserName string
	Email    string
	// Assignments maps account ID to the permission set (role) names the
	// user may use there.
	Assignments map[string][]string
}

type ssoToken struct {
	app     *SSOApplication
	user    *SSOUser
	subject string // the external JWT's sub: owner of vended keys
	scopes  []string
	expires time.Time
}

// AddSSOApplication creates (or replaces) an Identity Center application.
func (f *Fake) AddSSOApplication(a SSOApplication) {
	if a.ClaimAttribute == "" {
		a.ClaimAttribute = "email"
	}
	if a.TokenTTL == 0 {
		a.TokenTTL = time.Hour
	}
	if a.RoleCredentialsTTL == 0 {
		a.RoleCredentialsTTL = time.Hour
	}
	v := vendingOf(f)
	v.mu.Lock()
	v.apps[a.ARN] = &a
	v.mu.Unlock()
}

// AddSSOUser adds a user to the identity store.
func (f *Fake) AddSSOUser(u SSOUser) {
	v := vendingOf(f)
	v.mu.Lock()
	v.ssoUsers = append(v.ssoUsers, &u)
	v.mu.Unlock()
}

func ssoCreateTokenWithIAM(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	if r.String("aws_iam") != "t" {
		return nil, &Error{Status: 400, Code: "InvalidRequestException", Message: "CreateTokenWithIAM requires aws_iam=t"}
	}
	v.mu.Lock()
	app := v.apps[r.String("clientId")]
	v.mu.Unlock()
	if app == nil {
		return nil, &Error{Status: 401, Code: "InvalidClientException", Message: "Invalid client provided"}
	}
	if len(app.Callers) > 0 && !slices.Contains(app.Callers, r.Owner) {
		return nil, &Error{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform: sso-oauth:CreateTokenWithIAM"}
	}
	if r.String("grantType") != JWTBearerGrant {
		return nil, &Error{Status: 400, Code: "UnsupportedGrantTypeException", Message: "Unsupported grant type"}
	}
	scopes := r.Strings("scope")
	if len(scopes) == 0 {
		scopes = []string{"openid", "aws", "sts:identity_context"}
	}
	if slices.Contains(scopes, "sso:account:access") && !app.AccountAccess {
		return nil, &Error{Status: 400, Code: "InvalidScopeException", Message: "Invalid scope requested: sso:account:access"}
	}
	claims, p, terr := v.checkJWT(r.String("assertion"), r.Now())
	if terr != nil {
		if terr.fault == tokenExpired {
			return nil, &Error{Status: 400, Code: "InvalidGrantException", Message: "Assertion has expired"}
		}
		return nil, &Error{Status: 400, Code: "InvalidGrantException", Message: "Invalid grant provided"}
	}
	if p.Issuer != app.TrustedIssuer {
		return nil, &Error{Status: 400, Code: "InvalidGrantException", Message: "Invalid grant provided: issuer is not trusted by the application"}
	}
	attr, _ := claims[app.ClaimAttribute].(string)
	var user *SSOUser
	v.mu.Lock()
	for _, u := range v.ssoUsers {
		if attr != "" && u.Email == attr {
			user = u
		}
	}
	v.mu.Unlock()
	if user == nil {
		return nil, &Error{Status: 400, Code: "InvalidGrantException", Message: "Invalid grant provided: no user matches the assertion"}
	}
	sub, _ := claims["sub"].(string)
	now := r.Now()
	access := "aoa" + randHex(24)
	v.mu.Lock()
	v.ssoTokens[access] = &ssoToken{app: app, user: user, subject: sub, scopes: scopes, expires: now.Add(app.TokenTTL)}
	v.mu.Unlock()
	ctx := "fake-identity-context-" + randHex(8)
	return map[string]any{
		"accessToken":     access,
		"tokenType":       "Bearer",
		"expiresIn":       int64(app.TokenTTL / time.Second),
		"refreshToken":    "aor" + randHex(24),
		"issuedTokenType": "urn:ietf:params:oauth:token-type:refresh_token",
		"scope":           scopes,
		"idToken": v.signJWT(map[string]any{
			"iss": "https://identitycenter.amazonaws.com/ssoins-fake", "sub": user.UserName, "aud": app.ARN,
			"sts:identity_context": ctx, "iat": now.Unix(), "exp": now.Add(app.TokenTTL).Unix(),
		}),
		"awsAdditionalDetails": map[string]any{"identityContext": ctx},
	}, nil
}

func ssoGetRoleCredentials(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	bearer := r.HTTP.Header.Get("X-Amz-Sso_bearer_token")
	account, roleName := r.String("account_id"), r.String("role_name")
	v.mu.Lock()
	t := v.ssoTokens[bearer]
	v.mu.Unlock()
	if t == nil || !r.Now().Before(t.expires) {
		return nil, &Error{Status: 401, Code: "UnauthorizedException", Message: "Session token not found or invalid"}
	}
	if !slices.Contains(t.scopes, "sso:account:access") || !slices.Contains(t.user.Assignments[account], roleName) {
		return nil, &Error{Status: 403, Code: "ForbiddenException", Message: "No access"}
	}
	exp := r.Now().Add(t.app.RoleCredentialsTTL)
	roleARN := "arn:aws:iam::" + account + ":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_" + roleName
	akid, secret, token := v.issue(r.Fake(), Session{Op: r.Op, Owner: t.subject, RoleARN: roleARN, RoleSessionName: t.user.UserName, Expires: exp})
	return map[string]any{"roleCredentials": map[string]any{
		"accessKeyId": akid, "secretAccessKey": secret, "sessionToken": token, "expiration": exp.UnixMilli(),
	}}, nil
}
