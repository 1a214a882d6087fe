package e2e

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// Issue 18, item 3: cloudwatch_mcp's authorize rules read cognito_auth's
// identity as lists, so a claim value holding a separator cannot be split
// into the value a rule needs: a group named "dev,sre" is not "sre", and an
// scp element "openid logs:read" is not "logs:read".
func TestAuthorizeRulesCannotBeMetBySeparatorsInClaims(t *testing.T) {
	scan.Begin(t)
	loadEdge(t, authorizeCaddyfile)

	// The rules: logs tools need logs:read; describe_log_groups also needs
	// group sre.
	commaGroup := scopedToken("lists-mallory", "openid logs:read", "dev,sre")
	if names := toolNames(t, commaGroup); slices.Contains(names, "describe_log_groups") {
		t.Fatalf("a group named \"dev,sre\" sees describe_log_groups: %v", names)
	}
	if res := callTool(t, connect(t, commaGroup), "describe_log_groups", map[string]any{}); !res.IsError ||
		!strings.Contains(text(res), `group "sre"`) || strings.Contains(text(res), "/aws/lambda/checkout") {
		t.Fatalf("a group named \"dev,sre\" called describe_log_groups: %s", text(res))
	}

	c := issuer.OIDCAccessClaims("lists-trudy", endpoint()).With("scp", []string{"openid logs:read"}).With("cognito:groups", []string{"sre"})
	delete(c, "scope")
	spaceScope := issuer.Mint(c, testissuer.Typ("at+jwt"))
	if names := toolNames(t, spaceScope); slices.Contains(names, "describe_log_groups") || slices.Contains(names, "execute_log_insights_query") {
		t.Fatalf("scp [\"openid logs:read\"] sees the logs tools: %v", names)
	}
	sid := openSession(t, spaceScope)
	resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), spaceScope, sid, strings.NewReader(
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="logs:read"`) {
		t.Fatalf("scp [\"openid logs:read\"] called describe_log_groups: %d %s", resp.StatusCode, body)
	}

	// The same rules still let the honest tokens through.
	honest := scopedToken("lists-bob", "openid logs:read", "dev", "sre")
	if res := callTool(t, connect(t, honest), "describe_log_groups", map[string]any{}); res.IsError ||
		!strings.Contains(text(res), "/aws/lambda/checkout") {
		t.Fatalf("authorized call: %s", text(res))
	}
	c = issuer.OIDCAccessClaims("lists-carol", endpoint()).With("scp", []string{"openid", "logs:read"}).With("cognito:groups", []string{"sre"})
	delete(c, "scope")
	if res := callTool(t, connect(t, issuer.Mint(c, testissuer.Typ("at+jwt"))), "describe_log_groups", map[string]any{}); res.IsError {
		t.Fatalf("scp [\"openid\", \"logs:read\"]: %s", text(res))
	}
}
