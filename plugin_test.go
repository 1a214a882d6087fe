package caddycloudwatchmcp

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

type manifest struct {
	Name          string `json:"name"`
	GoModule      string `json:"go_module"`
	Compatibility struct {
		Caddy string `json:"caddy"`
		Go    string `json:"go"`
	} `json:"compatibility"`
	Build   string `json:"build"`
	Modules []struct {
		ID        string `json:"id"`
		Directive string `json:"directive"`
		Package   string `json:"package"`
	} `json:"modules"`
}

// minimalBody is the smallest valid block of each directive.
var minimalBody = map[string]string{
	"cognito_auth": "issuer https://id.example.com\n\t\taudiences https://mcp.example.com/mcp",
}

// TestManifestMatchesCode keeps xcaddy.json honest: every module it lists is
// registered with Caddy from the package it names, every directive adapts to
// that module, and the versions agree with go.mod.
func TestManifestMatchesCode(t *testing.T) {
	raw, err := os.ReadFile("xcaddy.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := "module " + m.GoModule + "\n"; !strings.HasPrefix(string(gomod), want) {
		t.Errorf("go_module %q is not go.mod's module", m.GoModule)
	}
	caddyReq := regexp.MustCompile(`github.com/caddyserver/caddy/v2 (v\S+)`).FindStringSubmatch(string(gomod))
	if caddyReq == nil || caddyReq[1] != m.Compatibility.Caddy {
		t.Errorf("compatibility.caddy %q differs from go.mod's %v", m.Compatibility.Caddy, caddyReq)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if goVer == nil || goVer[1] != m.Compatibility.Go {
		t.Errorf("compatibility.go %q differs from go.mod's %v", m.Compatibility.Go, goVer)
	}
	if !strings.Contains(m.Build, " "+m.Compatibility.Caddy+" ") || !strings.Contains(m.Build, m.GoModule+"@") {
		t.Errorf("build command %q does not build %s with caddy %s", m.Build, m.GoModule, m.Compatibility.Caddy)
	}
	if len(m.Modules) == 0 {
		t.Fatal("manifest lists no modules")
	}

	for _, mod := range m.Modules {
		info, err := caddy.GetModule(mod.ID)
		if err != nil {
			t.Errorf("module %s is not registered with Caddy: %v", mod.ID, err)
			continue
		}
		if pkg := reflect.TypeOf(info.New()).Elem().PkgPath(); pkg != mod.Package {
			t.Errorf("module %s comes from %s, manifest says %s", mod.ID, pkg, mod.Package)
		}
		// A directive is registered when a Caddyfile using it adapts to the
		// module's handler name.
		cf := "http://localhost {\n\t" + mod.Directive + " {\n\t\t" + minimalBody[mod.Directive] + "\n\t}\n}\n"
		out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
		if err != nil {
			t.Errorf("directive %s does not adapt: %v", mod.Directive, err)
			continue
		}
		name := strings.TrimPrefix(mod.ID, "http.handlers.")
		if !strings.Contains(string(out), `"handler":"`+name+`"`) {
			t.Errorf("directive %s does not produce handler %s: %s", mod.Directive, name, out)
		}
	}
}

// TestAllModulesInManifest fails when a module of ours is registered with
// Caddy but missing from the manifest.
func TestAllModulesInManifest(t *testing.T) {
	raw, _ := os.ReadFile("xcaddy.json")
	var m manifest
	_ = json.Unmarshal(raw, &m)
	listed := map[string]bool{}
	for _, mod := range m.Modules {
		listed[mod.ID] = true
	}
	for _, info := range caddy.GetModules("") {
		if strings.HasPrefix(reflect.TypeOf(info.New()).Elem().PkgPath(), m.GoModule+"/") && !listed[string(info.ID)] {
			t.Errorf("module %s is registered but not in xcaddy.json", info.ID)
		}
	}
}
