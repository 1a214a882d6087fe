package caddyfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// probeSegments records what siteSegments reads for the test-only
// directive compose_probe.
var probeSegments [][]token

func init() {
	httpcaddyfile.RegisterHandlerDirective("compose_probe", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		segs, ok := siteSegments(h)
		if !ok {
			return nil, h.Err("siteSegments cannot read the site block")
		}
		probeSegments = segs
		for h.Next() {
		}
		return caddyhttp.StaticResponse{}, nil
	})
	httpcaddyfile.RegisterDirectiveOrder("compose_probe", httpcaddyfile.Before, "respond")
}

func adapt(t *testing.T, cf string) error {
	t.Helper()
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
	return err
}

// The check reads the site block from an unexported field of
// httpcaddyfile.Helper. If a Caddy upgrade changes that field, this test
// fails (the check itself would silently stand down).
func TestSiteSegmentsReadable(t *testing.T) {
	err := adapt(t, `example.com {
	@api path /api/*
	handle @api {
		respond "a {"
	}
	compose_probe
}
`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, seg := range probeSegments {
		names = append(names, seg[0].Text)
	}
	if strings.Join(names, " ") != "@api handle compose_probe" {
		t.Fatalf("segments %q", names)
	}
	handle := probeSegments[1]
	if handle[0].Line != 3 || handle[0].File != "Caddyfile" {
		t.Fatalf("positions %+v", handle[0])
	}
	var quoted bool
	for _, tok := range handle {
		if tok.Text == "a {" {
			quoted = tok.quoted
		}
	}
	if !quoted {
		t.Fatal("quoted tokens are not recognised")
	}
}

func TestBlockSegments(t *testing.T) {
	// handle /x {  route {  a 1  }  b 2 3  c "}"  } (one per line)
	toks := func(spec ...string) []token {
		var out []token
		for _, s := range spec {
			var line int
			var text string
			fmt.Sscanf(s, "%d %s", &line, &text)
			q := strings.HasPrefix(text, "'")
			out = append(out, token{quoted: q})
			out[len(out)-1].Text, out[len(out)-1].Line = strings.Trim(text, "'"), line
		}
		return out
	}
	seg := toks("1 handle", "1 /x", "1 {", "2 route", "2 {", "3 a", "3 1", "4 }", "5 b", "5 2", "5 3", "6 c", "6 '}'", "7 }")
	got := blockSegments(seg)
	var names []string
	for _, s := range got {
		names = append(names, fmt.Sprintf("%s/%d", s[0].Text, len(s)))
	}
	if strings.Join(names, " ") != "route/5 b/3 c/2" {
		t.Fatalf("segments %v", names)
	}
}

// A cloudwatch_mcp that waits for vended credentials with no cognito_auth
// in front of it in its site is warned about (not refused: another
// handler could set the var), once, with its file and line.
func TestCompositionWarnings(t *testing.T) {
	type warning struct {
		file string
		line int
		msg  string
	}
	var got []warning
	old := warnf
	warnf = func(file string, line int, msg string) { got = append(got, warning{file, line, msg}) }
	t.Cleanup(func() { warnf = old })

	for name, tc := range map[string]struct {
		caddyfile string
		lines     []int
	}{
		"no cognito_auth": {`mcp.example.com {
	cloudwatch_mcp
}`, []int{2}},
		"cognito_auth only in a sibling handle": {`mcp.example.com {
	handle /auth/* {
		cognito_auth {
			user_pool us-east-1 us-east-1_AbC123xyz
			role_arn arn:aws:iam::123456789012:role/r
			token_use id
		}
		respond "hi"
	}
	handle {
		cloudwatch_mcp
	}
}`, []int{11}},
		"cognito_auth only in another site": {`auth.example.com {
	cognito_auth {
		user_pool us-east-1 us-east-1_AbC123xyz
		role_arn arn:aws:iam::123456789012:role/r
		token_use id
	}
	respond "hi"
}

mcp.example.com {
	cloudwatch_mcp
}`, []int{11}},
		"a snippet imported twice warns once": {`(mcp) {
	cloudwatch_mcp
}

mcp.example.com {
	handle /a/* {
		import mcp
	}
	handle /b/* {
		import mcp
	}
}`, []int{2}},
		"credentials default": {`localhost {
	cloudwatch_mcp {
		credentials default
	}
}`, nil},
		"cognito_auth with vending": {`mcp.example.com {
	cognito_auth {
		user_pool us-east-1 us-east-1_AbC123xyz
		assume_role arn:aws:iam::123456789012:role/r
	}
	cloudwatch_mcp
}`, nil},
		"named route invoked from a site with cognito_auth": {`&(mcp) {
	cloudwatch_mcp
}

mcp.example.com {
	cognito_auth {
		user_pool us-east-1 us-east-1_AbC123xyz
		assume_role arn:aws:iam::123456789012:role/r
	}
	invoke mcp
}`, nil},
	} {
		t.Run(name, func(t *testing.T) {
			got = nil
			if err := adapt(t, tc.caddyfile+"\n"); err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if len(got) != len(tc.lines) {
				t.Fatalf("warnings %+v, want lines %v", got, tc.lines)
			}
			for i, w := range got {
				if w.file != "Caddyfile" || w.line != tc.lines[i] || !strings.Contains(w.msg, "no cognito_auth is in front of it") ||
					!strings.Contains(w.msg, fmt.Sprintf("Caddyfile:%d", tc.lines[i])) {
					t.Errorf("warning %+v", w)
				}
			}
		})
	}
}

// The error names both places and survives every way of nesting the two.
func TestCompositionErrorsNamePositions(t *testing.T) {
	err := adapt(t, `mcp.example.com {
	cognito_auth {
		user_pool us-east-1 us-east-1_AbC123xyz
	}
	cognito_auth /admin/* {
		user_pool us-east-1 us-east-1_AbC123xyz
		assume_role arn:aws:iam::123456789012:role/admin
		enabled false
	}
	handle /mcp* {
		route {
			cloudwatch_mcp
		}
	}
}
`)
	if err == nil {
		t.Fatal("adapted")
	}
	for _, want := range []string{
		"the cognito_auth at Caddyfile:2 has no vending mode",
		"the cognito_auth at Caddyfile:5 has authentication turned off (enabled false)",
		"at Caddyfile:12",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
