package cognitoauth

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// A claim value holding a list separator must not be able to pose as two
// values to whoever splits {http.auth.user.groups} or .scope again: the
// group "dev,sre" is not the groups "dev" and "sre", and the scp entry
// "openid logs:read" is not the scopes "openid" and "logs:read".
func TestPlaceholdersEscapeSeparators(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	tok := is.Mint(is.CognitoAccessClaims("u-1", testClient).
		With("cognito:groups", []string{"dev,sre", "ops", "100%", "CN=a,OU=b"}).
		With("scope", nil).With("scp", []string{"openid logs:read", "mcp%20x", "tab\there", "nl\nx", "nbsp\u00a0y"}))
	res := serve(t, m, bearerRequest(tok))
	if res.rec.Code != 200 {
		t.Fatalf("status %d", res.rec.Code)
	}
	groups, _ := res.repl.GetString("http.auth.user.groups")
	scope, _ := res.repl.GetString("http.auth.user.scope")
	if want := "dev%2Csre,ops,100%25,CN=a%2COU=b"; groups != want {
		t.Errorf("groups placeholder %q, want %q", groups, want)
	}
	if want := "openid%20logs:read mcp%2520x tab%09here nl%0Ax nbsp%C2%A0y"; scope != want {
		t.Errorf("scope placeholder %q, want %q", scope, want)
	}
	// Splitting on the separator (any whitespace for scopes) and then
	// percent-decoding each item gives back exactly the claim's arrays.
	if got := decodeList(t, strings.Split(groups, ",")); !slices.Equal(got, res.identity.Groups) {
		t.Errorf("groups round trip %q, want %q", got, res.identity.Groups)
	}
	if got := decodeList(t, strings.Fields(scope)); !slices.Equal(got, res.identity.Scopes) {
		t.Errorf("scope round trip %q, want %q", got, res.identity.Scopes)
	}
	// The arrays themselves are the claim's, untouched.
	if !slices.Equal(res.identity.Groups, []string{"dev,sre", "ops", "100%", "CN=a,OU=b"}) ||
		!slices.Contains(res.identity.Scopes, "openid logs:read") {
		t.Errorf("identity arrays changed: %q %q", res.identity.Groups, res.identity.Scopes)
	}
}

// Ordinary values are published exactly as before, so existing
// Caddyfiles that forward the placeholders see no change.
func TestPlaceholdersPlainValuesUnchanged(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	tok := is.Mint(is.CognitoAccessClaims("u-1", testClient).
		With("cognito:groups", []string{"admins", "Platform Team", "ops"}).With("scope", "openid mcp/tools"))
	res := serve(t, m, bearerRequest(tok))
	groups, _ := res.repl.GetString("http.auth.user.groups")
	scope, _ := res.repl.GetString("http.auth.user.scope")
	if groups != "admins,Platform Team,ops" || scope != "openid mcp/tools" {
		t.Fatalf("groups %q scope %q", groups, scope)
	}
}

// cognito_auth's own scopes/groups requirements compare whole array
// elements, never the joined placeholder: the crafted values are refused,
// and granted only when the configuration names the value itself.
func TestOwnChecksUseTheArrays(t *testing.T) {
	is := newCognitoIssuer(t)
	crafted := is.Mint(is.CognitoAccessClaims("u-1", testClient).
		With("cognito:groups", []string{"dev,sre"}).With("scope", nil).With("scp", []string{"openid logs:read"}))
	for name, adjust := range map[string]func(*CognitoAuth){
		"group sre":         func(m *CognitoAuth) { m.Groups = []string{"sre"} },
		"group dev":         func(m *CognitoAuth) { m.Groups = []string{"dev"} },
		"scope logs:read":   func(m *CognitoAuth) { m.Scopes = []string{"logs:read"} },
		"scope openid":      func(m *CognitoAuth) { m.Scopes = []string{"openid"} },
		"scopes and groups": func(m *CognitoAuth) { m.Scopes = []string{"openid", "logs:read"}; m.Groups = []string{"sre"} },
	} {
		t.Run(name, func(t *testing.T) {
			m := cognitoModule(t, is, adjust)
			if res := serve(t, m, bearerRequest(crafted)); res.rec.Code != 403 || res.nextRan {
				t.Fatalf("crafted token: status %d, next ran %v", res.rec.Code, res.nextRan)
			}
		})
	}
	m := cognitoModule(t, is, func(m *CognitoAuth) { m.Groups = []string{"dev,sre"} })
	if res := serve(t, m, bearerRequest(crafted)); res.rec.Code != 200 {
		t.Fatalf("the group named dev,sre itself: status %d", res.rec.Code)
	}
}

// A scope claim must be the RFC 6749 space-delimited string; an array
// there is refused rather than guessed at, so it cannot smuggle a
// space-holding element in either.
func TestScopeClaimArrayRefused(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	tok := is.Mint(is.CognitoAccessClaims("u-1", testClient).With("scope", []string{"openid logs:read"}))
	res := serve(t, m, bearerRequest(tok))
	if res.rec.Code != 401 || res.nextRan || !strings.Contains(res.rec.Body.String(), "malformed scope claim") {
		t.Fatalf("status %d body %s", res.rec.Code, res.rec.Body)
	}
}

func TestJoinListEscapes(t *testing.T) {
	for _, tc := range []struct {
		items []string
		sep   byte
		want  string
	}{
		{nil, ',', ""},
		{[]string{"a", "b"}, ',', "a,b"},
		{[]string{"a b", "c"}, ',', "a b,c"},
		{[]string{"a,b"}, ',', "a%2Cb"},
		{[]string{"%2C"}, ',', "%252C"},
		{[]string{"x\x7fy", "\r"}, ',', "x%7Fy,%0D"},
		{[]string{"a,b"}, ' ', "a,b"},
		{[]string{"a b", "c\u2003d"}, ' ', "a%20b c%E2%80%83d"},
		{[]string{"ü"}, ' ', "ü"},
	} {
		if got := joinList(tc.items, tc.sep); got != tc.want {
			t.Errorf("joinList(%q, %q) = %q, want %q", tc.items, tc.sep, got, tc.want)
		}
	}
}

func decodeList(t *testing.T, items []string) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		v, err := url.PathUnescape(it)
		if err != nil {
			t.Fatalf("%q does not percent-decode: %v", it, err)
		}
		out[i] = v
	}
	return out
}
