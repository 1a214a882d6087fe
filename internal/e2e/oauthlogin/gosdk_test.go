package oauthlogin

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// TestGoSDKClientLogsInWithNothingButTheURL: the official Go SDK client,
// given only the MCP URL, logs in through the proxy (DCR, consent, the
// fake Cognito hosted UI, PKCE, resource, iss) and its tools/call reaches
// AWS with credentials vended for that user; two users, two keys.
func TestGoSDKClientLogsInWithNothingButTheURL(t *testing.T) {
	scan.Begin(t)
	port := testport.Free(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	startEdge(t, site{listen: port, resource: endpoint})
	cognito.ResetLogs()
	fake.ResetCalls()

	for _, u := range []struct{ name, pass string }{{alice, alicePass}, {bob, bobPass}} {
		redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", testport.Free(t))
		session, logins := goSDKSession(t, endpoint, redirect, scriptedBrowser(t, u.name, u.pass, redirect))
		describeLogGroups(t, session)
		describeLogGroups(t, session)
		if *logins != 1 {
			t.Fatalf("%s logged in %d times", u.name, *logins)
		}
	}
	keys := wantSignedBy(t, alice, bob)
	if keys[cognito.Sub(alice)] == keys[cognito.Sub(bob)] {
		t.Fatal("alice and bob signed with the same key")
	}
	if n := fake.CallCount("AssumeRole"); n != 2 {
		t.Fatalf("%d credential exchanges, want one per user", n)
	}
	// The upstream saw the proxy's client only, with PKCE and Basic auth.
	for _, a := range cognito.AuthorizeRequests() {
		if a.ClientID != proxyClient || a.CodeChallengeMethod != "S256" || !strings.HasSuffix(a.RedirectURI, "/oauth/callback") {
			t.Fatalf("upstream authorize request %+v", a)
		}
	}
	for _, tr := range cognito.TokenRequests() {
		if tr.AuthMethod != "client_secret_basic" || !tr.Verifier || tr.Status != 200 {
			t.Fatalf("upstream token request %+v", tr)
		}
	}
}

// TestGoSDKClientCannotUseCognitoDirectly is the reason for the proxy:
// pointed straight at a Cognito-shaped authorization server (no PKCE
// methods in discovery, no registration), the spec-following client
// refuses before any login.
func TestGoSDKClientCannotUseCognitoDirectly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := auth.GetAuthServerMetadata(ctx, cognito.URL(), nil)
	if err == nil || !strings.Contains(err.Error(), "does not implement PKCE") {
		t.Fatalf("the Go SDK accepted the fake Cognito's metadata: %v", err)
	}
	_ = mcp.Implementation{}
	_ = oauthex.AuthServerMeta{}
}
