package oauthlogin

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// An unreachable issuer cannot keep Caddy from starting: the proxy
// discovers the upstream on first use. Its metadata is served at once,
// and a login attempt gets a clear page instead of a hang.
func TestUnreachableIssuerDoesNotBlockStartup(t *testing.T) {
	scan.Begin(t)
	port := testport.Free(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	down := fmt.Sprintf("http://127.0.0.1:%d", testport.Free(t)) // nothing listens there
	start := time.Now()
	startEdge(t, site{listen: port, resource: endpoint, issuer: down})
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("start-up took %v with the issuer down", el)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/.well-known/oauth-authorization-server", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"registration_endpoint"`) {
		t.Fatalf("metadata with the issuer down: %d %s", resp.StatusCode, body)
	}

	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", testport.Free(t))
	b := loginbrowser.New(alice, alicePass, loginbrowser.StopAt(redirect))
	defer func() {
		for _, p := range b.Pages {
			scan.Capture("page "+p.URL, []byte(p.Body))
		}
	}()
	logins := goSDKSessionErr(t, endpoint, redirect, b.Login)
	if *logins < 1 || len(b.Pages) < 2 { // the SDK may try twice
		t.Fatalf("logins %d, pages %d", *logins, len(b.Pages))
	}
	last := b.Pages[len(b.Pages)-1]
	if last.Status != http.StatusServiceUnavailable || !strings.Contains(last.Body, "identity provider can") {
		t.Fatalf("last page %d: %s", last.Status, last.Body)
	}
}

// identity_pool without developer_provider exchanges only ID tokens, and
// proxy logins hand out access tokens: caddy adapt (so caddy validate and
// every start) refuses the config, says why and names the line.
func TestIdentityPoolWithoutDeveloperProviderIsRefusedAtStartup(t *testing.T) {
	port := testport.Free(t)
	cfg := edgeConfig(site{listen: port, resource: fmt.Sprintf("http://127.0.0.1:%d/mcp", port),
		vend: "identity_pool us-east-1:11111111-2222-3333-4444-555555555555"})
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err == nil || !strings.Contains(err.Error(), "oauth_proxy cannot serve logins with identity_pool unless developer_provider is set") ||
		!strings.Contains(err.Error(), "at Caddyfile:") {
		t.Fatalf("adapt: %v", err)
	}
}
