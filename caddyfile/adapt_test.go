package caddyfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the JSON half of the golden files")

// TestAdapt pins the Caddyfile → JSON mapping with golden files in the
// format of Caddy's own caddyfile_adapt tests: a Caddyfile, a line of ten
// dashes, then either the expected JSON or a substring of the expected
// adapt error (which must name the file and line).
func TestAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.SplitN(string(data), "----------", 2)
			if len(parts) != 2 {
				t.Fatalf("%s: missing ---------- separator", file)
			}
			cf, expected := strings.TrimSpace(parts[0])+"\n", strings.TrimSpace(parts[1])
			if strings.HasPrefix(expected, "{") || *update && !strings.HasPrefix(expected, "ERR ") {
				if *update {
					out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
					if err != nil {
						t.Fatalf("adapt: %v", err)
					}
					var pretty bytes.Buffer
					if err := json.Indent(&pretty, out, "", "\t"); err != nil {
						t.Fatal(err)
					}
					_ = os.WriteFile(file, []byte(strings.TrimSpace(parts[0])+"\n----------\n"+pretty.String()+"\n"), 0o644)
					return
				}
				if !caddytest.CompareAdapt(t, file, cf, "caddyfile", expected) {
					t.Errorf("golden mismatch in %s (run go test ./caddyfile -update to review)", file)
				}
				return
			}
			want := strings.TrimPrefix(expected, "ERR ")
			_, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			if err == nil {
				t.Fatalf("expected an adapt error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not contain %q", err, want)
			}
		})
	}
}
