package buildinfo

import (
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// checkoutBuild is `go version -m` of Caddy built by
// `xcaddy build v2.11.9 --with github.com/mcpedge/caddy-cloudwatch-mcp@v0.0.0-00010101000000-000000000000=<checkout>`
// (.ci/run's build), its dependency list trimmed to the lines that matter.
func checkoutBuild(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/xcaddy-checkout.txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parse(t *testing.T, text string) *debug.BuildInfo {
	t.Helper()
	bi, err := debug.ParseBuildInfo(text)
	if err != nil {
		t.Fatalf("parsing build info: %v\n%s", err, text)
	}
	return bi
}

func TestFromBuildInfo(t *testing.T) {
	checkout := checkoutBuild(t)
	const placeholder = "v0.0.0-00010101000000-000000000000"
	if !strings.Contains(checkout, placeholder) {
		t.Fatal("testdata no longer has the placeholder version xcaddy is given")
	}
	// xcaddy build --with github.com/mcpedge/caddy-cloudwatch-mcp@v0.3.0:
	// the module comes from the proxy, no replacement.
	release := regexp.MustCompile(`(?m)^dep\tgithub.com/mcpedge/caddy-cloudwatch-mcp\t.*\n=>.*\n`).
		ReplaceAllString(checkout, "dep\tgithub.com/mcpedge/caddy-cloudwatch-mcp\tv0.3.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	// --with github.com/mcpedge/caddy-cloudwatch-mcp=github.com/acme/fork@v0.3.1
	fork := strings.Replace(checkout, "=>\t/src/caddy-cloudwatch-mcp\t(devel)\t",
		"=>\tgithub.com/acme/fork\tv0.3.1\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1)
	// go build inside this repository: the module is the main module.
	mainModule := "go\tgo1.26.8\npath\tgithub.com/mcpedge/caddy-cloudwatch-mcp/examples/demo\nmod\tgithub.com/mcpedge/caddy-cloudwatch-mcp\tv0.3.1-0.20261204101500-0123456789ab+dirty\t\n"
	develMain := "go\tgo1.26.8\npath\tgithub.com/mcpedge/caddy-cloudwatch-mcp/examples/demo\nmod\tgithub.com/mcpedge/caddy-cloudwatch-mcp\t(devel)\t\n"
	// Some other program that does not contain the module at all.
	other := "go\tgo1.26.8\npath\texample.com/x\nmod\texample.com/x\t(devel)\t\n"

	for _, tc := range []struct {
		name, text, want string
	}{
		{"xcaddy from a checkout", checkout, Devel},
		{"xcaddy of a release", release, "v0.3.0"},
		{"xcaddy of a fork", fork, "v0.3.1"},
		{"built in the repository with a VCS stamp", mainModule, "v0.3.1-0.20261204101500-0123456789ab+dirty"},
		{"built in the repository without a stamp", develMain, Devel},
		{"module absent", other, Devel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromBuildInfo(parse(t, tc.text), true); got != tc.want {
				t.Errorf("FromBuildInfo = %q, want %q", got, tc.want)
			}
		})
	}
	if got := FromBuildInfo(nil, false); got != Devel {
		t.Errorf("without build info: %q, want %q", got, Devel)
	}
}

// TestVersionOfThisBinary reads the real build information of the test
// binary, whose main module is this repository.
func TestVersionOfThisBinary(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("test binary built without build information")
	}
	if bi.Main.Path != ModulePath {
		t.Fatalf("main module of the test binary = %q, want %q", bi.Main.Path, ModulePath)
	}
	if got, want := Version(), FromBuildInfo(bi, ok); got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
	if v := Version(); v != Devel && !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(v) {
		t.Errorf("Version() = %q, neither %s nor a module version", v, Devel)
	}
}
