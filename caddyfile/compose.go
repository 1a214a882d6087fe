package caddyfile

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cognitoauth"
)

// The composition check: cloudwatch_mcp with `credentials request` (the
// default) signs every AWS call with the credentials cognito_auth vends
// for the request. A cognito_auth without a vending mode, or with
// `enabled false`, vends none, so such a site starts and then fails every
// tool call. The modules never see each other, but their directives meet
// here, in the site block being adapted, so the mistake is refused at
// `caddy adapt` with the file and line of the cloudwatch_mcp.
//
// Which cognito_auth is "in front" follows the Caddyfile's structure
// without evaluating matchers: one in the same block or an enclosing one
// (handle, handle_path, route) is in front; one nested in a block at the
// same or an enclosing level may be (it runs for some requests); one in a
// sibling handle block is not. route blocks run inline, so they do not
// separate. The check errs only when there are candidates and none of them
// can vend (no false alarm for a config that might work), and warns when
// the site has no cognito_auth in front at all (another plugin could set
// the credentials var). Named routes and sites that invoke one are not
// warned about: the cognito_auth may be on the other side of the invoke.

// containers are the directives whose block holds further directives of
// the same route. handle_errors is left out: its routes serve errors, so
// nothing in them is in front of a handler.
var containers = map[string]bool{"route": true, "handle": true, "handle_path": true}

// token is a Caddyfile token as the check needs it.
type token struct {
	caddyfile.Token
	quoted bool
}

func (t token) brace(b string) bool { return !t.quoted && t.Text == b }

// directive is one directive of the site and the container it is in.
type directive struct {
	seg    []token
	parent *directive // nil at the site's top level
}

func (d *directive) name() string { return d.seg[0].Text }

// where is the directive's position for messages.
func (d *directive) where() string { return fmt.Sprintf("%s:%d", d.seg[0].File, d.seg[0].Line) }

// chain lists the containers a directive is in, outermost first, leaving
// out route blocks, which run inline.
func (d *directive) chain() []*directive {
	var c []*directive
	for p := d.parent; p != nil; p = p.parent {
		if p.name() != "route" {
			c = append([]*directive{p}, c...)
		}
	}
	return c
}

// siteSegments reads the segments (top-level directives) of the site block
// or named route being adapted. httpcaddyfile.Helper holds it in an
// unexported field and Caddy v2.11 has no accessor, so it is read by
// reflection, read-only (reflect gives no way to change it from here).
// Should a Caddy upgrade rename or reshape it, ok is false and the check is
// skipped; TestSiteSegmentsReadable fails loudly in that case.
func siteSegments(h httpcaddyfile.Helper) (segs [][]token, ok bool) {
	pb := reflect.ValueOf(h).FieldByName("parentBlock")
	if !pb.IsValid() || pb.Kind() != reflect.Struct {
		return nil, false
	}
	ss := pb.FieldByName("Segments")
	if !ss.IsValid() || ss.Kind() != reflect.Slice {
		return nil, false
	}
	for i := range ss.Len() {
		seg := ss.Index(i)
		if seg.Kind() != reflect.Slice {
			return nil, false
		}
		toks := make([]token, seg.Len())
		for j := range toks {
			t := seg.Index(j)
			text, file, line := t.FieldByName("Text"), t.FieldByName("File"), t.FieldByName("Line")
			if text.Kind() != reflect.String || file.Kind() != reflect.String || line.Kind() != reflect.Int {
				return nil, false
			}
			toks[j].Text, toks[j].File, toks[j].Line = text.String(), file.String(), int(line.Int())
			if q := t.FieldByName("wasQuoted"); q.IsValid() && q.Kind() == reflect.Int32 {
				toks[j].quoted = q.Int() != 0
			}
		}
		if len(toks) > 0 {
			segs = append(segs, toks)
		}
	}
	return segs, true
}

// directives lists every directive of the site, descending into the
// blocks of containers.
func directives(segs [][]token) []*directive {
	var all []*directive
	var walk func(seg []token, parent *directive)
	walk = func(seg []token, parent *directive) {
		d := &directive{seg: tidy(seg), parent: parent}
		all = append(all, d)
		if containers[d.name()] {
			for _, sub := range blockSegments(d.seg) {
				walk(sub, d)
			}
		}
	}
	for _, seg := range segs {
		if !strings.HasPrefix(seg[0].Text, "@") { // matcher definitions
			walk(seg, nil)
		}
	}
	return all
}

// tidy undoes what adapting leaves in the shared token slices: when a
// directive with a matcher has been parsed, Caddy deleted the matcher token
// in place (Dispenser.Delete), which shifts the rest of the segment left and
// repeats its last token, a closing brace. tidy drops a closing brace that
// repeats the one before it (a Caddyfile never has two on one line) and
// everything after the directive's own block.
func tidy(seg []token) []token {
	out := make([]token, 0, len(seg))
	depth := 0
	for i, t := range seg {
		if i > 0 && t.brace("}") && out[len(out)-1].brace("}") && t.File == out[len(out)-1].File && t.Line == out[len(out)-1].Line {
			continue
		}
		out = append(out, t)
		switch {
		case t.brace("{"):
			depth++
		case t.brace("}"):
			if depth--; depth == 0 {
				return out
			}
		}
	}
	return out
}

