package oauthproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"go.uber.org/zap"
)

// maxRegistrationBytes caps a registration request body.
const maxRegistrationBytes = 64 << 10

// registrationResponse is the RFC 7591 §3.2.1 answer.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientName              string   `json:"client_name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// serveRegister is dynamic client registration (RFC 7591) for public
// clients. The proxy remembers nothing: the client_id it returns is the
// validated registration itself, sealed, so any instance sharing the key
// accepts it and 10,000 registrations cost no memory.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	if retry := s.admit(r, "register"); retry > 0 {
		tooManyJSON(w, retry)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_client_metadata", "registration request too large")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request could not be read")
		return
	}
	var req registrationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request is not a JSON object of client metadata")
		return
	}
	if len(req.RedirectURIs) == 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
		return
	}
	if len(req.RedirectURIs) > maxRedirectURIs {
		writeOAuthError(w, http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("at most %d redirect_uris", maxRedirectURIs))
		return
	}
	for _, u := range req.RedirectURIs {
		if err := s.checkRedirectURI(u, false); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_redirect_uri", err.Error())
			return
		}
	}
	if err := checkGrantTypes(req.GrantTypes, req.ResponseTypes); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", err.Error())
		return
	}
	grants := req.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code", "refresh_token"}
	}
	now := s.now().Unix()
	rec := clientRecord{RedirectURIs: slices.Clone(req.RedirectURIs), Name: cleanName(req.ClientName), IssuedAt: now}
	resp := registrationResponse{
		ClientID:         s.seal(purposeClient, &rec),
		ClientIDIssuedAt: now,
		ClientName:       rec.Name,
		RedirectURIs:     rec.RedirectURIs,
		GrantTypes:       grants,
		ResponseTypes:    []string{"code"},
		// Only public clients: whatever method was asked for, the client
		// gets no secret (RFC 7591 §3.2.1 lets the server replace values).
		TokenEndpointAuthMethod: "none",
	}
	if c := s.log.Check(zap.DebugLevel, "client registered"); c != nil {
		c.Write(zap.String("client_name", rec.Name), zap.Strings("redirect_hosts", redirectHosts(rec.RedirectURIs)))
	}
	writeJSON(w, http.StatusCreated, resp)
}

func redirectHosts(uris []string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		out[i], _ = redirectHost(u)
	}
	return out
}
