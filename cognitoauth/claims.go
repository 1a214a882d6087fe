package cognitoauth

import (
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// checkClaims validates a payload whose signature has been verified and
// turns it into an Identity.
func (m *CognitoAuth) checkClaims(c map[string]any, typ string, now time.Time) (*Identity, *authError) {
	id, aerr := newIdentity(c, typ)
	if aerr != nil {
		return nil, aerr
	}
	fail := func(reason string) (*Identity, *authError) {
		e := invalidToken(reason)
		e.id = id
		return nil, e
	}
	if id.Issuer != m.issuer {
		return fail("issuer mismatch")
	}
	exp, present, ok := numericDate(c, "exp")
	switch {
	case !present:
		return fail("token has no expiry")
	case !ok:
		return fail("malformed exp claim")
	case now.After(exp.Add(m.leeway)):
		return fail("token expired")
	}
	id.ExpiresAt = exp
	if nbf, present, ok := numericDate(c, "nbf"); present && (!ok || nbf.After(now.Add(m.leeway))) {
		if !ok {
			return fail("malformed nbf claim")
		}
		return fail("token not yet valid")
	}
	if iat, present, ok := numericDate(c, "iat"); present {
		if !ok {
			return fail("malformed iat claim")
		}
		if iat.After(now.Add(m.leeway)) {
			return fail("token issued in the future")
		}
		id.IssuedAt = iat
	}
	if id.Subject == "" {
		return fail("token has no subject")
	}
	if m.cognito {
		switch id.TokenUse {
		case "access", "id":
		default:
			return fail("token_use missing or invalid")
		}
		if m.tokenUse != "any" && id.TokenUse != m.tokenUse {
			return fail(id.TokenUse + " token where " + m.tokenUse + " token required")
		}
		if len(m.ClientIDs) > 0 {
			if id.TokenUse == "access" {
				cid, _ := c["client_id"].(string)
				if !slices.Contains(m.ClientIDs, cid) {
					return fail("client_id not allowed")
				}
			} else if !slices.ContainsFunc(id.Audience, func(a string) bool { return slices.Contains(m.ClientIDs, a) }) {
				return fail("audience mismatch")
			}
		}
	} else if len(m.ClientIDs) > 0 && !slices.Contains(m.ClientIDs, id.ClientID) &&
		(id.ClientID != "" || !slices.ContainsFunc(id.Audience, func(a string) bool { return slices.Contains(m.ClientIDs, a) })) {
		// OIDC tokens name their client in client_id (RFC 9068) or azp; ID
		// tokens without either name it in aud.
		return fail("client_id not allowed")
	}
	if len(m.audiences) > 0 && !slices.ContainsFunc(id.Audience, func(a string) bool {
		return slices.Contains(m.audiences, normalizeAudience(a))
	}) && !m.boundByClientID(c, id) {
		return fail("audience mismatch")
	}
	return id, nil
}

// newIdentity reads the identity claims, rejecting claims of the wrong
// JSON type rather than guessing.
func newIdentity(c map[string]any, typ string) (*Identity, *authError) {
	id := &Identity{Claims: c}
	var bad string
	str := func(name string) string {
		v, present := c[name]
		if !present {
			return ""
		}
		s, ok := v.(string)
		if !ok && bad == "" {
			bad = "malformed " + name + " claim"
		}
		return s
	}
	id.Subject = str("sub")
	id.Issuer = str("iss")
	id.Email = str("email")
	id.TokenUse = str("token_use")
	id.Username = firstNonEmpty(str("username"), str("cognito:username"), str("preferred_username"))
	id.ClientID = firstNonEmpty(str("client_id"), str("azp"))
	scope := str("scope")
	if bad != "" {
		return nil, invalidToken(bad)
	}
	var ok bool
	if id.Audience, ok = stringList(c["aud"]); !ok {
		return nil, invalidToken("malformed aud claim")
	}
	if scope != "" {
		id.Scopes = strings.Fields(scope)
	} else if id.Scopes, ok = stringList(c["scp"]); !ok {
		return nil, invalidToken("malformed scp claim")
	}
	groups, present := c["cognito:groups"]
	if !present {
		groups = c["groups"]
	}
	if id.Groups, ok = stringList(groups); !ok {
		return nil, invalidToken("malformed groups claim")
	}
	if id.ClientID == "" && id.TokenUse == "id" && len(id.Audience) > 0 {
		id.ClientID = id.Audience[0]
	}
	switch {
	case id.TokenUse == "access" || id.TokenUse == "id":
		id.TokenType = id.TokenUse
	case strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt"):
		id.TokenType = "access"
	case len(id.Audience) > 0:
		id.TokenType = "id"
	default:
		id.TokenType = "access"
	}
	id.groupsJoined = joinList(id.Groups, ',')
	id.scopeJoined = joinList(id.Scopes, ' ')
	return id, nil
}

// numericDate reads a NumericDate claim: present reports whether the claim
// exists, ok whether it is a finite, non-negative number.
func numericDate(c map[string]any, name string) (t time.Time, present, ok bool) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, false
	}
	f, isNum := v.(float64)
	if !isNum || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return time.Time{}, true, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, true
}

// stringList accepts a missing claim, a string or an array of strings.
func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// normalizeAudience makes URL audiences comparable the way RFC 8707
// clients produce them: scheme and host case-insensitive, trailing slash
// optional. Other values compare exactly.
func normalizeAudience(a string) string {
	if !strings.Contains(a, "://") {
		return a
	}
	u, err := url.Parse(a)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return a
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// hasAllScopes reports whether every required scope was granted.
func hasAllScopes(granted, required []string) bool {
	for _, r := range required {
		if !slices.Contains(granted, r) {
			return false
		}
	}
	return true
}

// hasAnyGroup reports whether the caller is in at least one required group.
func hasAnyGroup(groups, required []string) bool {
	if len(required) == 0 {
		return true
	}
	return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(required, g) })
}

// boundByClientID accepts a token without any aud claim whose client_id
// claim names a configured client, when the audience was only defaulted
// from resource. Cognito-shaped access tokens (a Cognito-like issuer in
// issuer mode, e.g. through oauth_proxy) carry no aud; client_ids binds
// them to this server's own app clients, as user_pool mode does.
func (m *CognitoAuth) boundByClientID(c map[string]any, id *Identity) bool {
	if !m.audienceFromResource || len(id.Audience) != 0 || len(m.ClientIDs) == 0 {
		return false
	}
	cid, _ := c["client_id"].(string)
	return slices.Contains(m.ClientIDs, cid)
}
