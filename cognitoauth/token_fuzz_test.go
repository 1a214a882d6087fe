package cognitoauth

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// Fuzz targets for the token path. CI runs only their seeds (go test); the
// long runs are documented in /work/brief/readme_fuzz.md, e.g.
//
//	go test ./cognitoauth/ -run '^$' -fuzz '^FuzzVerifyToken$' -fuzztime 10m

// fuzzTokens is the verifier set-up shared by a fuzz run's workers: one
// issuer, one module whose key set is loaded, and every signing input the
// issuer produced, so a success on anything else is a forgery.
type fuzzTokens struct {
	is     *ti.Issuer
	m      *CognitoAuth
	mu     sync.Mutex
	minted map[string]bool // header.payload of every token we signed
}

func newFuzzTokens(f *testing.F) *fuzzTokens {
	is := newCognitoIssuer(f)
	m := cognitoModule(f, is, func(m *CognitoAuth) { m.TokenUse = "any" })
	// A frozen key-source clock: after the first unknown kid the source
	// rests forever, so the fuzzer cannot turn into a JWKS load test.
	useFakeClock(m)
	ft := &fuzzTokens{is: is, m: m, minted: map[string]bool{}}
	if _, aerr := m.verifyToken(ft.mint(is.CognitoAccessClaims("warm", testClient)), time.Now()); aerr != nil {
		f.Fatalf("warm-up: %v", aerr)
	}
	return ft
}

func (ft *fuzzTokens) mint(c ti.Claims, opts ...ti.MintOption) string {
	tok := ft.is.Mint(c, opts...)
	ft.mu.Lock()
	ft.minted[tok[:strings.LastIndexByte(tok, '.')]] = true
	ft.mu.Unlock()
	return tok
}

func (ft *fuzzTokens) wasMinted(tok string) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.minted[tok[:i]]
}

// seedTokens adds valid, forged and malformed tokens.
func (ft *fuzzTokens) seedTokens(f *testing.F) {
	is := ft.is
	access := func() ti.Claims { return is.CognitoAccessClaims("user-1", testClient) }
	good := ft.mint(access())
	parts := strings.Split(good, ".")
	for _, tok := range []string{
		good,
		ft.mint(is.CognitoIDClaims("user-2", testClient)),
		ft.mint(access().With("cognito:groups", []string{"a", "b"}).With("scope", "x y z")),
		ft.mint(access().With("exp", time.Now().Add(-time.Hour).Unix())),
		ft.mint(access().With("sub", 7)),
		ft.mint(access().With("aud", []any{"a", 1})),
		ft.mint(access(), ti.Typ("at+jwt")),
		ft.mint(access(), ti.HeaderKID("no-such-kid")),
		ti.Forge(map[string]any{"alg": "none", "kid": is.CurrentKID()}, access(), nil),
		ti.ForgeHMAC(map[string]any{"alg": "HS256", "kid": is.CurrentKID()}, access(), is.PublicKeyPEM(is.CurrentKID())),
		ti.Forge(map[string]any{"alg": "ES256", "kid": is.CurrentKID()}, access(), make([]byte, 64)),
		ti.Forge(map[string]any{"alg": "RS256", "kid": is.CurrentKID(), "crit": []string{"b64"}}, access(), []byte("s")),
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		good + ".x",
		parts[0] + "==." + parts[1] + "." + parts[2],
		"..",
		"",
		"a.b.c",
		"eyJhbGciOiJSUzI1NiJ9.e30.",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.bnVsbA.c2ln",
		strings.Repeat("A", maxTokenBytes+1),
	} {
		f.Add(tok)
	}
}

// FuzzVerifyToken feeds arbitrary strings to the JWT verifier. It must
// never panic; a rejection must be a clean 401/503 with a short fixed
// reason that does not echo the token; and a success is only possible for
// a header and payload our issuer actually signed, whose claims must be
// the identity returned.
func FuzzVerifyToken(f *testing.F) {
	ft := newFuzzTokens(f)
	ft.seedTokens(f)
	f.Fuzz(func(t *testing.T, tok string) {
		id, aerr := ft.m.verifyToken(tok, time.Now())
		if (id == nil) == (aerr == nil) {
			t.Fatalf("verifyToken returned id=%v err=%v", id, aerr)
		}
		if aerr != nil {
			checkAuthError(t, aerr, tok)
			return
		}
		if !ft.wasMinted(tok) {
			t.Fatalf("verified a token the issuer never signed: %q", tok)
		}
		payload, err := b64.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		if id.Subject != claims["sub"] || id.Issuer != claims["iss"] || id.Subject == "" {
			t.Fatalf("identity %+v does not match signed claims %v", id, claims)
		}
	})
}

