package cognitoauth

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cognito_auth {
		user_pool us-east-1 us-east-1_Test123
		jwks_url https://keys.example.com/jwks.json
		client_ids a b
		client_ids c
		audiences https://mcp.example.com/mcp
		token_use any
		scopes openid mcp/tools
		groups admins ops
		leeway 45s
		resource https://mcp.example.com/mcp
		authorization_servers https://auth.example.com https://auth2.example.com
		enabled false
		cache_size 500
	}`)
	var m CognitoAuth
	if err := m.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	off := false
	want := CognitoAuth{
		Region: "us-east-1", UserPoolID: "us-east-1_Test123", JWKSURL: "https://keys.example.com/jwks.json",
		ClientIDs: []string{"a", "b", "c"}, Audiences: []string{"https://mcp.example.com/mcp"}, TokenUse: "any",
		Scopes: []string{"openid", "mcp/tools"}, Groups: []string{"admins", "ops"}, Leeway: caddy.Duration(45 * time.Second),
		Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{"https://auth.example.com", "https://auth2.example.com"},
		Enabled: &off, CacheSize: 500,
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}

	// The JSON form round-trips through Caddy's strict decoder, with the
	// embedded Vending fields promoted.
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back CognitoAuth
	if err := caddy.StrictUnmarshalJSON(raw, &back); err != nil {
		t.Fatalf("strict unmarshal of %s: %v", raw, err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip: %+v", back)
	}
	if strings.Contains(string(raw), "Vending") {
		t.Fatalf("Vending not promoted: %s", raw)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"none":            "cognito_auth {\n\tclient_ids a\n}",
		"both":            "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tissuer https://i.example.com\n}",
		"pool args":       "cognito_auth {\n\tuser_pool us-east-1\n}",
		"pool region":     "cognito_auth {\n\tuser_pool eu-west-1 us-east-1_X\n}",
		"issuer url":      "cognito_auth {\n\tissuer not-a-url\n}",
		"token_use":       "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\ttoken_use refresh\n}",
		"leeway":          "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tleeway soon\n}",
		"enabled":         "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tenabled maybe\n}",
		"unknown":         "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tfrobnicate yes\n}",
		"inline args":     "cognito_auth extra {\n\tuser_pool us-east-1 us-east-1_X\n}",
		"empty scopes":    "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tscopes\n}",
		"cache_size":      "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tcache_size lots\n}",
		"auth server url": "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tauthorization_servers ftp://x\n}",
		"two leeway args": "cognito_auth {\n\tuser_pool us-east-1 us-east-1_X\n\tleeway 1s 2s\n}",
	}
	for name, input := range cases {
		var m CognitoAuth
		err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%s: error without file:line: %v", name, err)
		}
	}
}
