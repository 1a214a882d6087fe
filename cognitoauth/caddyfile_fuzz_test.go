package cognitoauth

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// caddyfileErrAt is how d.Err/d.Errf/d.ArgErr point at the input.
var caddyfileErrAt = regexp.MustCompile(`Testfile:\d+`)

// FuzzUnmarshalCaddyfile parses arbitrary cognito_auth blocks. Parsing
// must never panic, every error must name the file and line, and whatever
// parses must survive the JSON round trip Caddy performs when it adapts a
// Caddyfile (so no option is silently lost on the way to the config).
//
//	go test ./cognitoauth/ -run '^$' -fuzz '^FuzzUnmarshalCaddyfile$' -fuzztime 10m
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{
		"cognito_auth {\n\tuser_pool us-east-1 us-east-1_Test123\n\tclient_ids a b\n}",
		`cognito_auth {
	user_pool us-east-1 us-east-1_Test123
	jwks_url https://keys.example.com/jwks.json
	client_ids a b
	audiences https://mcp.example.com/mcp
	token_use any
	scopes openid mcp/tools
	groups admins ops
	leeway 45s
	resource https://mcp.example.com/mcp
	authorization_servers https://auth.example.com
	enabled false
	cache_size 500
}`,
		"cognito_auth {\n\tissuer https://idp.example.com\n\taudiences api\n\trole_arn arn:aws:iam::123456789012:role/r\n\tsession_duration 1h\n}",
		`cognito_auth {
	user_pool us-east-1 us-east-1_Test123
	identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11 {
		developer_provider login.mcp.example
		custom_role_arn arn:aws:iam::123456789012:role/path/mcp-users
	}
	refresh_before 10m
	aws_region us-east-1
	credentials_cache_size 500
	exchange_timeout 3s
}`,
		"cognito_auth {\n\tissuer https://idp.example.com\n\taudiences api\n\tidentity_center arn:aws:sso::123456789012:application/ssoins-1/apl-1 123456789012 Readers\n}",
		"cognito_auth {\n\tissuer https://idp.example.com\n\tassume_role arn:aws:iam::123456789012:role/r\n}",
		"cognito_auth",
		"cognito_auth /mcp",
		"cognito_auth {\n}",
		"cognito_auth {\n\tuser_pool us-east-1\n}",
		"cognito_auth {\n\tuser_pool a b\n\tissuer https://x\n}",
		"cognito_auth {\n\tissuer ftp://x\n}",
		"cognito_auth {\n\tissuer https://x\n\tleeway -1s\n}",
		"cognito_auth {\n\tissuer https://x\n\tcache_size 99999999999999999999\n}",
		"cognito_auth {\n\tissuer https://x\n\ttoken_use both\n}",
		"cognito_auth {\n\tissuer https://x\n\tenabled maybe\n}",
		"cognito_auth {\n\tissuer https://x\n\tbogus\n}",
		"cognito_auth {\n\tissuer https://x\n\tidentity_pool p {\n\t\tbogus 1\n\t}\n}",
		"cognito_auth {\n\tissuer {env.ISSUER}\n\taudiences {env.AUD}\n}",
		"cognito_auth {\n\tissuer https://x {\n\t}\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// Caddy calls UnmarshalCaddyfile only with the directive's tokens,
		// its name first; NewTestDispenser would log.Fatal on a lexer error.
		tokens, err := caddyfile.Tokenize([]byte(input), "Testfile")
		if err != nil || len(tokens) == 0 || tokens[0].Text != "cognito_auth" {
			return
		}
		var m CognitoAuth
		err = m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		if err != nil {
			if !caddyfileErrAt.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		if (m.UserPoolID == "") == (m.Issuer == "") {
			t.Fatalf("parsed without exactly one of user_pool and issuer: %+v", m)
		}
		b, err := json.Marshal(&m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back CognitoAuth
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !reflect.DeepEqual(exported(m), exported(back)) {
			t.Fatalf("JSON round trip changed the config:\n%+v\n%+v\n%s", m, back, b)
		}
		// Every check Provision makes without I/O is made by the parser,
		// with file:line: what parses also validates, after the JSON trip
		// the config takes through caddy adapt.
		if err := back.Validate(); err != nil {
			t.Fatalf("parsed, but Validate refuses it (caddy adapt would pass, caddy run fail): %v", err)
		}
	})
}

// exported re-encodes the JSON-visible fields for comparison.
func exported(m CognitoAuth) string {
	b, _ := json.Marshal(m)
	return string(b)
}
