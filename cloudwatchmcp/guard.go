package cloudwatchmcp

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// rebindingGuard defends against DNS rebinding: an attacker's name that
// resolves to our address, so a victim's browser sends Host and Origin that
// agree with each other and are both hostile. Checking Origin alone cannot
// catch that, so Host is checked too.
type rebindingGuard struct {
	hosts   []hostRule          // allowed_hosts; empty = mcp-go's loopback rule
	origins map[string]struct{} // allowed_origins, normalized
	list    []string            // allowed_origins, normalized, in config order
}

// hostRule is one allowed_hosts entry: a name (or "*.suffix") and an
// optional port ("" = any port).
type hostRule struct {
	name     string
	wildcard bool
	port     string
}

func newRebindingGuard(hosts, origins []string) (*rebindingGuard, error) {
	g := &rebindingGuard{origins: map[string]struct{}{}}
	for _, h := range hosts {
		rule, err := parseHostRule(h)
		if err != nil {
			return nil, err
		}
		g.hosts = append(g.hosts, rule)
	}
	for _, o := range origins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		if _, dup := g.origins[n]; !dup {
			g.origins[n] = struct{}{}
			g.list = append(g.list, n)
		}
	}
	return g, nil
}

func parseHostRule(s string) (hostRule, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || strings.ContainsAny(s, "/@ ") {
		return hostRule{}, fmt.Errorf("allowed_hosts: %q is not a host name (want host or host:port)", s)
	}
	name, port := splitHostPort(s)
	rule := hostRule{name: name, port: port}
	if strings.HasPrefix(name, "*.") {
		rule.wildcard, rule.name = true, name[1:] // keep the dot: ".example.com"
	}
	return rule, nil
}

// normalizeOrigin returns scheme://host[:port] in the form browsers send:
// lower case, no default port, no path.
func normalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("allowed_origins: %q is not an origin (want scheme://host[:port])", s)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == defaultPort(scheme) {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// check answers 403 when Host or Origin is not allowed.
func (g *rebindingGuard) check(r *http.Request) error {
	if len(g.hosts) > 0 {
		name, port := splitHostPort(strings.ToLower(r.Host))
		if port == "" {
			port = requestDefaultPort(r)
		}
		if !g.hostAllowed(name, port) {
			return caddyhttp.Error(http.StatusForbidden, fmt.Errorf("host %.256q is not in allowed_hosts", r.Host))
		}
	} else if loopbackConnection(r) && !isLoopbackHost(r.Host) {
		return caddyhttp.Error(http.StatusForbidden,
			fmt.Errorf("host %.256q arrived on a loopback connection; list public names in allowed_hosts", r.Host))
	}

	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if g.originAllowed(r, origin) {
		return nil
	}
	return caddyhttp.Error(http.StatusForbidden, fmt.Errorf("origin %.256q is not allowed", origin))
}

func (g *rebindingGuard) hostAllowed(name, port string) bool {
	for _, rule := range g.hosts {
		if rule.port != "" && rule.port != port {
			continue
		}
		if rule.wildcard {
			if strings.HasSuffix(name, rule.name) && len(name) > len(rule.name) {
				return true
			}
		} else if name == rule.name {
			return true
		}
	}
	return false
}

func (g *rebindingGuard) originAllowed(r *http.Request, origin string) bool {
	n, err := normalizeOrigin(origin)
	if err != nil {
		return false // "null", garbage
	}
	if _, ok := g.origins[n]; ok {
		return true
	}
	u, _ := url.Parse(n)
	oName, oPort := strings.ToLower(u.Hostname()), u.Port()
	if oPort == "" {
		oPort = defaultPort(u.Scheme)
	}
	if strings.Contains(oName, ":") {
		oName = "[" + oName + "]"
	}
	if len(g.hosts) > 0 {
		return g.hostAllowed(oName, oPort)
	}
	// Without allowed_hosts the allowed host is the one Caddy matched:
	// the page must come from this very origin (or, on loopback, from a
	// loopback name for the same port).
	rName, rPort := splitHostPort(strings.ToLower(r.Host))
	if rPort == "" {
		rPort = requestDefaultPort(r)
	}
	if oPort != rPort {
		return false
	}
	return oName == rName || (loopbackConnection(r) && isLoopbackHost(oName) && isLoopbackHost(rName))
}

// cors reports whether CORS is on (allowed_origins given).
func (g *rebindingGuard) cors() bool { return len(g.list) > 0 }

// corsOrigins lists the origins CORS responses are sent for.
func (g *rebindingGuard) corsOrigins() []string { return g.list }

// splitHostPort splits host[:port]; IPv6 names keep their brackets.
func splitHostPort(hostport string) (name, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		return h, p
	}
	return hostport, ""
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

func requestDefaultPort(r *http.Request) string {
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// loopbackConnection reports whether the request arrived on a loopback
// address of this server.
func loopbackConnection(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && addr != nil && isLoopbackHost(addr.String())
}

// isLoopbackHost is mcp-go's rule: localhost or a loopback IP, with or
// without a port.
func isLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
