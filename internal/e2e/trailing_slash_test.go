package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Issue 18, item 12: a client configured with the endpoint's URL plus a
// trailing slash works as well as one without, once the route matches both
// (`@mcp path /mcp /mcp/` then `handle @mcp`; `handle` takes a single path):
// the handler itself serves any path routed to it.
const trailingSlashCaddyfile = globalOptions + `
http://localhost:9103 {
	@mcp path /mcp /mcp/
	handle @mcp {
		cognito_auth {
			issuer {$E2E_ISSUER}
			audiences {$E2E_RESOURCE}
			role_arn {$E2E_ROLE}
		}
		cloudwatch_mcp {
			authorize describe_log_groups {
				scopes logs:read
			}
		}
	}
	handle {
		respond 404
	}
}
`

func TestEndpointWithTrailingSlash(t *testing.T) {
	scan.Begin(t)
	caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort: adminPort, LoadRequestTimeout: 30 * time.Second, TestRequestTimeout: 30 * time.Second,
	}).InitServer(trailingSlashCaddyfile, "caddyfile")

	for _, url := range []string{endpoint(), endpoint() + "/"} {
		tok := scopedToken("slash-alice", "openid logs:read")
		c, err := client.NewStreamableHttpClient(url, transport.WithHTTPBasicClient(&http.Client{Transport: bearer{tok}}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
		init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			t.Fatalf("%s: initialize: %v", url, err)
		}
		if res := callTool(t, c, "describe_log_groups", map[string]any{}); res.IsError || !strings.Contains(text(res), "/aws/lambda/checkout") {
			t.Fatalf("%s: %s", url, text(res))
		}
		cancel()
		_ = c.Close()

		// Without a token: a challenge, not a 404.
		resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, url, "", "", strings.NewReader(initBody)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Fatalf("%s without a token: %d %q", url, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}
