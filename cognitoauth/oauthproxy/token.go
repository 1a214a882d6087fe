package oauthproxy

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// maxTokenRequestBytes caps a token request body.
const maxTokenRequestBytes = 64 << 10

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// serveToken is the token endpoint for public clients.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the token request must be a form of at most 64 KiB")
		return
	}
	f := r.PostForm
	for k, v := range f {
		if len(v) > 1 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", k+" is repeated")
			return
		}
	}
	clientID, ok := s.tokenClient(w, r)
	if !ok {
		return
	}
	if res := f.Get("resource"); res != "" && !sameResource(res, s.cfg.Resource) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_target", "resource is not this server")
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		s.redeemCode(w, r, clientID)
	case "refresh_token":
		s.refresh(w, r, clientID)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

// tokenClient identifies the client: client_id in the form (public
// clients), or HTTP Basic with an empty secret, which some clients send.
// A client_id must be a registration this proxy sealed or a metadata
// document URL.
func (s *Server) tokenClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PostForm.Get("client_id")
	if user, pass, ok := r.BasicAuth(); ok {
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || p != "" || (id != "" && id != u) {
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth"`)
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "public clients have no secret; send client_id only")
			return "", false
		}
		id = u
	}
	if id == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id is required")
		return "", false
	}
	if isCIMDClientID(id) {
		if checkClientIDURL(id) != nil {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id is not a valid client metadata document URL")
			return "", false
		}
		return id, true
	}
	var rec clientRecord
	if s.open(purposeClient, id, &rec) != nil {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return "", false
	}
	return id, true
}

// redeemCode is the authorization_code grant: it checks the client's
// request against the sealed code, spends the code, and redeems the
// upstream code server-side with the proxy's own client and verifier.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, clientID string) {
	f := r.PostForm
	var rec codeRecord
	if s.open(purposeCode, f.Get("code"), &rec) != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is not valid or has expired")
		return
	}
	if rec.Client != clientDigest(clientID) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
		return
	}
	if f.Get("redirect_uri") != rec.RedirectURI {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	if !verifierMatches(f.Get("code_verifier"), rec.Challenge) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge")
		return
	}
	// Checked last, so a request that fails the checks above (a thief
	// without the verifier) does not spend the legitimate client's code.
	first, err := s.used.Claim(r.Context(), rec.ID, time.Unix(rec.Exp, 0))
	if err != nil {
		// Fail closed: without the record a replay could pass. The code is
		// not spent (the upstream was not called), so the client can retry
		// it until it expires.
		s.log.Error("cannot record a used authorization code; refusing it until the used-code store answers", zap.Error(err))
		w.Header().Set("Retry-After", "5")
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable",
			"single use of the authorization code cannot be checked right now; retry the same request shortly")
		return
	}
	if !first {
		s.log.Warn("authorization code replayed")
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code has already been used")
		return
	}
	s.grant(w, r, clientID, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {rec.Upstream},
		"redirect_uri":  {s.callback},
		"code_verifier": {rec.Verifier},
	}, "")
}

// refresh is the refresh_token grant: the sealed refresh token opens only
// for the client it was issued to.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, clientID string) {
	var rec refreshRecord
	if s.open(purposeRefresh, r.PostForm.Get("refresh_token"), &rec) != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid")
		return
	}
	if rec.Client != clientDigest(clientID) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token was issued to another client")
		return
	}
	s.grant(w, r, clientID, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rec.Upstream}}, rec.Upstream)
}

// grant makes the upstream token request and answers the client.
func (s *Server) grant(w http.ResponseWriter, r *http.Request, clientID string, form url.Values, previousRefresh string) {
	grant := form.Get("grant_type")
	if s.cfg.Upstream.ForwardResource {
		form.Set("resource", s.cfg.Resource)
	}
	t, uerr := s.up.token(r.Context(), form)
	if uerr != nil {
		s.upstreamFailed(w, grant, uerr)
		return
	}
	s.issue(w, grant, clientID, t, previousRefresh)
}

// issue answers with the upstream's access token and a refresh token that
// wraps the upstream's (the new one when the upstream rotates, else the
// one just used), sealed for this client. The ID token is not passed on.
func (s *Server) issue(w http.ResponseWriter, grant, clientID string, t *upstreamTokens, previousRefresh string) {
	resp := tokenResponse{
		AccessToken: t.AccessToken,
		TokenType:   "Bearer",
		ExpiresIn:   t.expiresIn(),
		Scope:       t.Scope,
	}
	if resp.Scope == "" {
		resp.Scope = strings.Join(s.cfg.Scopes, " ")
	}
	if up := firstNonEmpty(t.RefreshToken, previousRefresh); up != "" {
		resp.RefreshToken = s.seal(purposeRefresh, &refreshRecord{Client: clientDigest(clientID), Upstream: up, IssuedAt: s.now().Unix()})
	}
	s.log.Info("tokens issued", zap.String("grant_type", grant), zap.Bool("refresh_token", resp.RefreshToken != ""))
	writeJSON(w, http.StatusOK, resp)
}

// upstreamFailed maps an upstream token error to the client's answer:
// invalid_grant stays invalid_grant (the code or refresh token is spent,
// expired or revoked); a refusal of the proxy's own request is the
// operator's problem (502, logged); silence is 503.
func (s *Server) upstreamFailed(w http.ResponseWriter, grant string, e *upstreamError) {
	switch {
	case e.code == "invalid_grant":
		s.log.Info("identity provider refused the grant", zap.String("grant_type", grant), zap.String("description", e.desc))
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the identity provider refused the grant: it is expired, revoked or already used")
	case e.code != "":
		s.log.Error("identity provider refused the proxy's token request; check oauth_proxy client_id, client_secret and the app client's settings",
			zap.String("grant_type", grant), zap.Int("status", e.status), zap.String("error", e.code), zap.String("description", e.desc))
		writeOAuthError(w, http.StatusBadGateway, "server_error", "the identity provider refused this server's request")
	default:
		s.log.Warn("identity provider unavailable", zap.String("grant_type", grant), zap.String("cause", e.Error()))
		w.Header().Set("Retry-After", "5")
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the identity provider is unreachable; try again shortly")
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
