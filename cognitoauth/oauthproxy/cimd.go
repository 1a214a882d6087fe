package oauthproxy

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Client ID metadata documents (MCP 2025-11-25, draft-ietf-oauth-client-
// id-metadata-document): a client_id that is an https URL names a JSON
// document, published by the client, that describes it. The proxy fetches
// it when the client first shows up at /authorize and caches it as HTTP
// caching allows.

// CIMDOptions tunes client ID metadata document fetches.
type CIMDOptions struct {
	// Guard vets every address the fetch connects to. Default: a Guard
	// with the system resolver.
	Guard *Guard
	// Timeout bounds one fetch, connection and body included. Default 5s.
	Timeout time.Duration
	// MaxBytes caps a document. Default 16 KiB.
	MaxBytes int64
	// RootCAs verifies the document's server. Default: the system roots.
	RootCAs *x509.CertPool
	// CacheSize bounds how many documents are cached. Default 1000.
	CacheSize int
}

const (
	defaultCIMDTimeout  = 5 * time.Second
	defaultCIMDMaxBytes = 16 << 10
	defaultCIMDCache    = 1000
	// heuristicFreshness applies when a document has no freshness
	// information; maxFreshness caps what a document may ask for, so a
	// client's change of redirect URIs is picked up within a day.
	heuristicFreshness = 5 * time.Minute
	maxFreshness       = 24 * time.Hour
	maxClientIDURLLen  = 2048
)

type cimdFetcher struct {
	client   *http.Client
	maxBytes int64
	cache    *cimdCache
	flight   singleflight.Group
	now      func() time.Time
	server   *Server
}

func newCIMDFetcher(s *Server, o CIMDOptions) *cimdFetcher {
	g := o.Guard
	if g == nil {
		g = &Guard{}
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultCIMDTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultCIMDMaxBytes
	}
	if o.CacheSize <= 0 {
		o.CacheSize = defaultCIMDCache
	}
	tr := &http.Transport{
		DialContext:           g.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // the size cap is on what goes over the wire
		// Proxy stays nil: an environment proxy would connect for us to
		// addresses the guard never sees.
	}
	return &cimdFetcher{
		client: &http.Client{
			Transport: tr,
			Timeout:   o.Timeout,
			// The document must be at its own URL; a redirect is refused
			// rather than followed somewhere the client did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not followed") },
		},
		maxBytes: o.MaxBytes,
		cache:    newCIMDCache(o.CacheSize),
		now:      s.now,
		server:   s,
	}
}

func (f *cimdFetcher) close() { f.client.CloseIdleConnections() }

// isCIMDClientID tells a metadata-document client_id from a sealed
// registration: sealed values are base64url and never contain "://".
func isCIMDClientID(id string) bool { return strings.HasPrefix(id, "https://") }

// checkClientIDURL applies the draft's rules to a client_id URL: https, a
// host, a path, no fragment, user info or dot segments.
func checkClientIDURL(raw string) error {
	if len(raw) > maxClientIDURLLen {
		return errors.New("client_id URL too long")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return errors.New("client_id URL must be an absolute https URL")
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("client_id URL must not have user information or a fragment")
	}
	if u.Path == "" || u.Path == "/" {
		return errors.New("client_id URL must have a path")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return errors.New("client_id URL must not have dot segments")
		}
	}
	return nil
}

// cimdDocument is the part of a client metadata document the proxy reads.
type cimdDocument struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
}

// cimdError is a document the proxy cannot use; its text is safe to show.
type cimdError struct{ msg string }

func (e *cimdError) Error() string { return e.msg }

