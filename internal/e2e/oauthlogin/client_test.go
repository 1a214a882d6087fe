package oauthlogin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
)

// browse is a login done by some browser: it opens the authorization URL
// and returns the client redirect it ends at.
type browse func(ctx context.Context, authURL string) (*url.URL, error)

// scriptedBrowser is loginbrowser's http.Client with a cookie jar,
// submitting the consent and login forms; the pages it was shown are
// scanned for secrets.
func scriptedBrowser(t testing.TB, user, pass, redirectURI string) browse {
	b := loginbrowser.New(user, pass, loginbrowser.StopAt(redirectURI))
	t.Cleanup(func() {
		for _, p := range b.Pages {
			scan.Capture("page "+p.URL, []byte(p.Body))
		}
	})
	return b.Login
}

// goSDKSession connects the official Go SDK client (v1.8.0) to endpoint
// with nothing but the URL: on the first 401 its AuthorizationCodeHandler
// discovers the proxy, registers, and runs the authorization code flow in
// the given browser; then the session initializes with the token.
func goSDKSession(t testing.TB, endpoint, redirectURI string, login browse) (*mcp.ClientSession, *int) {
	t.Helper()
	session, logins, err := connectGoSDK(t, endpoint, redirectURI, login)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return session, logins
}

// goSDKSessionErr is goSDKSession for a connection expected to fail; it
// returns how often the browser was sent to log in.
func goSDKSessionErr(t testing.TB, endpoint, redirectURI string, login browse) *int {
	t.Helper()
	_, logins, err := connectGoSDK(t, endpoint, redirectURI, login)
	if err == nil {
		t.Fatal("connect succeeded")
	}
	return logins
}

func connectGoSDK(t testing.TB, endpoint, redirectURI string, login browse) (*mcp.ClientSession, *int, error) {
	t.Helper()
	logins := new(int)
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "Go SDK e2e client",
				RedirectURIs:            []string{redirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				TokenEndpointAuthMethod: "none",
			},
		},
		RedirectURL: redirectURI,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			*logins++
			u, err := login(ctx, args.URL)
			if err != nil {
				return nil, err
			}
			q := u.Query()
			// The proxy's own code is a credential too: it must not
			// reach any log (Caddy's access log records the callback's
			// Location unless filtered).
			scan.Add("the proxy's authorization code", q.Get("code"))
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		Client: &http.Client{Timeout: 20 * time.Second},
	})
	if err != nil {
		return nil, logins, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-e2e", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             endpoint,
		OAuthHandler:         handler,
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return nil, logins, err
	}
	t.Cleanup(func() { _ = session.Close() })
	return session, logins, nil
}

// describeLogGroups calls a CloudWatch tool and checks its answer.
func describeLogGroups(t testing.TB, s *mcp.ClientSession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "describe_log_groups", Arguments: map[string]any{}})
	if err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError || !strings.Contains(text, "/aws/lambda/checkout") {
		t.Fatalf("describe_log_groups: isError=%v %s", res.IsError, text)
	}
}

// wantSignedBy checks that every DescribeLogGroups call since the last
// ResetCalls was signed with credentials vended (AssumeRole) for user.
func wantSignedBy(t testing.TB, users ...string) map[string]string {
	t.Helper()
	calls := fake.Calls("DescribeLogGroups")
	if len(calls) < len(users) {
		t.Fatalf("%d DescribeLogGroups calls, want at least %d", len(calls), len(users))
	}
	keyOf := map[string]string{}
	for _, c := range calls {
		sess, ok := fake.Session(c.AccessKeyID)
		if !c.Signed || !ok || sess.Op != "AssumeRole" || sess.RoleARN != roleARN || sess.Owner != c.Owner {
			t.Fatalf("call not signed with a key vended for its user: %+v (session %+v)", c, sess)
		}
		if c.AccessKeyID == serverAKID {
			t.Fatal("a tool call was signed with the server's own key")
		}
		keyOf[c.Owner] = c.AccessKeyID
	}
	bySub := map[string]string{}
	for _, u := range users {
		// assume_role names the session (and its owner) after the issuer
		// and sub (internal/awsname).
		key := keyOf[awsname.Session(cognito.URL(), cognito.Sub(u))]
		if key == "" {
			t.Fatalf("no call signed for %s (%s): %v", u, cognito.Sub(u), keyOf)
		}
		bySub[cognito.Sub(u)] = key
	}
	return bySub
}
