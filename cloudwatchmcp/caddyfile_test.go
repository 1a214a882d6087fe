package cloudwatchmcp

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cloudwatch_mcp {
		region eu-west-1
		credentials request_or_default
		stateless
		session_idle_timeout 10m
		allowed_hosts mcp.example.com *.internal.example.com:8443
		allowed_origins https://app.example.org
		tools ` + testToolGroup + `
		metric_metadata /etc/caddy/metrics.json
		max_query_timeout 90s
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := Handler{
		Region:             "eu-west-1",
		Credentials:        "request_or_default",
		Stateless:          true,
		SessionIdleTimeout: caddy.Duration(10 * time.Minute),
		AllowedHosts:       []string{"mcp.example.com", "*.internal.example.com:8443"},
		AllowedOrigins:     []string{"https://app.example.org"},
		Tools:              []string{testToolGroup},
		MetricMetadata:     "/etc/caddy/metrics.json",
		MaxQueryTimeout:    caddy.Duration(90 * time.Second),
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got  %+v\nwant %+v", h, want)
	}

	var empty Handler
	if err := empty.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`cloudwatch_mcp`)); err != nil {
		t.Fatal(err)
	}
	var placeholder Handler
	if err := placeholder.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`cloudwatch_mcp {
		region {env.AWS_REGION}
	}`)); err != nil {
		t.Fatalf("placeholders are resolved at provision: %v", err)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	for name, c := range map[string]struct{ input, msg string }{
		"directive args": {"cloudwatch_mcp /mcp", "wrong argument count"},
		"unknown option": {"cloudwatch_mcp {\n\tbogus 1\n}", `unrecognized cloudwatch_mcp option "bogus"`},
		"bad region":     {"cloudwatch_mcp {\n\tregion EU\n}", "is not an AWS region"},
		"made-up region": {"cloudwatch_mcp {\n\tregion za-aa-1\n}", `region "za-aa-1" is not an AWS region (known: `},
		"account region": {"cloudwatch_mcp {\n\taccount prod arn:aws:iam::123456789012:role/r za-aa-1\n}", `region "za-aa-1" is not an AWS region`},
		"authorize tool": {"cloudwatch_mcp {\n\tauthorize describe_log_group {\n\t\tscopes logs:read\n\t}\n}", `unknown tool or group "describe_log_group"`},
		"bad mode":       {"cloudwatch_mcp {\n\tcredentials server\n}", "credentials must be"},
		"mode args":      {"cloudwatch_mcp {\n\tcredentials\n}", "wrong argument count"},
		"stateless arg":  {"cloudwatch_mcp {\n\tstateless yes\n}", "wrong argument count"},
		"bad duration":   {"cloudwatch_mcp {\n\tsession_idle_timeout soon\n}", "session_idle_timeout"},
		"zero duration":  {"cloudwatch_mcp {\n\tmax_query_timeout 0s\n}", "must be positive"},
		"no hosts":       {"cloudwatch_mcp {\n\tallowed_hosts\n}", "wrong argument count"},
		"bad host":       {"cloudwatch_mcp {\n\tallowed_hosts https://x/\n}", "not a host name"},
		"bad origin":     {"cloudwatch_mcp {\n\tallowed_origins app.example.org\n}", "not an origin"},
		"unknown group":  {"cloudwatch_mcp {\n\ttools logz\n}", `unknown tool group "logz"`},
		"metadata args":  {"cloudwatch_mcp {\n\tmetric_metadata a b\n}", "wrong argument count"},
	} {
		t.Run(name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q lacks %q", err, c.msg)
			}
			// Errors point at the offending line.
			line := "Testfile:2"
			if !strings.Contains(c.input, "\n") {
				line = "Testfile:1"
			}
			if !strings.Contains(err.Error(), line) {
				t.Fatalf("error %q has no file:line", err)
			}
		})
	}
}