// get returns the client a metadata document describes, from the cache
// when it is fresh. Concurrent requests for one URL share one fetch.
// admit is asked before a request that would fetch (a cache miss) and may
// refuse it.
func (f *cimdFetcher) get(ctx context.Context, clientID string, admit func() error) (*clientInfo, error) {
	if err := checkClientIDURL(clientID); err != nil {
		return nil, &cimdError{err.Error()}
	}
	if c := f.cache.get(clientID, f.now()); c != nil {
		return c, nil
	}
	if err := admit(); err != nil {
		return nil, err
	}
	v, err, _ := f.flight.Do(clientID, func() (any, error) {
		// One fetch serves every waiter, so it runs on its own deadline
		// rather than on the first caller's context.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.client.Timeout)
		defer cancel()
		c, ttl, err := f.fetch(fctx, clientID)
		if err == nil && ttl > 0 {
			now := f.now()
			f.cache.put(clientID, c, now.Add(ttl), now)
		}
		return c, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*clientInfo), nil
}

func (f *cimdFetcher) fetch(ctx context.Context, clientID string) (*clientInfo, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return nil, 0, &cimdError{"client_id URL is not fetchable"}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, errForbiddenAddress) {
			return nil, 0, &cimdError{errForbiddenAddress.Error()}
		}
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout") {
			return nil, 0, &cimdError{"the client's metadata document did not arrive in time"}
		}
		return nil, 0, &cimdError{"the client's metadata document could not be fetched"}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, &cimdError{fmt.Sprintf("the client's metadata document answered HTTP %d", resp.StatusCode)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, 0, &cimdError{"the client's metadata document is not JSON"}
	}
	if resp.ContentLength > f.maxBytes {
		return nil, 0, &cimdError{"the client's metadata document is too large"}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	// The deadline is checked even when the read ended without an error: a
	// request cancelled mid-body can end its body early with a plain EOF,
	// and a cut-off document must be called late, not malformed.
	if ctx.Err() != nil || (err != nil && strings.Contains(err.Error(), "Timeout")) {
		return nil, 0, &cimdError{"the client's metadata document did not arrive in time"}
	}
	if err != nil {
		return nil, 0, &cimdError{"the client's metadata document could not be read"}
	}
	if int64(len(body)) > f.maxBytes {
		return nil, 0, &cimdError{"the client's metadata document is too large"}
	}
	var doc cimdDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, &cimdError{"the client's metadata document is not valid JSON"}
	}
	c, err := f.server.clientFromDocument(clientID, &doc)
	if err != nil {
		return nil, 0, err
	}
	return c, freshness(resp.Header, f.now()), nil
}

// clientFromDocument checks a metadata document against its URL and the
// redirect URI policy.
func (s *Server) clientFromDocument(clientID string, doc *cimdDocument) (*clientInfo, error) {
	if doc.ClientID != clientID {
		return nil, &cimdError{"the metadata document does not name its own URL as client_id"}
	}
	switch doc.TokenEndpointAuthMethod {
	case "", "none":
	default:
		return nil, &cimdError{"token_endpoint_auth_method " + doc.TokenEndpointAuthMethod + " is not supported; public clients use none"}
	}
	if len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > maxRedirectURIs {
		return nil, &cimdError{fmt.Sprintf("the metadata document must list 1 to %d redirect_uris", maxRedirectURIs)}
	}
	// A document may list callbacks this server does not accept (a custom
	// scheme the operator did not list): those are left out, the others
	// work. A document with none left is refused.
	var allowed []string
	var firstErr error
	for _, r := range doc.RedirectURIs {
		if err := s.checkRedirectURI(r, true); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		allowed = append(allowed, r)
	}
	if len(allowed) == 0 {
		return nil, &cimdError{"redirect_uris: " + firstErr.Error()}
	}
	if err := checkGrantTypes(doc.GrantTypes, doc.ResponseTypes); err != nil {
		return nil, &cimdError{err.Error()}
	}
	return &clientInfo{
		ID:           clientID,
		Name:         cleanName(doc.ClientName),
		RedirectURIs: allowed,
		Metadata:     true,
	}, nil
}

// freshness is how long a document may be cached (RFC 9111): no-store
// and no-cache mean not at all, max-age wins over Expires, and a document
// without either gets a short heuristic lifetime.
func freshness(h http.Header, now time.Time) time.Duration {
	maxAge := -1
	for _, d := range strings.Split(strings.Join(h.Values("Cache-Control"), ","), ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			age, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 64)
			if err != nil {
				return 0 // a malformed max-age is treated as stale (RFC 9111 §4.2.1)
			}
			maxAge = int(min(age, uint64(maxFreshness/time.Second)))
		}
	}
	if maxAge >= 0 {
		return time.Duration(maxAge) * time.Second
	}
	if e := h.Get("Expires"); e != "" {
		t, err := http.ParseTime(e)
		if err != nil || !t.After(now) {
			return 0
		}
		return min(t.Sub(now), maxFreshness)
	}
	return heuristicFreshness
}
