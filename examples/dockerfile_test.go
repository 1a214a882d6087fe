package examples

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM ... block.
type stage struct {
	from  instruction
	insts []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur *instruction
	var text strings.Builder
	flush := func() {
		if cur == nil {
			return
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(text.String()), " ")
		cur.cmd, cur.args = strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")
		if cur.cmd == "FROM" {
			stages = append(stages, stage{from: *cur})
		} else if len(stages) > 0 {
			stages[len(stages)-1].insts = append(stages[len(stages)-1].insts, *cur)
		} else if cur.cmd != "ARG" {
			t.Fatalf("%s:%d: %s before the first FROM", path, cur.line, cur.cmd)
		}
		cur = nil
		text.Reset()
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur == nil) {
			continue // comments may sit inside a continued instruction too
		}
		if cur == nil {
			cur = &instruction{line: n}
		}
		body, continued := strings.CutSuffix(line, "\\")
		text.WriteString(body + " ")
		if !continued {
			flush()
		}
	}
	flush()
	if len(stages) == 0 {
		t.Fatalf("%s has no FROM", path)
	}
	return stages
}

var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`)

// TestDockerfile checks examples/Dockerfile statically (CI has no Docker
// engine): reproducible bases, no toolchain download, no root at run time,
// and a build that validates the Caddyfile with every setting it requires.
func TestDockerfile(t *testing.T) {
	const path = "Dockerfile"
	stages := parseDockerfile(t, path)

	for _, s := range stages {
		image := strings.Fields(s.from.args)[0]
		if !pinnedImage.MatchString(image) {
			t.Errorf("%s:%d: FROM %s: pin the base image by digest (image:tag@sha256:...)", path, s.from.line, image)
		}
	}

	toolchainLocal := false
	for _, s := range stages {
		for _, in := range s.insts {
			if strings.Contains(in.args, "GOTOOLCHAIN=auto") || regexp.MustCompile(`GOTOOLCHAIN=go\d`).MatchString(in.args) {
				t.Errorf("%s:%d: %s %s lets the go command download a toolchain during the build", path, in.line, in.cmd, in.args)
			}
			if in.cmd == "ENV" && strings.Contains(in.args, "GOTOOLCHAIN=local") {
				toolchainLocal = true
			}
			if in.cmd == "RUN" && (strings.Contains(in.args, "go ") || strings.Contains(in.args, "xcaddy ")) && !toolchainLocal {
				t.Errorf("%s:%d: go runs before ENV GOTOOLCHAIN=local", path, in.line)
			}
		}
	}
	if !toolchainLocal {
		t.Errorf("%s: no ENV GOTOOLCHAIN=local in the build stage", path)
	}

	final := stages[len(stages)-1]
	user := ""
	validated := false
	copied := false
	args := map[string]bool{}
	for _, in := range final.insts {
		switch in.cmd {
		case "USER":
			user = in.args
		case "COPY":
			if strings.HasSuffix(in.args, "examples/Caddyfile /etc/caddy/Caddyfile") {
				copied = true
			}
		case "ARG":
			name, _, hasDefault := strings.Cut(in.args, "=")
			if hasDefault {
				t.Errorf("%s:%d: ARG %s has a default; a required setting must fail the build when missing", path, in.line, name)
			}
			args[name] = true
		case "RUN":
			if !strings.Contains(in.args, "caddy validate") {
				continue
			}
			if !strings.Contains(in.args, "--config /etc/caddy/Caddyfile") {
				t.Errorf("%s:%d: caddy validate does not check /etc/caddy/Caddyfile, the file the image runs", path, in.line)
			}
			if !copied {
				t.Errorf("%s:%d: caddy validate runs before examples/Caddyfile is copied in", path, in.line)
			}
			if isRoot(user) {
				t.Errorf("%s:%d: caddy validate runs as root; validate as the user that will run Caddy", path, in.line)
			}
			for _, name := range requiredSettings(t) {
				if !args[name] {
					t.Errorf("%s:%d: examples/Caddyfile requires %s, but no ARG %s precedes the validation", path, in.line, name, name)
				}
			}
			validated = true
		}
	}
	if !validated {
		t.Errorf("%s: the final stage never runs caddy validate", path)
	}
	if isRoot(user) {
		t.Errorf("%s: the image runs as root (USER %q); add an unprivileged USER", path, user)
	}
}

// isRoot reports whether a USER value (user[:group], or "" for the
// default) means root.
func isRoot(user string) bool {
	name, group, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0" || group == "root" || group == "0"
}

// requiredSettings lists the {$VAR}s examples/Caddyfile reads without a
// default.
func requiredSettings(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var names []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range regexp.MustCompile(`\{\$([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(line, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				names = append(names, m[1])
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("examples/Caddyfile requires no setting; the Dockerfile check would be vacuous")
	}
	return names
}

// TestDockerignore: the build context (the repository root) leaves out the
// Git history, a locally built ./caddy and node_modules.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf("the Dockerfile's build context has no .dockerignore: %v", err)
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			have[line] = true
		}
	}
	for _, want := range [][]string{{".git", "/.git"}, {"/caddy", "caddy"}, {"**/node_modules", "node_modules"}} {
		if !have[want[0]] && !have[want[1]] {
			t.Errorf(".dockerignore does not exclude %s", want[0])
		}
	}
	if have["!.git"] || have["!/caddy"] {
		t.Error(".dockerignore re-includes what it excludes")
	}
}
