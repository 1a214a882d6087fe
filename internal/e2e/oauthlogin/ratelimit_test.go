package oauthlogin

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// The proxy's unauthenticated endpoints are limited per client as Caddy
// sees it: behind a trusted proxy (the edge trusts 127.0.0.1), each
// X-Forwarded-For address has its own budget, and over it registration
// gets 429 with Retry-After and an OAuth error, authorization an error
// page.
func TestRateLimitPerClientBehindATrustedProxy(t *testing.T) {
	scan.Begin(t)
	port := testport.Free(t)
	origin := fmt.Sprintf("http://127.0.0.1:%d", port)
	// An hour's window: no request comes back while the test runs, however
	// slow the machine (2 a minute would refill one every 30 s).
	startEdge(t, site{listen: port, resource: origin + "/mcp", proxy: "rate_limit 2 1h"})

	send := func(method, path, forwardedFor, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, origin+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		scan.Capture("response "+path, b)
		return resp, string(b)
	}
	register := func(ip string) (*http.Response, string) {
		return send(http.MethodPost, "/oauth/register", ip, `{"client_name":"x","redirect_uris":["http://127.0.0.1:9/cb"]}`)
	}
	for i := range 2 {
		if resp, body := register("203.0.113.7"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := register("203.0.113.7")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"error":"temporarily_unavailable"`) {
		t.Fatalf("third registration: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, body := register("203.0.113.8"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("another client behind the same proxy: %d %s", resp.StatusCode, body)
	}
	resp, body = send(http.MethodGet, "/oauth/authorize?response_type=code&client_id=x", "203.0.113.7", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Location") != "" || !strings.Contains(body, "Too many sign-in attempts") {
		t.Fatalf("authorize over the limit: %d %s", resp.StatusCode, body)
	}
}
