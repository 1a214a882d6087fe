package oauthproxy

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// clientInfo is a client as the authorize endpoint knows it: from its
// sealed registration or its metadata document.
type clientInfo struct {
	ID           string
	Name         string // as the client chose it; may be empty
	RedirectURIs []string
	Metadata     bool // identified by a client ID metadata document
}

// errUnknownClient is a client_id that is neither a registration this
// proxy sealed nor a metadata document URL.
var errUnknownClient = errors.New("unknown client")

// resolveClient turns a client_id into the client it names. Nothing is
// looked up in memory: a registration is opened from the client_id
// itself, a metadata document is fetched (or taken from the cache). A
// fetch counts against the caller's rate limit.
func (s *Server) resolveClient(r *http.Request, clientID string) (*clientInfo, error) {
	if clientID == "" {
		return nil, errUnknownClient
	}
	if isCIMDClientID(clientID) {
		return s.cimd.get(r.Context(), clientID, func() error {
			if retry := s.admit(r, "client metadata fetch"); retry > 0 {
				return &rateLimitedError{retry}
			}
			return nil
		})
	}
	var rec clientRecord
	if err := s.open(purposeClient, clientID, &rec); err != nil {
		return nil, errUnknownClient
	}
	if len(rec.RedirectURIs) == 0 {
		return nil, errUnknownClient
	}
	return &clientInfo{ID: clientID, Name: rec.Name, RedirectURIs: rec.RedirectURIs}, nil
}

// allows reports whether redirectURI is one the client registered.
func (c *clientInfo) allows(redirectURI string) bool {
	return slices.ContainsFunc(c.RedirectURIs, func(r string) bool { return redirectMatches(r, redirectURI) })
}

// checkGrantTypes accepts what a public authorization-code client may ask
// for.
func checkGrantTypes(grants, responses []string) error {
	for _, g := range grants {
		if g != "authorization_code" && g != "refresh_token" {
			return errors.New("grant_types may only contain authorization_code and refresh_token")
		}
	}
	for _, r := range responses {
		if r != "code" {
			return errors.New("response_types may only contain code")
		}
	}
	return nil
}

// cleanName keeps a client-chosen name printable and short: it is shown
// on the consent page (escaped by html/template) and in logs.
func cleanName(n string) string {
	n = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u200b' || r == '\ufeff' {
			return -1
		}
		return r
	}, n)
	n = strings.Join(strings.Fields(n), " ")
	if r := []rune(n); len(r) > maxClientNameLen {
		n = string(r[:maxClientNameLen])
	}
	return n
}

// registrationRequest is the RFC 7591 client metadata the proxy reads.
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name"`
	Scope                   string   `json:"scope"`
}
