package cognitoauth

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parseProxyBlock(body string) (*CognitoAuth, error) {
	var m CognitoAuth
	err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser("cognito_auth {\n\tissuer https://id.example.com\n\tresource https://mcp.example.com/mcp\n\toauth_proxy {\n" + body + "\n\t}\n}"))
	return &m, err
}

// Every option of the oauth_proxy block, as the README documents it.
func TestOAuthProxyCaddyfile(t *testing.T) {
	m, err := parseProxyBlock(`		client_id 5abc1234defgh
		client_secret {env.COGNITO_CLIENT_SECRET}
		authorize_url https://auth.example.com/oauth2/authorize
		token_url https://auth.example.com/oauth2/token
		scopes openid email https://mcp.example.com/mcp/tools.call
		redirect_uris https://claude.ai/api/mcp/auth_callback cursor://anysphere.cursor-mcp/oauth/callback
		forward_resource
		key {env.MCP_OAUTH_KEY}
		previous_keys ` + testSealingKey + `
		rate_limit 20 1m burst 10`)
	if err != nil {
		t.Fatal(err)
	}
	want := &OAuthProxy{
		ClientID:        "5abc1234defgh",
		ClientSecret:    "{env.COGNITO_CLIENT_SECRET}",
		AuthorizeURL:    "https://auth.example.com/oauth2/authorize",
		TokenURL:        "https://auth.example.com/oauth2/token",
		Scopes:          []string{"openid", "email", "https://mcp.example.com/mcp/tools.call"},
		RedirectURIs:    []string{"https://claude.ai/api/mcp/auth_callback", "cursor://anysphere.cursor-mcp/oauth/callback"},
		ForwardResource: true,
		Key:             "{env.MCP_OAUTH_KEY}",
		PreviousKeys:    []string{testSealingKey},
		RateLimit:       &RateLimit{Requests: 20, Window: caddy.Duration(time.Minute), Burst: 10},
	}
	if !reflect.DeepEqual(m.OAuthProxy, want) {
		t.Fatalf("got %+v\nwant %+v", m.OAuthProxy, want)
	}

	m, err = parseProxyBlock("\t\tclient_id abc\n\t\trate_limit off\n\t\tforward_resource false")
	if err != nil || !m.OAuthProxy.NoRateLimit || m.OAuthProxy.RateLimit != nil || m.OAuthProxy.ForwardResource {
		t.Fatalf("rate_limit off: %+v %v", m.OAuthProxy, err)
	}
}

// Mistakes are reported with the file and the line that has them, so
// `caddy adapt` and `caddy validate` point at them.
func TestOAuthProxyCaddyfileErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body, want string
		line       int
	}{
		"rate_limit word":    {"\t\tclient_id abc\n\t\trate_limit sometimes", `"sometimes" is neither off nor`, 6},
		"rate_limit zero":    {"\t\tclient_id abc\n\t\trate_limit 0 1m", "requests must be a positive integer", 6},
		"rate_limit window":  {"\t\tclient_id abc\n\t\trate_limit 10 1ms", "window must be between 1s and 24h", 6},
		"rate_limit burst":   {"\t\tclient_id abc\n\t\trate_limit 10 1m bust 5", `unexpected "bust"`, 6},
		"rate_limit no args": {"\t\tclient_id abc\n\t\trate_limit", "wrong argument count", 6},
		"no client_id":       {"\t\trate_limit off", "client_id is required", 4},
		"unknown option":     {"\t\tclient_id abc\n\t\trate_limits 10 1m", `unrecognized oauth_proxy subdirective "rate_limits"`, 6},
		"http redirect":      {"\t\tclient_id abc\n\t\tredirect_uris http://example.com/cb", "only for loopback", 6},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseProxyBlock(tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if want := "Testfile:" + strconv.Itoa(tc.line); !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v does not point at %s", err, want)
			}
		})
	}
}
