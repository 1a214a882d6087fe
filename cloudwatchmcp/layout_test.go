package cloudwatchmcp

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The arrows of ARCHITECTURE.md, checked on the production imports
// (test files excluded) of every package of this Go module:
//
//	cloudwatchmcp (the Caddy module) → tool groups → toolkit → catalog
//
// A tool group is any package directly under cloudwatchmcp/ other than
// toolkit and catalog, so a new group is held to the same rules; the
// prompts package sits at the same level (it names tools, never imports a
// group).

const modulePath = "github.com/mcpedge/caddy-cloudwatch-mcp"

// testKits are the packages only tests may use; any package that imports
// "testing" counts as one too.
var testKits = []string{
	modulePath + "/internal/mcptest",
	modulePath + "/internal/fakeaws",
	modulePath + "/internal/fakecognito",
	modulePath + "/internal/testissuer",
	modulePath + "/internal/loginbrowser",
	modulePath + "/internal/secretscan",
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// importGraph lists the module's packages with their production imports,
// keeping only imports of the module's own packages (and "testing").
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", modulePath+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, imp := range p.Imports {
			if imp == "testing" || strings.HasPrefix(imp, modulePath+"/") || imp == modulePath {
				own = append(own, imp)
			}
		}
		graph[p.ImportPath] = own
	}
	return graph
}

// deps returns every package of the module pkg imports, directly or not.
func deps(graph map[string][]string, pkg string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, imp := range graph[p] {
			if !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(pkg)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func TestPackageArrows(t *testing.T) {
	graph := importGraph(t)
	const (
		module  = modulePath + "/cloudwatchmcp"
		toolkit = module + "/toolkit"
		catalog = module + "/catalog"
		auth    = modulePath + "/cognitoauth"
	)
	var groups []string
	for p := range graph {
		if path.Dir(p) == module && p != toolkit && p != catalog {
			groups = append(groups, p)
		}
	}
	slices.Sort(groups)
	for _, want := range []string{"logs", "metrics", "alarms", "promql", "prompts"} {
		if !slices.Contains(groups, module+"/"+want) {
			t.Errorf("no tool group %s (groups found: %v)", want, groups)
		}
	}
	under := func(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

	// Each package may import only what lies downstream of it.
	allowed := map[string][]string{
		catalog: nil,
		toolkit: {catalog},
		module:  append([]string{toolkit, catalog}, groups...),
	}
	for _, g := range groups {
		allowed[g] = []string{toolkit, catalog}
	}
	for pkg, ok := range allowed {
		for _, d := range deps(graph, pkg) {
			if under(d, module) && !slices.Contains(ok, d) {
				t.Errorf("%s imports %s: the arrows run module → tool groups → toolkit → catalog (ARCHITECTURE.md)", pkg, d)
			}
		}
	}
	// The module serves every group: it imports each one explicitly.
	for _, g := range groups {
		if !slices.Contains(graph[module], g) {
			t.Errorf("the module does not import the tool group %s", g)
		}
	}

	// cognito_auth and cloudwatch_mcp meet only through request vars and
	// placeholders.
	for pkg := range graph {
		for _, d := range deps(graph, pkg) {
			if under(pkg, auth) && under(d, module) || under(pkg, module) && under(d, auth) {
				t.Errorf("%s imports %s: cognitoauth and cloudwatchmcp never import each other", pkg, d)
			}
		}
	}

	// Production code (what the plugin builds) never imports a test kit.
	for _, d := range append(deps(graph, modulePath), modulePath) {
		if slices.Contains(testKits, d) || slices.Contains(graph[d], "testing") {
			t.Errorf("the plugin's production code imports %s, which is test code", d)
		}
	}
	// The test kit stays below the module, so every package's tests can
	// use it.
	for _, d := range deps(graph, modulePath+"/internal/mcptest") {
		if d == module || slices.Contains(groups, d) {
			t.Errorf("internal/mcptest imports %s: tests of that package could not use the kit", d)
		}
	}
}
