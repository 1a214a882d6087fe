package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const edgeCaddyfile = globalOptions + `
http://localhost:{$E2E_HTTP_PORT} {
	log {
		output file {$E2E_LOGS}/access.log
		format json
	}
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		role_arn {$E2E_ROLE}
	}
	cloudwatch_mcp
}
`

func startEdge(t *testing.T) {
	t.Helper()
	scan.Begin(t)
	loadEdge(t, edgeCaddyfile)
}

func endpoint() string { return fmt.Sprintf("http://localhost:%d/mcp", httpPort) }

// mcpRequest is an MCP Streamable HTTP request as a client sends it: JSON
// in, JSON or SSE out, the bearer token when tok is set, and the session
// with its protocol version when session is set.
func mcpRequest(method, url, tok, session string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		panic(err) // the tests' URLs are constants
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	return req
}

// token mints an RFC 9068 access token for sub, audience-bound to our MCP
// endpoint.
func token(sub string) string {
	return issuer.Mint(issuer.OIDCAccessClaims(sub, endpoint()), testissuer.Typ("at+jwt"))
}

// bearer authenticates every request, including the DELETE mcp-go's client
// sends on Close.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultClient.Transport.RoundTrip(r) // through the secret scan
}

func connect(t *testing.T, tok string) *client.Client {
	t.Helper()
	return connectTo(t, endpoint(), tok)
}

// connectTo is connect for an endpoint URL of the test's choosing.
func connectTo(t *testing.T, url, tok string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPBasicClient(&http.Client{Transport: bearer{tok}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

// TestToolCallsAreSignedWithEachUsersOwnCredentials is the product's core
// promise: two users behind the same edge each reach AWS with credentials
// vended for them alone, one exchange each however often they call.
func TestToolCallsAreSignedWithEachUsersOwnCredentials(t *testing.T) {
	startEdge(t)
	fake.ResetCalls()

	for _, user := range []string{"alice", "bob"} {
		c := connect(t, token(user))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(tools.Tools) < 11 {
			t.Fatalf("%s sees %d tools", user, len(tools.Tools))
		}
		for range 3 {
			res := callTool(t, c, "describe_log_groups", map[string]any{})
			if res.IsError {
				t.Fatalf("%s: describe_log_groups failed: %s", user, text(res))
			}
			if !strings.Contains(text(res), "/aws/lambda/checkout") {
				t.Fatalf("%s: unexpected result %s", user, text(res))
			}
		}
	}

	calls := fake.Calls("DescribeLogGroups")
	if len(calls) != 6 {
		t.Fatalf("want 6 DescribeLogGroups calls, got %d", len(calls))
	}
	keyOf := map[string]string{}
	for _, c := range calls {
		if !c.Signed {
			t.Fatalf("unsigned CloudWatch Logs call: %+v", c)
		}
		sess, ok := fake.Session(c.AccessKeyID)
		if !ok || sess.RoleARN != roleARN || sess.Owner != c.Owner {
			t.Fatalf("call signed with a key the vending services did not issue to %s: %+v", c.Owner, c)
		}
		if prev, seen := keyOf[c.Owner]; seen && prev != c.AccessKeyID {
			t.Fatalf("%s's cached credentials changed between calls", c.Owner)
		}
		keyOf[c.Owner] = c.AccessKeyID
	}
	if len(keyOf) != 2 || keyOf["alice"] == "" || keyOf["bob"] == "" || keyOf["alice"] == keyOf["bob"] {
		t.Fatalf("each user must sign with their own key: %v", keyOf)
	}
	if n := fake.CallCount("AssumeRoleWithWebIdentity"); n != 2 {
		t.Fatalf("want one credential exchange per user, got %d", n)
	}
}

// TestEdgeChallengesWithoutToken checks the MCP authorization handshake a
// client starts from: 401 with resource metadata, then the metadata itself.
func TestEdgeChallengesWithoutToken(t *testing.T) {
	startEdge(t)
	resp, err := http.Post(endpoint(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ch := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `resource_metadata="`) {
		t.Fatalf("challenge %q", ch)
	}
	prm := ch[strings.Index(ch, `resource_metadata="`)+len(`resource_metadata="`):]
	prm = prm[:strings.Index(prm, `"`)]
	resp, err = http.Get(prm)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &meta); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata %d %s", resp.StatusCode, body)
	}
	if meta.Resource != endpoint() || len(meta.AuthorizationServers) == 0 || meta.AuthorizationServers[0] != issuer.Issuer() {
		t.Fatalf("metadata %+v", meta)
	}
}

// TestSessionBelongsToItsCreator: bob cannot ride alice's MCP session even
// with a valid token of his own.
func TestSessionBelongsToItsCreator(t *testing.T) {
	startEdge(t)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), token("alice"), "", strings.NewReader(init)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	resp, err = http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), token("bob"), sid,
		strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob on alice's session: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "describe_log_groups") {
		t.Fatal("bob saw alice's session")
	}
}
