package caddyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestExamplesAdapt keeps every Caddyfile under examples/ valid: each must
// adapt with its defaults and produce both handlers where it uses them.
func TestExamplesAdapt(t *testing.T) {
	files, _ := filepath.Glob("../examples/*Caddyfile")
	demo, _ := filepath.Glob("../examples/demo/Caddyfile")
	files = append(files, demo...)
	if len(files) < 5 {
		t.Fatalf("expected the example Caddyfiles, found %v", files)
	}
	t.Setenv("DEMO_PORT", "8080")
	t.Setenv("DEMO_ADMIN_PORT", "2019")
	t.Setenv("DEMO_STORAGE", t.TempDir())
	t.Setenv("DEMO_ISSUER", "http://127.0.0.1:1")
	t.Setenv("DEMO_ROLE", "arn:aws:iam::123456789012:role/demo")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": f})
			if err != nil {
				t.Fatalf("%s does not adapt: %v", f, err)
			}
			for _, w := range warnings {
				t.Errorf("%s: warning %s", f, w)
			}
			for _, h := range []string{"cognito_auth", "cloudwatch_mcp"} {
				if strings.Contains(string(raw), "\t"+h) && !strings.Contains(string(out), `"handler":"`+h+`"`) {
					t.Errorf("%s uses %s but the adapted config lacks it", f, h)
				}
			}
		})
	}
}