// blockSegments splits the block of a container directive into the
// segments of the directives in it: a token on a new line at the block's
// own depth starts the next one.
func blockSegments(seg []token) [][]token {
	open := -1
	for i, t := range seg {
		if t.brace("{") {
			open = i
			break
		}
	}
	if open < 0 {
		return nil
	}
	var out [][]token
	var cur []token
	depth, prev := 1, seg[open]
	for _, t := range seg[open+1:] {
		if t.brace("}") && depth == 1 {
			break
		}
		newLine := t.Line > prev.Line+strings.Count(prev.Text, "\n")
		if depth == 1 && newLine && !t.brace("}") && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, t)
		switch {
		case t.brace("{"):
			depth++
		case t.brace("}"):
			depth--
		}
		prev = t
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// vends reports whether a cognito_auth directive puts AWS credentials into
// its requests, and if not, why. A directive that cannot be read here
// counts as vending: the real parse reports its errors.
func vends(d *directive) (ok bool, why string) {
	toks := make([]caddyfile.Token, 0, len(d.seg))
	for i, t := range d.seg {
		if t.quoted && (t.Text == "{" || t.Text == "}") {
			return true, "" // a quoted brace would be misread without its quotes
		}
		if i == 1 && t.Line == d.seg[0].Line && (strings.HasPrefix(t.Text, "@") || strings.HasPrefix(t.Text, "/") || t.Text == "*") {
			continue // the matcher, which the directive itself never sees
		}
		toks = append(toks, t.Token)
	}
	m := new(cognitoauth.CognitoAuth)
	if err := m.UnmarshalCaddyfile(caddyfile.NewDispenser(toks)); err != nil {
		return true, ""
	}
	switch {
	case m.Enabled != nil && !*m.Enabled:
		return false, "has authentication turned off (enabled false), so it vends no AWS credentials"
	case !m.VendsCredentials():
		return false, "has no vending mode (identity_pool, role_arn, assume_role or identity_center)"
	}
	return true, ""
}

// inFront reports whether cognito_auth a may run before cloudwatch_mcp c:
// one's containers are the start of the other's.
func inFront(a, c *directive) bool {
	ca, cc := a.chain(), c.chain()
	n := min(len(ca), len(cc))
	for i := range n {
		if ca[i] != cc[i] {
			return false
		}
	}
	return true
}

// warnf reports a composition warning; tests replace it. Caddy's own
// Caddyfile warnings about a site's structure go to this logger too.
var warnf = func(file string, line int, msg string) {
	caddy.Log().Named("caddyfile").Warn(msg, zap.String("file", file), zap.Int("line", line))
}

// warnedKey is where h.State remembers the warnings already given, so a
// snippet imported twice warns once.
const warnedKey = "cloudwatch_mcp.composition_warned"

// checkComposition runs the composition check for the cloudwatch_mcp just
// parsed from h.
func checkComposition(h httpcaddyfile.Helper, m *cloudwatchmcp.Handler) error {
	if m.Credentials != "" && m.Credentials != "request" {
		return nil
	}
	segs, ok := siteSegments(h)
	if !ok {
		return nil
	}
	h.Reset()
	h.Next()
	self := h.Token()
	all := directives(segs)
	invokes := false
	var auths, us []*directive
	for _, d := range all {
		switch d.name() {
		case "cognito_auth":
			auths = append(auths, d)
		case "invoke":
			invokes = true
		case "cloudwatch_mcp":
			// A snippet imported twice puts the same file:line in two
			// places; check every one of them.
			if d.seg[0].File == self.File && d.seg[0].Line == self.Line {
				us = append(us, d)
			}
		}
	}
	for _, c := range us {
		var candidates []*directive
		for _, a := range auths {
			if inFront(a, c) {
				candidates = append(candidates, a)
			}
		}
		if len(candidates) == 0 {
			if h.IsNamedRoute() || invokes {
				continue
			}
			warned, _ := h.State[warnedKey].(map[string]bool)
			if warned == nil {
				warned = map[string]bool{}
				h.State[warnedKey] = warned
			}
			if !warned[c.where()] {
				warned[c.where()] = true
				warnf(self.File, self.Line, "cloudwatch_mcp at "+c.where()+" uses credentials request (the default), "+
					"but no cognito_auth is in front of it in its site: every tool call will fail unless another handler "+
					"sets the cognito_auth.aws_credentials var; add cognito_auth with a vending mode")
			}
			continue
		}
		var reasons []string
		anyVends := false
		for _, a := range candidates {
			ok, why := vends(a)
			anyVends = anyVends || ok
			reasons = append(reasons, "the cognito_auth at "+a.where()+" "+why)
		}
		if !anyVends {
			return h.Errf("cloudwatch_mcp uses credentials request (the default), but %s: every tool call would fail "+
				"without AWS credentials; add identity_pool, role_arn, assume_role or identity_center to cognito_auth, "+
				"or set credentials default here (local use only)", strings.Join(reasons, ", and "))
		}
	}
	return nil
}
