package cloudwatchmcp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestRebindingGuardRules(t *testing.T) {
	loop := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 9102}
	public := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 443}
	cases := []struct {
		name           string
		hosts, origins []string
		local          net.Addr
		tls            bool
		host, origin   string
		ok             bool
	}{
		// No allowed_hosts: mcp-go's loopback rule for Host.
		{name: "loopback conn, loopback host", local: loop, host: "localhost:9102", ok: true},
		{name: "loopback conn, v6 loopback host", local: loop, host: "[::1]:9102", ok: true},
		{name: "loopback conn, rebinding host", local: loop, host: "evil.example.com:9102"},
		{name: "public conn, any host", local: public, host: "mcp.example.com", ok: true},
		// Origin must be this origin when no allowed_hosts.
		{name: "same origin", local: public, tls: true, host: "mcp.example.com", origin: "https://mcp.example.com", ok: true},
		{name: "same origin, explicit default port", local: public, tls: true, host: "mcp.example.com:443", origin: "https://MCP.example.com", ok: true},
		{name: "cross origin", local: public, tls: true, host: "mcp.example.com", origin: "https://evil.example.com"},
		{name: "other port", local: public, tls: true, host: "mcp.example.com", origin: "https://mcp.example.com:8443"},
		{name: "scheme mismatch port", local: public, tls: true, host: "mcp.example.com", origin: "http://mcp.example.com"},
		{name: "loopback origin, other name", local: loop, host: "localhost:9102", origin: "http://127.0.0.1:9102", ok: true},
		{name: "loopback origin, other port", local: loop, host: "localhost:9102", origin: "http://localhost:3000"},
		{name: "null origin", local: public, host: "mcp.example.com", origin: "null"},
		{name: "allowed origin", origins: []string{"https://app.example.org/"}, local: public, host: "mcp.example.com", origin: "https://app.example.org", ok: true},
		// allowed_hosts replaces the loopback rule.
		{name: "listed host on loopback", hosts: []string{"mcp.example.com"}, local: loop, host: "mcp.example.com", ok: true},
		{name: "unlisted host", hosts: []string{"mcp.example.com"}, local: public, host: "other.example.com"},
		{name: "loopback host not listed", hosts: []string{"mcp.example.com"}, local: loop, host: "localhost:9102"},
		{name: "host with port rule", hosts: []string{"mcp.example.com:8443"}, local: public, host: "mcp.example.com:8443", ok: true},
		{name: "host with port rule, other port", hosts: []string{"mcp.example.com:8443"}, local: public, host: "mcp.example.com"},
		{name: "wildcard", hosts: []string{"*.example.com"}, local: public, host: "a.example.com", ok: true},
		{name: "wildcard is not apex", hosts: []string{"*.example.com"}, local: public, host: "example.com"},
		{name: "origin of listed host", hosts: []string{"mcp.example.com", "app.example.com"}, local: public, tls: true, host: "mcp.example.com", origin: "https://app.example.com", ok: true},
		{name: "origin of unlisted host", hosts: []string{"mcp.example.com"}, local: public, tls: true, host: "mcp.example.com", origin: "https://evil.example.com"},
		{name: "both hostile and agreeing", hosts: []string{"mcp.example.com"}, local: loop, host: "evil.example.com", origin: "http://evil.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := newRebindingGuard(c.hosts, c.origins)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
			r.Host = c.host
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, c.local))
			err = g.check(r)
			if c.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !c.ok {
				var he caddyhttp.HandlerError
				if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
					t.Fatalf("want 403, got %v", err)
				}
			}
		})
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://App.Example.org":     "https://app.example.org",
		"https://app.example.org:443": "https://app.example.org",
		"http://localhost:3000/":      "http://localhost:3000",
		"http://[::1]:8080":           "http://[::1]:8080",
	} {
		if got, err := normalizeOrigin(in); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"app.example.org", "ftp://x", "https://x/path", "null", "https://u@x"} {
		if _, err := normalizeOrigin(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
