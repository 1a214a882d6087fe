package oauthproxy

import "testing"

func TestRedirectMatches(t *testing.T) {
	for _, tc := range []struct {
		reg, req string
		want     bool
	}{
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb", true},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:65535/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000/cb", true},
		{"http://localhost:3000/cb", "http://localhost:4000/cb", true},
		{"http://[::1]:3000/cb", "http://[::1]:4000/cb", true},
		{"http://localhost:3000/cb", "http://127.0.0.1:3000/cb", false},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb2", false},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb?x=1", false},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:0/cb", false},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:99999/cb", false},
		{"http://127.0.0.1:1/cb", "http://127.0.0.1:1/cb#f", false},
		{"http://127.0.0.1:1/cb", "https://127.0.0.1:1/cb", false},
		{"https://app.example/cb", "https://app.example:444/cb", false},
		{"https://app.example/cb", "https://APP.example/cb", false},
	} {
		if got := redirectMatches(tc.reg, tc.req); got != tc.want {
			t.Errorf("redirectMatches(%q, %q) = %v", tc.reg, tc.req, got)
		}
	}
}

func TestLoopbackHost(t *testing.T) {
	for h, want := range map[string]bool{
		"localhost": true, "localhost:8080": true, "127.0.0.1": true, "127.0.0.1:1": true, "[::1]": true, "[::1]:9": true,
		"127.0.0.2": false, "localhost.": false, "LOCALHOST": false, "localhost:": false, "localhost:0": false,
		"[::1]x": false, "127.0.0.1:http": false, "evil.example": false,
	} {
		if isLoopbackHost(h) != want {
			t.Errorf("isLoopbackHost(%q) != %v", h, want)
		}
	}
}

func TestPKCEHelpers(t *testing.T) {
	// RFC 7636 Appendix B.
	if got := s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("s256 = %s", got)
	}
	v := newVerifier()
	if !validVerifier(v) || !validChallenge(s256(v)) || !verifierMatches(v, s256(v)) || verifierMatches(v+"x", s256(v)) {
		t.Fatal("verifier round trip")
	}
	for _, bad := range []string{"", "short", string(make([]byte, 43)), v + "!"} {
		if validVerifier(bad) {
			t.Errorf("verifier %q accepted", bad)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Claude Code":               "Claude Code",
		"  Visual\tStudio\nCode  ":  "Visual Studio Code",
		"Evil\u202eedoC edualC":     "EviledoC edualC",
		"zero\u200bwidth":           "zerowidth",
		string(make([]rune, 300)):   "",
		"<script>alert(1)</script>": "<script>alert(1)</script>", // escaped by html/template when shown
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
