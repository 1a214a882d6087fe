package oauthproxy

import (
	"crypto/hmac"
	"net/http"
)

// The browser-binding cookie ties a login to the browser that started it:
// the consent form and the upstream state carry a digest of it, so a
// consent POST forged from another site (no cookie) and a callback URL
// replayed in another browser (another cookie) both fail. One cookie
// serves every login in progress in a browser, so two clients can log in
// at the same time.
const bindingCookieLen = 43 // 32 random bytes, base64url

func (s *Server) bindingCookieName() string {
	if s.https {
		// __Host-: only this origin, path /, Secure; a sibling subdomain
		// cannot plant or overwrite it.
		return "__Host-mcp-oauth"
	}
	return "mcp-oauth"
}

// readBinding returns the browser's binding cookie if it has a
// well-formed one.
func (s *Server) readBinding(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.bindingCookieName())
	if err != nil || len(c.Value) != bindingCookieLen {
		return "", false
	}
	if b, err := b64.DecodeString(c.Value); err != nil || len(b) != 32 {
		return "", false
	}
	return c.Value, true
}

// ensureBinding returns the browser's binding cookie, setting a new one
// when it has none, and refreshes its lifetime.
func (s *Server) ensureBinding(w http.ResponseWriter, r *http.Request) string {
	v, ok := s.readBinding(r)
	if !ok {
		v = randomToken(32)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.bindingCookieName(),
		Value:    v,
		Path:     "/",
		MaxAge:   int(bindingLifetime.Seconds()),
		HttpOnly: true,
		Secure:   s.https,
		// Lax: sent on the top-level GET back from the upstream login,
		// never on cross-site POSTs.
		SameSite: http.SameSiteLaxMode,
	})
	return v
}

// csrfToken is the consent form's anti-forgery token: a MAC of the binding
// cookie, which another site can neither read nor compute.
func (s *Server) csrfToken(binding string) string {
	return b64.EncodeToString(s.keys.mac(0, "csrf", binding))
}

// csrfValid checks a form's token against the browser's cookie under any
// key of the ring, so a rotation does not break pages already shown.
func (s *Server) csrfValid(binding, token string) bool {
	got, err := b64.DecodeString(token)
	if err != nil || token == "" {
		return false
	}
	for i := range s.keys.keys {
		if hmac.Equal(got, s.keys.mac(i, "csrf", binding)) {
			return true
		}
	}
	return false
}
