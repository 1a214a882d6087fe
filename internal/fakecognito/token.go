package fakecognito

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

type issuedCode struct {
	client, redirectURI, scope, challenge, resource string
	user                                            *User
	expires                                         time.Time
}

type refreshGrant struct {
	client, scope string
	user          *User
}

// serveToken is /oauth2/token for the authorization_code and
// refresh_token grants.
func (f *Fake) serveToken(w http.ResponseWriter, r *http.Request) {
	rec := TokenRequest{}
	status, body := f.token(r, &rec)
	rec.Status = status
	if e, ok := body["error"].(string); ok {
		rec.Error = e
	}
	f.mu.Lock()
	f.tokenLog = append(f.tokenLog, rec)
	f.mu.Unlock()
	writeJSON(w, status, body)
}

func fail(code string) (int, map[string]any) {
	return http.StatusBadRequest, map[string]any{"error": code}
}

func (f *Fake) token(r *http.Request, rec *TokenRequest) (int, map[string]any) {
	if err := r.ParseForm(); err != nil {
		return fail("invalid_request")
	}
	form := r.PostForm
	rec.GrantType = form.Get("grant_type")
	rec.Verifier = form.Get("code_verifier") != ""
	rec.Resource = form.Get("resource")
	id, secret := form.Get("client_id"), form.Get("client_secret")
	rec.AuthMethod = "none"
	if secret != "" {
		rec.AuthMethod = "client_secret_post"
	}
	if u, p, ok := r.BasicAuth(); ok {
		rec.AuthMethod = "client_secret_basic"
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	rec.ClientID = id
	f.mu.Lock()
	c := f.clients[id]
	f.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return fail("invalid_client")
	}
	if v := form.Get("code_verifier"); v != "" {
		f.mu.Lock()
		f.addSecret(v)
		f.mu.Unlock()
	}
	switch rec.GrantType {
	case "authorization_code":
		return f.redeem(c, form)
	case "refresh_token":
		return f.refreshGrant(c, form)
	default:
		return fail("unsupported_grant_type")
	}
}

func (f *Fake) redeem(c *AppClient, form url.Values) (int, map[string]any) {
	f.mu.Lock()
	code := f.codes[form.Get("code")]
	// A code is spent by any attempt to use it, as Cognito does.
	delete(f.codes, form.Get("code"))
	now := f.now()
	f.mu.Unlock()
	if code == nil || now.After(code.expires) || code.client != c.ID || code.redirectURI != form.Get("redirect_uri") {
		return fail("invalid_grant")
	}
	if code.challenge != "" {
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge {
			return fail("invalid_grant")
		}
	}
	rt := randomString(96)
	f.mu.Lock()
	f.refresh[rt] = &refreshGrant{client: c.ID, scope: code.scope, user: code.user}
	f.addSecret(rt)
	f.mu.Unlock()
	body := f.tokens(c.ID, code.scope, code.user)
	body["refresh_token"] = rt
	return http.StatusOK, body
}

func (f *Fake) refreshGrant(c *AppClient, form url.Values) (int, map[string]any) {
	f.mu.Lock()
	g := f.refresh[form.Get("refresh_token")]
	f.mu.Unlock()
	if g == nil || g.client != c.ID {
		return fail("invalid_grant")
	}
	// Cognito does not rotate refresh tokens unless rotation is enabled.
	return http.StatusOK, f.tokens(c.ID, g.scope, g.user)
}

// tokens mints a Cognito-shaped access token (client_id, no aud) and ID
// token.
func (f *Fake) tokens(clientID, scope string, u *User) map[string]any {
	ac := f.issuer.CognitoAccessClaims(u.Sub, clientID).With("scope", scope).With("username", u.Username)
	ic := f.issuer.CognitoIDClaims(u.Sub, clientID).With("cognito:username", u.Username).With("email", u.Email)
	if len(u.Groups) > 0 {
		ac = ac.With("cognito:groups", u.Groups)
		ic = ic.With("cognito:groups", u.Groups)
	}
	return map[string]any{
		"access_token": f.issuer.Mint(ac),
		"id_token":     f.issuer.Mint(ic),
		"expires_in":   3600,
		"token_type":   "Bearer",
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
