package oauthproxy

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Limits on what a client may register.
const (
	maxRedirectURIs   = 10
	maxRedirectURILen = 1024
	maxClientNameLen  = 100
)

// redirectError explains why a redirect URI is refused; the text goes to
// the client as error_description.
type redirectError string

func (e redirectError) Error() string { return string(e) }

// checkRedirectURI applies the registration policy: loopback http on any
// port (RFC 8252 §7.3), https only when the operator listed it, anything
// else only when listed exactly; never fragments, user info or script
// schemes. cimd allows any https redirect: a client ID metadata document
// is published by the client's own host, which the consent page shows.
func (s *Server) checkRedirectURI(raw string, cimd bool) error {
	if raw == "" || len(raw) > maxRedirectURILen {
		return redirectError("redirect URI empty or too long")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return redirectError("redirect URI contains spaces, control characters or backslashes")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return redirectError("redirect URI is not an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return redirectError("redirect URI must not have a fragment")
	}
	if u.User != nil {
		return redirectError("redirect URI must not have user information")
	}
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "javascript" || scheme == "data" || scheme == "vbscript" || scheme == "file":
		return redirectError("redirect URI scheme " + scheme + " is not allowed")
	case slices.Contains(s.cfg.RedirectURIs, raw):
		return nil
	case scheme == "http":
		if u.Scheme != "http" || !isLoopbackHost(u.Host) {
			return redirectError("http redirect URIs must be loopback (localhost, 127.0.0.1 or [::1])")
		}
		return nil
	case scheme == "https" && cimd:
		if u.Scheme != "https" || u.Host == "" {
			return redirectError("redirect URI has no host")
		}
		return nil
	case scheme == "https":
		return redirectError("https redirect URIs must be listed in the server's redirect_uris")
	default:
		return redirectError("redirect URI scheme " + scheme + " is not allowed unless listed in the server's redirect_uris")
	}
}

// isLoopbackHost accepts exactly the loopback names RFC 8252 §7.3 means,
// with an optional port: localhost, 127.0.0.1 and [::1].
func isLoopbackHost(hostport string) bool {
	host := hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port := hostport[:i], hostport[i+1:]
		if !validPort(port) {
			return false
		}
		return loopbackName(host)
	}
	return loopbackName(host)
}

func loopbackName(host string) bool {
	switch host {
	case "localhost", "127.0.0.1", "[::1]":
		return true
	}
	return false
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n < 65536
}

// redirectMatches compares a requested redirect URI with a registered one:
// exactly, except that a loopback http URI may come back on any port
// (RFC 8252 §7.3), since native clients pick their port at run time.
func redirectMatches(registered, requested string) bool {
	if registered == requested {
		return true
	}
	ru, err1 := url.Parse(registered)
	qu, err2 := url.Parse(requested)
	if err1 != nil || err2 != nil || ru.Scheme != "http" || qu.Scheme != "http" ||
		!isLoopbackHost(ru.Host) || !isLoopbackHost(qu.Host) {
		return false
	}
	if ru.Hostname() != qu.Hostname() || qu.User != nil || qu.Fragment != "" ||
		ru.EscapedPath() != qu.EscapedPath() || ru.RawQuery != qu.RawQuery {
		return false
	}
	return qu.Port() == "" || validPort(qu.Port())
}

// redirectHost is how the consent page names where the browser goes next.
func redirectHost(raw string) (host string, local bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, false
	}
	if u.Scheme == "http" && isLoopbackHost(u.Host) {
		return u.Host, true
	}
	if u.Host == "" {
		return u.Scheme + ":", false
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && a.IsLoopback() {
		return u.Host, true
	}
	return u.Host, false
}
