package docs

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const root = "../.."

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// heading is one Markdown heading outside code blocks.
type heading struct {
	level int
	text  string
	line  int
}

// block is one fenced code block.
type block struct {
	lang, body string
	line       int // of the opening fence
}

// parse splits a Markdown document into its headings and fenced blocks.
func parse(doc string) (hs []heading, bs []block) {
	var cur *block
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if cur == nil {
				cur = &block{lang: strings.TrimPrefix(trimmed, "```"), line: i + 1}
			} else {
				bs = append(bs, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.body += line + "\n"
			continue
		}
		if m := regexp.MustCompile(`^(#{1,6}) (.+)$`).FindStringSubmatch(line); m != nil {
			hs = append(hs, heading{level: len(m[1]), text: m[2], line: i + 1})
		}
	}
	return hs, bs
}

// The README's two quick-start commands: build and run the demo with no
// AWS account, and run the tests. CI runs both (.ci/run); they must stay
// exactly these and come first.
const (
	demoCommand = `go install github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5 && "$(go env GOPATH)/bin/xcaddy" build v2.11.9 --with github.com/mcpedge/caddy-cloudwatch-mcp@v0.0.0-00010101000000-000000000000=. && go run ./examples/demo`
	testCommand = `go vet ./... && go test -race ./...`
)

func TestReadmeQuickStartComesFirst(t *testing.T) {
	readme := read(t, "README.md")
	hs, bs := parse(readme)
	var h2 []heading
	for _, h := range hs {
		if h.level == 2 {
			h2 = append(h2, h)
		}
	}
	if len(h2) == 0 || h2[0].text != "Quick start" {
		t.Fatalf("the README's first section must be Quick start, got %v", h2)
	}
	var sh []block
	for _, b := range bs {
		if b.line > h2[0].line && b.lang == "sh" {
			sh = append(sh, b)
		}
	}
	if len(sh) < 2 || strings.TrimSpace(sh[0].body) != demoCommand || strings.TrimSpace(sh[1].body) != testCommand {
		t.Fatalf("the first two commands of the quick start changed; they must be exactly\n%s\n%s", demoCommand, testCommand)
	}
	ci := read(t, ".ci/run")
	for _, want := range []string{"go vet ./...", "go test -race", "xcaddy build v2.11.9", "go run ./examples/demo -check"} {
		if !strings.Contains(ci, want) {
			t.Errorf(".ci/run no longer runs %q from the quick start", want)
		}
	}
}

// TestReadmeOrder: the README reads in the order a user needs it.
func TestReadmeOrder(t *testing.T) {
	hs, _ := parse(read(t, "README.md"))
	want := []string{"Quick start", "Connect your client", "AWS setup", "Caddyfile reference", "Operations", "Security"}
	var got []string
	for _, h := range hs {
		if h.level == 2 && slices.Contains(want, h.text) {
			got = append(got, h.text)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("README sections in order %v, want %v", got, want)
	}
	for _, sub := range []string{"Trust Caddy's local CA", "IAM policy per tool group", "Trust policy per vending mode",
		"Metrics", "Audit trail", "Logs", "Health checks", "Reloads", "Sizing and scaling out"} {
		if !slices.ContainsFunc(hs, func(h heading) bool { return h.level == 3 && h.text == sub }) {
			t.Errorf("README has no section %q", sub)
		}
	}
}

// TestUserDocsAreNotAChangelog: the README and docs/ describe the product
// as it is; what changed when belongs in CHANGELOG.md.
func TestUserDocsAreNotAChangelog(t *testing.T) {
	changelogish := regexp.MustCompile(`(?i)\b(also new|new in v?\d|feature comparison rows|\(issue \d+\)|issue \d+[:)])`)
	files := []string{"README.md"}
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	for _, f := range files {
		for i, line := range strings.Split(read(t, f), "\n") {
			if m := changelogish.FindString(line); m != "" {
				t.Errorf("%s:%d: %q reads like a changelog entry; say it where it belongs, and in CHANGELOG.md", f, i+1, m)
			}
		}
	}
}

// TestChangelogFormat: Keep a Changelog, newest first, an Unreleased
// section on top.
func TestChangelogFormat(t *testing.T) {
	hs, _ := parse(read(t, "CHANGELOG.md"))
	var versions []string
	for _, h := range hs {
		if h.level == 2 {
			versions = append(versions, h.text)
		}
	}
	if len(versions) < 2 || versions[0] != "[Unreleased]" {
		t.Fatalf("CHANGELOG.md sections %v: want [Unreleased] first, then released versions", versions)
	}
	release := regexp.MustCompile(`^\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}$`)
	for _, v := range versions[1:] {
		if !release.MatchString(v) {
			t.Errorf("CHANGELOG.md section %q: want [X.Y.Z] - YYYY-MM-DD", v)
		}
	}
	sections := map[string]bool{"Added": true, "Changed": true, "Deprecated": true, "Removed": true, "Fixed": true, "Security": true}
	for _, h := range hs {
		if h.level == 3 && !sections[h.text] {
			t.Errorf("CHANGELOG.md:%d: %q is not a Keep a Changelog section", h.line, h.text)
		}
	}
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinksResolve: relative links point at files that exist and
// anchors at headings that exist.
func TestDocLinksResolve(t *testing.T) {
	files := []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "SECURITY.md", "ARCHITECTURE.md"}
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	for _, f := range files {
		doc := read(t, f)
		hs, _ := parse(doc)
		anchors := map[string]bool{}
		for _, h := range hs {
			anchors[slug(h.text)] = true
		}
		for _, m := range linkRE.FindAllStringSubmatch(doc, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			if path == "" {
				if !anchors[anchor] {
					t.Errorf("%s: link to #%s, but no heading has that anchor", f, anchor)
				}
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(f), path)); err != nil {
				t.Errorf("%s: link to %s: %v", f, target, err)
			}
		}
	}
}

