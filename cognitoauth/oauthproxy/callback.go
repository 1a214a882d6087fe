package oauthproxy

import (
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// maxUpstreamCodeLen bounds the upstream code the proxy wraps.
const maxUpstreamCodeLen = 2048

// upstreamErrors are the authorization errors (RFC 6749 §4.1.2.1) passed
// on to the client as they are; anything else becomes server_error.
var upstreamErrors = map[string]bool{
	"invalid_request": true, "unauthorized_client": true, "access_denied": true,
	"unsupported_response_type": true, "invalid_scope": true, "server_error": true,
	"temporarily_unavailable": true, "login_required": true, "consent_required": true,
	"interaction_required": true, "account_selection_required": true, "invalid_target": true,
}

// serveCallback receives the upstream's answer at the fixed callback. It
// trusts nothing before the sealed state opens and the browser shows the
// cookie the state was bound to; only then does it redirect, and only to
// the redirect URI sealed in the state.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var st stateRecord
	if len(q["state"]) != 1 || s.open(purposeState, q.Get("state"), &st) != nil {
		s.showError(w, http.StatusBadRequest, "Sign-in link not valid",
			"This sign-in link is not valid or has expired.")
		return
	}
	binding, ok := s.readBinding(r)
	if !ok || bindDigest(binding) != st.Bind {
		s.log.Info("callback refused: not the browser that started the sign-in")
		s.showError(w, http.StatusForbidden, "Sign-in can't continue",
			"This sign-in was started in a different browser. Start again from the application in this browser.")
		return
	}
	if e := q.Get("error"); e != "" {
		code := safeCode(e)
		if !upstreamErrors[code] {
			code = "server_error"
		}
		host, _ := redirectHost(st.RedirectURI)
		s.log.Info("identity provider returned an error", zap.String("error", code), zap.String("redirect_host", host))
		s.redirectError(w, st.RedirectURI, st.State, code, safeText(q.Get("error_description")))
		return
	}
	upCode := q.Get("code")
	if upCode == "" || len(upCode) > maxUpstreamCodeLen || len(q["code"]) != 1 {
		s.redirectError(w, st.RedirectURI, st.State, "server_error", "the identity provider returned no usable code")
		return
	}
	rec := codeRecord{
		ID:          randomToken(16),
		Client:      st.Client,
		RedirectURI: st.RedirectURI,
		Challenge:   st.Challenge,
		Upstream:    upCode,
		Verifier:    st.Verifier,
		Exp:         s.now().Add(codeLifetime).Unix(),
	}
	s.redirectWithParams(w, st.RedirectURI, url.Values{
		"code": {s.seal(purposeCode, &rec)}, "state": {st.State}, "iss": {s.issuer},
	})
}