// checkAuthError asserts that a rejection is clean.
func checkAuthError(t *testing.T, aerr *authError, tok string) {
	t.Helper()
	switch aerr.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		if aerr.code != "invalid_token" && aerr.code != "insufficient_scope" {
			t.Fatalf("status %d with code %q", aerr.status, aerr.code)
		}
	case http.StatusServiceUnavailable:
		if aerr.code != "temporarily_unavailable" {
			t.Fatalf("503 with code %q", aerr.code)
		}
	default:
		t.Fatalf("unexpected status %d (%s)", aerr.status, aerr.reason)
	}
	if aerr.reason == "" || len(aerr.reason) > 80 || !utf8.ValidString(aerr.reason) {
		t.Fatalf("reason %q is not a short readable message", aerr.reason)
	}
	if len(tok) >= 12 && strings.Contains(aerr.reason, tok[len(tok)-12:]) {
		t.Fatalf("reason %q echoes the token", aerr.reason)
	}
	if strings.ContainsAny(aerr.reason, "\"\\\r\n") {
		t.Fatalf("reason %q would break the WWW-Authenticate quoting", aerr.reason)
	}
}

// FuzzBearerHeader runs arbitrary Authorization header values through the
// whole middleware: header extraction, verification, the challenge. Only a
// token the issuer signed may reach the next handler, and every rejection
// is a 401 with an RFC 6750 challenge that does not echo the header.
func FuzzBearerHeader(f *testing.F) {
	ft := newFuzzTokens(f)
	good := ft.mint(ft.is.CognitoAccessClaims("user-1", testClient))
	for _, h := range []string{
		"Bearer " + good,
		"bearer " + good,
		"BEARER   " + good + "  ",
		"Bearer\t" + good,
		"Bearer",
		"Bearer ",
		"Basic dXNlcjpwYXNz",
		"Bearer a.b.c",
		"Bearer " + good + " extra",
		"Token " + good,
		"Bearer \x00\xff",
		"",
		" Bearer " + good,
		"Bearer " + strings.Repeat("x", 20000),
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, present := bearerToken(&http.Request{Header: http.Header{"Authorization": {header}}})
		scheme, _, _ := strings.Cut(header, " ")
		if present != strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("present=%v for %q", present, header)
		}
		if !present && tok != "" {
			t.Fatalf("token %q extracted from a non-bearer header", tok)
		}
		if tok != strings.TrimSpace(tok) || !strings.Contains(header, tok) {
			t.Fatalf("extracted %q from %q", tok, header)
		}

		req := bearerRequest("")
		req.Header["Authorization"] = []string{header}
		res := serve(t, ft.m, req)
		if res.err != nil {
			t.Fatalf("ServeHTTP returned %v", res.err)
		}
		code := res.rec.Code
		switch {
		case code == http.StatusOK:
			if !res.nextRan || res.identity == nil || !ft.wasMinted(tok) {
				t.Fatalf("200 for %.200q without a signed token", header)
			}
			return
		case code == http.StatusRequestHeaderFieldsTooLarge && len(header) > 16<<10:
			return
		case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d for %.200q", code, header)
		}
		if res.nextRan || res.identity != nil {
			t.Fatalf("rejected request reached next / set identity")
		}
		if v, _ := res.repl.GetString("http.auth.user.id"); v != "" {
			t.Fatalf("user id placeholder %q set on rejection", v)
		}
		ch := res.rec.Header().Get("WWW-Authenticate")
		if code != http.StatusServiceUnavailable && !strings.HasPrefix(ch, "Bearer ") {
			t.Fatalf("challenge %q", ch)
		}
		if len(tok) >= 12 {
			tail := tok[len(tok)-12:]
			if strings.Contains(ch, tail) || strings.Contains(res.rec.Body.String(), tail) {
				t.Fatal("response echoes the token")
			}
		}
	})
}

