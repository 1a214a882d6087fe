package oauthproxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// maxStateLen bounds the client's state, which rides inside the upstream
// state and the proxy's code.
const maxStateLen = 512

// serveAuthorize checks an authorization request and shows the consent
// page. Until the client and its redirect URI are known to match, errors
// are pages, never redirects (RFC 6749 §4.1.2.1), so the endpoint cannot
// be used to bounce a browser anywhere.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if retry := s.admit(r, "authorize"); retry > 0 {
		s.tooManyPage(w, retry)
		return
	}
	q := r.URL.Query()
	if dup := duplicated(q, "client_id", "redirect_uri"); dup != "" {
		s.showError(w, http.StatusBadRequest, "Sign-in can't continue", "The request repeats the "+dup+" parameter.")
		return
	}
	client, err := s.resolveClient(r, q.Get("client_id"))
	if err != nil {
		var ce *cimdError
		var limited *rateLimitedError
		if errors.As(err, &limited) {
			s.tooManyPage(w, limited.retryAfter)
			return
		}
		msg := "The application is not registered with this server. Connect again from the application so it can register."
		if errors.As(err, &ce) {
			msg = "The application's metadata document can't be used: " + ce.msg + "."
		}
		s.showError(w, http.StatusBadRequest, "Unknown application", msg)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" || !client.allows(redirectURI) {
		s.showError(w, http.StatusBadRequest, "Sign-in can't continue",
			"The address the application asked to be sent back to is not one it registered.")
		return
	}

	// The redirect URI is the client's own: from here errors go back to it.
	state := q.Get("state")
	if dup := duplicated(q, "response_type", "state", "code_challenge", "code_challenge_method", "resource", "scope"); dup != "" {
		s.redirectError(w, redirectURI, state, "invalid_request", dup+" is repeated")
		return
	}
	switch {
	case q.Get("response_type") != "code":
		s.redirectError(w, redirectURI, state, "unsupported_response_type", "response_type must be code")
	case state == "":
		s.redirectError(w, redirectURI, "", "invalid_request", "state is required")
	case len(state) > maxStateLen:
		s.redirectError(w, redirectURI, "", "invalid_request", "state is too long")
	case q.Get("code_challenge") == "":
		s.redirectError(w, redirectURI, state, "invalid_request", "PKCE is required: send code_challenge with code_challenge_method S256")
	case q.Get("code_challenge_method") != "S256":
		s.redirectError(w, redirectURI, state, "invalid_request", "code_challenge_method must be S256")
	case !validChallenge(q.Get("code_challenge")):
		s.redirectError(w, redirectURI, state, "invalid_request", "code_challenge is not an S256 challenge")
	case q.Get("resource") != "" && !sameResource(q.Get("resource"), s.cfg.Resource):
		s.redirectError(w, redirectURI, state, "invalid_target", "resource is not this server")
	default:
		s.showConsent(w, r, client, redirectURI, state, q.Get("code_challenge"))
	}
}

// duplicated names the first of params that appears more than once
// (RFC 6749 §3.1: parameters must not be repeated).
func duplicated(q url.Values, params ...string) string {
	for _, p := range params {
		if len(q[p]) > 1 {
			return p
		}
	}
	return ""
}

// showConsent renders the consent page. The spec requires consent for
// every client of a proxy that uses one static upstream client: without
// it, any registered client could ride the user's upstream session
// (confused deputy).
func (s *Server) showConsent(w http.ResponseWriter, r *http.Request, c *clientInfo, redirectURI, state, challenge string) {
	binding := s.ensureBinding(w, r)
	rec := consentRecord{
		ClientID:    c.ID,
		RedirectURI: redirectURI,
		State:       state,
		Challenge:   challenge,
		Bind:        bindDigest(binding),
		Exp:         s.now().Add(consentLifetime).Unix(),
	}
	host, local := redirectHost(redirectURI)
	page := consentPage{
		Server:        s.serverName,
		ClientLabel:   c.Name,
		RedirectHost:  host,
		RedirectLocal: local,
		Access:        s.cfg.Access,
		Scopes:        describeScopes(s.cfg.Scopes),
		Action:        PathConsent,
		Request:       s.seal(purposeConsent, &rec),
		CSRF:          s.csrfToken(binding),
	}
	if page.ClientLabel == "" {
		page.ClientLabel = "An unnamed application"
	}
	if c.Metadata {
		if u, err := url.Parse(c.ID); err == nil {
			page.ClientHost = u.Host
		}
	}
	page.Title = "Allow “" + page.ClientLabel + "” to use " + s.serverName + "?"
	// The sign-in host is shown if known within a moment; the page does
	// not wait on an upstream that is down (Approve will say so).
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if ep, err := s.up.endpoints(ctx); err == nil {
		if u, err := url.Parse(ep.authorize); err == nil {
			page.UpstreamHost = u.Host
		}
	}
	if ce := s.log.Check(zap.DebugLevel, "consent requested"); ce != nil {
		ce.Write(zap.String("client_name", c.Name), zap.String("redirect_host", host))
	}
	renderPage(w, http.StatusOK, "consent", page)
}
