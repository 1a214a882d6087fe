package cloudwatchmcp

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

var caddyfileErrAt = regexp.MustCompile(`Testfile:\d+`)

// FuzzUnmarshalCaddyfile parses arbitrary cloudwatch_mcp blocks: no panic,
// every error names file and line, and an accepted block survives the JSON
// round trip of caddy adapt and passes Validate unless a placeholder is
// involved (resolved only at provision).
//
//	go test ./cloudwatchmcp/ -run '^$' -fuzz '^FuzzUnmarshalCaddyfile$' -fuzztime 10m
func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{
		"cloudwatch_mcp",
		`cloudwatch_mcp {
	region eu-west-1
	credentials request_or_default
	stateless
	session_idle_timeout 10m
	allowed_hosts mcp.example.com *.internal.example.com:8443
	allowed_origins https://app.example.org
	tools logs metrics alarms promql
	metric_metadata /etc/caddy/metrics.json
	max_query_timeout 90s
}`,
		"cloudwatch_mcp {\n\tregion {env.AWS_REGION}\n}",
		"cloudwatch_mcp /mcp",
		"cloudwatch_mcp {\n\tregion EU\n}",
		"cloudwatch_mcp {\n\tcredentials server\n}",
		"cloudwatch_mcp {\n\tstateless yes\n}",
		"cloudwatch_mcp {\n\tsession_idle_timeout 0s\n}",
		"cloudwatch_mcp {\n\tmax_query_timeout -1m\n}",
		"cloudwatch_mcp {\n\tallowed_hosts a/b\n}",
		"cloudwatch_mcp {\n\tallowed_hosts [::1]:8080 LOCALHOST\n}",
		"cloudwatch_mcp {\n\tallowed_origins https://a.example/path\n}",
		"cloudwatch_mcp {\n\tallowed_origins http://[::1]:3000 https://x.example:443/\n}",
		"cloudwatch_mcp {\n\ttools nope\n}",
		"cloudwatch_mcp {\n\ttools\n}",
		"cloudwatch_mcp {\n\tbogus 1\n}",
		"cloudwatch_mcp {\n\tregion us-east-1 {\n\t}\n}",
		"cloudwatch_mcp {\n\tsession_idle_timeout 1d\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// Caddy calls UnmarshalCaddyfile only with the directive's tokens,
		// its name first; NewTestDispenser would log.Fatal on a lexer error.
		tokens, err := caddyfile.Tokenize([]byte(input), "Testfile")
		if err != nil || len(tokens) == 0 || tokens[0].Text != "cloudwatch_mcp" {
			return
		}
		var h Handler
		err = h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		if err != nil {
			if !caddyfileErrAt.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		b, err := json.Marshal(&h)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Handler
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if b2, _ := json.Marshal(&back); string(b2) != string(b) {
			t.Fatalf("JSON round trip changed the config:\n%s\n%s", b, b2)
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("the Caddyfile parser accepted a config Validate refuses: %v\n%s", err, b)
		}
		if _, err := newRebindingGuard(h.AllowedHosts, h.AllowedOrigins); err != nil {
			t.Fatalf("accepted allowed_hosts/origins that provisioning refuses: %v", err)
		}
	})
}