// FuzzVerifiedClaimsRoundTrip signs fuzzed identity claims and checks that
// the verified identity carries exactly what was signed: the same subject,
// username, e-mail, groups and scopes, and placeholders built from them.
func FuzzVerifiedClaimsRoundTrip(f *testing.F) {
	is := newCognitoIssuer(f, ti.WithKey(ti.KeyOptions{Kind: ti.ECP256}))
	m := cognitoModule(f, is, func(m *CognitoAuth) { m.TokenUse = "any"; m.CacheSize = -1 })
	f.Add("user-1", "alice", "alice@example.com", "openid email", "admins", "ops", int64(3600), false)
	f.Add("00000000-aaaa", "", "", "", "", "", int64(60), true)
	f.Add("", "u", "e", "s", "g", "h", int64(3600), false)
	f.Add("süb ☃", "名前", "a@b", "  a\tb  ", "g,h", "g h", int64(10), false)
	f.Add("x", "y", "z", "s", "g", "g", int64(-3600), false)
	f.Add("x\"y", "\\", "\x00", "\n", "\u2028", "<script>", int64(1e9), true)
	f.Fuzz(func(t *testing.T, sub, username, email, scope, g1, g2 string, expIn int64, idToken bool) {
		for _, s := range []string{sub, username, email, scope, g1, g2} {
			if !utf8.ValidString(s) {
				return // JSON would coerce it; the comparison would be meaningless
			}
		}
		if expIn < -1e9 || expIn > 1e9 {
			return
		}
		now := time.Now()
		c := ti.Claims{
			"sub": sub, "iss": cognitoIss, "username": username, "email": email,
			"scope": scope, "cognito:groups": []string{g1, g2},
			"iat": now.Unix(), "exp": now.Unix() + expIn,
		}
		if idToken {
			c["token_use"], c["aud"] = "id", testClient
		} else {
			c["token_use"], c["client_id"] = "access", testClient
		}
		tok := is.Mint(c)
		res := serve(t, m, bearerRequest(tok))
		// Control characters grow sixfold in JSON (\u0010), so fuzzed
		// claims can outgrow the size caps, which refuse them before any
		// parsing: 431 over the header cap, else 401 over the token cap.
		wantStatus, wantReason := http.StatusUnauthorized, ""
		switch {
		case len("Bearer ")+len(tok) > maxAuthorizationBytes:
			wantStatus, wantReason = http.StatusRequestHeaderFieldsTooLarge, "authorization header too large"
		case len(tok) > maxTokenBytes:
			wantReason = "token too large"
		}
		if wantReason != "" && (res.rec.Code != wantStatus || !strings.Contains(res.rec.Body.String(), wantReason)) {
			t.Fatalf("%d-byte token: status %d %s, want %d %q", len(tok), res.rec.Code, res.rec.Body, wantStatus, wantReason)
		}
		wantOK := sub != "" && expIn > -int64(defaultLeeway/time.Second) && wantReason == ""
		if (res.rec.Code == http.StatusOK) != wantOK {
			t.Fatalf("sub=%q exp in %ds: status %d %s", sub, expIn, res.rec.Code, res.rec.Body)
		}
		if !wantOK {
			if res.rec.Code != wantStatus {
				t.Fatalf("status %d", res.rec.Code)
			}
			return
		}
		id := res.identity
		if id == nil {
			t.Fatal("no identity")
		}
		wantType := map[bool]string{true: "id", false: "access"}[idToken]
		if id.Subject != sub || id.Username != username || id.Email != email || id.Issuer != cognitoIss ||
			id.TokenType != wantType || id.ClientID != testClient {
			t.Fatalf("identity %+v differs from the signed claims %v", id, c)
		}
		if !slices.Equal(id.Groups, []string{g1, g2}) || !slices.Equal(id.Scopes, strings.Fields(scope)) {
			t.Fatalf("groups %q scopes %q, signed %q %q", id.Groups, id.Scopes, []string{g1, g2}, scope)
		}
		for name, want := range map[string]string{
			"http.auth.user.id":       sub,
			"http.auth.user.username": username,
			"http.auth.user.email":    email,
			"http.auth.user.issuer":   cognitoIss,
		} {
			if got, _ := res.repl.GetString(name); got != want {
				t.Fatalf("%s = %q, want %q", name, got, want)
			}
		}
		// The list placeholders split back into exactly the signed values.
		groups, _ := res.repl.GetString("http.auth.user.groups")
		if got := decodeList(t, strings.Split(groups, ",")); !slices.Equal(got, []string{g1, g2}) {
			t.Fatalf("groups placeholder %q decodes to %q, signed %q", groups, got, []string{g1, g2})
		}
		scopes, _ := res.repl.GetString("http.auth.user.scope")
		if got := decodeList(t, strings.Fields(scopes)); !slices.Equal(got, strings.Fields(scope)) && len(got)+len(strings.Fields(scope)) > 0 {
			t.Fatalf("scope placeholder %q decodes to %q, signed %q", scopes, got, scope)
		}
	})
}
