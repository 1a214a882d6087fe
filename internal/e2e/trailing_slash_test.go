package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// Issue 18, item 12: a client configured with the endpoint's URL plus a
// trailing slash works as well as one without, once the route matches both
// (`@mcp path /mcp /mcp/` then `handle @mcp`; `handle` takes a single path):
// the handler itself serves any path routed to it.
const trailingSlashCaddyfile = globalOptions + `
http://localhost:{$E2E_HTTP_PORT} {
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
	loadEdge(t, trailingSlashCaddyfile)

	for _, url := range []string{endpoint(), endpoint() + "/"} {
		c := connectTo(t, url, scopedToken("slash-alice", "openid logs:read"))
		if res := callTool(t, c, "describe_log_groups", map[string]any{}); res.IsError || !strings.Contains(text(res), "/aws/lambda/checkout") {
			t.Fatalf("%s: %s", url, text(res))
		}
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