// slug is GitHub's heading anchor: lower case, punctuation dropped,
// spaces to hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestReadmePoliciesMatchTemplate: the per-tool-group policies in the
// README grant together exactly what the CloudFormation template grants
// (whose policies the examples/cloudformation tests check against the
// code), and Logs Insights never on every log group.
func TestReadmePoliciesMatchTemplate(t *testing.T) {
	readme := read(t, "README.md")
	hs, bs := parse(readme)
	start, end := 0, 0
	for i, h := range hs {
		if h.text == "IAM policy per tool group" {
			start = h.line
			if i+1 < len(hs) {
				end = hs[i+1].line
			}
		}
	}
	if start == 0 {
		t.Fatal("README has no IAM policy per tool group section")
	}
	documented := map[string]bool{}
	n := 0
	for _, b := range bs {
		if b.lang != "json" || b.line < start || end > 0 && b.line > end {
			continue
		}
		n++
		for _, st := range policyStatements(t, []byte(b.body), "README policy at line "+strconv.Itoa(b.line)) {
			for _, a := range st.actions {
				documented[a] = true
				if (a == "logs:StartQuery" || a == "logs:GetQueryResults") && st.resource == "*" {
					t.Errorf("README policy at line %d grants %s on every log group", b.line, a)
				}
			}
		}
	}
	if n < 4 {
		t.Fatalf("found %d policies in the IAM policy per tool group section, want one per tool group", n)
	}

	var tpl struct {
		Resources map[string]struct {
			Properties struct {
				PolicyDocument json.RawMessage
			}
		}
	}
	if err := json.Unmarshal([]byte(read(t, "examples/cloudformation/template.json")), &tpl); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, name := range []string{"CloudWatchReadPolicy", "AccountChainingPolicy"} {
		for _, st := range policyStatements(t, tpl.Resources[name].Properties.PolicyDocument, name) {
			for _, a := range st.actions {
				granted[a] = true
			}
		}
	}
	if got, want := slices.Sorted(maps.Keys(documented)), slices.Sorted(maps.Keys(granted)); !slices.Equal(got, want) {
		t.Errorf("README tool group policies grant %v,\nthe template (checked against the code) %v", got, want)
	}
}

type stmt struct {
	actions  []string
	resource any
}

func policyStatements(t *testing.T, raw []byte, where string) []stmt {
	t.Helper()
	var doc struct {
		Statement []struct {
			Action   any
			Resource any
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var out []stmt
	for _, s := range doc.Statement {
		st := stmt{resource: s.Resource}
		switch a := s.Action.(type) {
		case string:
			st.actions = []string{a}
		case []any:
			for _, x := range a {
				st.actions = append(st.actions, x.(string))
			}
		}
		out = append(out, st)
	}
	return out
}
