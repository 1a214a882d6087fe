package oauthproxy

import (
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// maxFormBytes caps the consent form body.
const maxFormBytes = 16 << 10

// serveConsent takes the Approve or Deny of the consent page. It accepts
// the form only from this browser (binding cookie), from this page (CSRF
// token derived from that cookie) and from this origin (Origin header,
// when the browser sends one).
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.showError(w, http.StatusBadRequest, "Sign-in can't continue", "The form could not be read.")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != s.issuer {
		s.showError(w, http.StatusForbidden, "Sign-in can't continue", "The approval did not come from this server's own page.")
		return
	}
	binding, ok := s.readBinding(r)
	if !ok {
		s.showError(w, http.StatusForbidden, "Sign-in can't continue",
			"This approval did not come from the browser that started the sign-in, or the sign-in expired.")
		return
	}
	if !s.csrfValid(binding, r.PostForm.Get("csrf_token")) {
		s.showError(w, http.StatusForbidden, "Sign-in can't continue",
			"The approval form is missing its security token or did not come from this server's page.")
		return
	}
	var rec consentRecord
	if err := s.open(purposeConsent, r.PostForm.Get("request"), &rec); err != nil {
		s.showError(w, http.StatusBadRequest, "Sign-in expired",
			"The approval page was open too long or is not valid.")
		return
	}
	if rec.Bind != bindDigest(binding) {
		s.showError(w, http.StatusForbidden, "Sign-in can't continue",
			"This approval belongs to a sign-in started in another browser.")
		return
	}
	host, _ := redirectHost(rec.RedirectURI)
	switch r.PostForm.Get("decision") {
	case "deny":
		s.log.Info("consent denied", zap.String("redirect_host", host))
		s.redirectError(w, rec.RedirectURI, rec.State, "access_denied", "the user denied access")
	case "approve":
		s.approve(w, r, &rec, host)
	default:
		s.showError(w, http.StatusBadRequest, "Sign-in can't continue", "Choose Approve or Deny.")
	}
}

// approve sends the browser to the upstream login with the proxy's own
// client, callback, PKCE pair and sealed state.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, rec *consentRecord, host string) {
	ep, err := s.up.endpoints(r.Context())
	if err != nil {
		s.log.Warn("identity provider unavailable", zap.Error(err))
		s.showError(w, http.StatusServiceUnavailable, "Sign-in is unavailable",
			"The identity provider can't be reached right now. Try again in a minute.")
		return
	}
	verifier := newVerifier()
	st := stateRecord{
		Client:      clientDigest(rec.ClientID),
		RedirectURI: rec.RedirectURI,
		State:       rec.State,
		Challenge:   rec.Challenge,
		Bind:        rec.Bind,
		Verifier:    verifier,
		Exp:         s.now().Add(stateLifetime).Unix(),
	}
	u, err := url.Parse(ep.authorize)
	if err != nil {
		s.showError(w, http.StatusBadGateway, "Sign-in is unavailable", "The identity provider's address is not valid.")
		return
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", s.cfg.Upstream.ClientID)
	q.Set("redirect_uri", s.callback)
	q.Set("state", s.seal(purposeState, &st))
	q.Set("code_challenge", s256(verifier))
	q.Set("code_challenge_method", "S256")
	if len(s.cfg.Scopes) > 0 {
		q.Set("scope", strings.Join(s.cfg.Scopes, " "))
	}
	if s.cfg.Upstream.ForwardResource {
		q.Set("resource", s.cfg.Resource)
	}
	u.RawQuery = q.Encode()
	s.log.Info("consent approved", zap.String("redirect_host", host))
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}
