package oauthproxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The endpoints. The callback is fixed because it is registered at the
// upstream; clients find the others through the metadata.
const (
	PathMetadata     = "/.well-known/oauth-authorization-server"
	PathOpenIDConfig = "/.well-known/openid-configuration"
	PathRegister     = "/oauth/register"
	PathAuthorize    = "/oauth/authorize"
	PathConsent      = "/oauth/consent"
	PathCallback     = "/oauth/callback"
	PathToken        = "/oauth/token"
)

// Config is what a Server needs.
type Config struct {
	// Resource is the canonical URL of the protected MCP endpoint
	// (RFC 8707). Its origin is the proxy's issuer and the base of every
	// endpoint; a client's resource parameter must equal it.
	Resource string
	// Scopes are what the proxy asks the upstream for, and what it
	// publishes as scopes_supported.
	Scopes []string
	// RedirectURIs are the redirect URIs clients may register besides
	// loopback http ones, compared exactly (e.g. a web client's https
	// callback).
	RedirectURIs []string
	// Access describes, on the consent page, what an approved application
	// can do besides the scopes (e.g. "Call AWS with your own
	// permissions").
	Access []string
	// Upstream is the authorization server behind the proxy.
	Upstream Upstream
	// Keys seals every record.
	Keys *KeyRing
	// UsedCodes makes codes single-use. Default: in-process.
	UsedCodes UsedCodes
	// CIMD tunes client ID metadata document fetches.
	CIMD CIMDOptions
	// RateLimit bounds registrations, authorization requests and client
	// metadata document fetches per client address. Default: none.
	RateLimit RateLimit
	// Logger receives the proxy's events; it never gets a token, code,
	// verifier or secret. Default: none.
	Logger *zap.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Server is the MCP authorization server in front of an upstream that
// cannot be one itself. It keeps no state per client or per login: every
// record it hands out is sealed with Keys, so any instance with the same
// configuration and keys completes any step of any flow.
type Server struct {
	cfg        Config
	issuer     string // the resource's origin
	callback   string
	https      bool
	serverName string
	keys       *KeyRing
	used       UsedCodes
	up         *upstream
	cimd       *cimdFetcher
	metadata   []byte
	log        *zap.Logger
	now        func() time.Time
}

// New checks cfg and builds a Server. It makes no network calls.
func New(cfg Config) (*Server, error) {
	u, err := url.Parse(cfg.Resource)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("resource %q must be an absolute http(s) URL", cfg.Resource)
	}
	if cfg.Keys == nil {
		return nil, errors.New("no sealing keys")
	}
	if cfg.Upstream.ClientID == "" {
		return nil, errors.New("upstream client_id is required")
	}
	if cfg.Upstream.Issuer == "" && (cfg.Upstream.AuthorizeURL == "" || cfg.Upstream.TokenURL == "") {
		return nil, errors.New("upstream issuer, or both authorize_url and token_url, required")
	}
	s := &Server{
		cfg:        cfg,
		issuer:     strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host),
		https:      strings.EqualFold(u.Scheme, "https"),
		serverName: strings.ToLower(u.Host),
		keys:       cfg.Keys,
		used:       cfg.UsedCodes,
		log:        cfg.Logger,
		now:        cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.used == nil {
		s.used = NewMemoryUsedCodes(0, s.now)
	}
	s.callback = s.issuer + PathCallback
	s.up = newUpstream(cfg.Upstream, s.now)
	s.cimd = newCIMDFetcher(s, cfg.CIMD)
	s.metadata = s.buildMetadata()
	return s, nil
}

// Issuer is the proxy's issuer identifier: the resource's origin.
func (s *Server) Issuer() string { return s.issuer }

// CallbackURL is the redirect URI to register at the upstream.
func (s *Server) CallbackURL() string { return s.callback }

// Close releases idle connections.
func (s *Server) Close() {
	s.cimd.close()
	if s.cfg.Upstream.HTTPClient == nil {
		s.up.client.CloseIdleConnections()
	}
}

// ServeHTTP answers the proxy's endpoints and reports whether r was one of
// them: only exact paths with their methods are; everything else is left
// to the caller (cognito_auth's token check).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/.well-known/") && !strings.HasPrefix(r.URL.Path, "/oauth/") {
		return false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	switch r.URL.Path {
	case PathMetadata, PathOpenIDConfig:
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			s.serveMetadata(w, r)
		case preflight:
			servePreflight(w, "GET, HEAD")
		default:
			return false
		}
	case PathRegister:
		switch {
		case r.Method == http.MethodPost:
			s.serveRegister(w, r)
		case preflight:
			servePreflight(w, "POST")
		default:
			return false
		}
	case PathToken:
		switch {
		case r.Method == http.MethodPost:
			s.serveToken(w, r)
		case preflight:
			servePreflight(w, "POST")
		default:
			return false
		}
	case PathAuthorize:
		if r.Method != http.MethodGet {
			return false
		}
		s.serveAuthorize(w, r)
	case PathConsent:
		if r.Method != http.MethodPost {
			return false
		}
		s.serveConsent(w, r)
	case PathCallback:
		if r.Method != http.MethodGet {
			return false
		}
		s.serveCallback(w, r)
	default:
		return false
	}
	return true
}

// sameResource compares resource indicators as RFC 8707 clients produce
// them: scheme and host case-insensitively, a trailing slash optional.
func sameResource(a, b string) bool {
	return normalizeResource(a) == normalizeResource(b)
}

func normalizeResource(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// redirectWithParams sends the browser to a validated redirect URI with
// OAuth response parameters (added to any query it already has).
func (s *Server) redirectWithParams(w http.ResponseWriter, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		s.showError(w, http.StatusBadRequest, "Sign-in can't continue", "The application's redirect address is not valid.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// redirectError returns an OAuth error to the client's (validated)
// redirect URI, with the RFC 9207 iss.
func (s *Server) redirectError(w http.ResponseWriter, redirectURI, state, code, desc string) {
	s.redirectWithParams(w, redirectURI, url.Values{
		"error": {code}, "error_description": {desc}, "state": {state}, "iss": {s.issuer},
	})
}
