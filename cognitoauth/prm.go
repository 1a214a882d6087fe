package cognitoauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// prmPrefix is the RFC 9728 well-known path; the path-qualified form
// appends the resource's path (e.g. /.well-known/oauth-protected-resource/mcp).
const prmPrefix = "/.well-known/oauth-protected-resource"

type protectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
}

// servePRM answers metadata requests, which must work without a token.
// It reports false when the request is not one it serves.
func (m *CognitoAuth) servePRM(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	suffix, ok := strings.CutPrefix(r.URL.EscapedPath(), prmPrefix)
	if !ok || (suffix != "" && suffix[0] != '/') {
		return false
	}
	var resource string
	if m.Resource != "" {
		// With a configured resource only its own document exists; other
		// path-qualified lookups are ordinary protected requests.
		if suffix != "" && suffix != m.resourcePath {
			return false
		}
		resource = m.Resource
	} else {
		resource = requestOrigin(r) + strings.TrimRight(suffix, "/")
	}
	scopes := m.prmScopes
	if scopes == nil { // not provisioned
		scopes = m.Scopes
	}
	body, err := json.Marshal(protectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   m.authServers,
		ScopesSupported:        scopes,
		BearerMethodsSupported: []string{"header"},
	})
	if err != nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// The document is public, and browser-based MCP clients fetch it
	// cross-origin.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return true
}

// metadataURL is the resource_metadata value for challenges: derived from
// the configured resource, or from the request's origin and path.
func (m *CognitoAuth) metadataURL(r *http.Request) string {
	if m.prmURL != "" {
		return m.prmURL
	}
	p := strings.TrimRight(r.URL.EscapedPath(), "/")
	tls := r.TLS != nil
	if m.lastPRM == nil { // not provisioned
		return requestOrigin(r) + prmPrefix + p
	}
	if d := m.lastPRM.Load(); d != nil && d.tls == tls && d.host == r.Host && d.path == p {
		return d.url
	}
	u := requestOrigin(r) + prmPrefix + p
	m.lastPRM.Store(&derivedPRM{tls: tls, host: r.Host, path: p, url: u})
	return u
}

// derivedPRM is a metadata URL derived from a request's origin and path.
type derivedPRM struct {
	tls             bool
	host, path, url string
}

// resourceMetadataURL inserts the well-known segment between the host and
// the path of a resource URL, as RFC 9728 §3.1 prescribes.
func resourceMetadataURL(resource string) (prm, path string, err error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", "", err
	}
	path = strings.TrimRight(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + prmPrefix + path, path, nil
}

func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
