package awsname

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	// What STS accepts for RoleSessionName and SourceIdentity.
	stsName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	// What STS accepts in a session tag value.
	tagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
)

const (
	poolA = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test123"
	poolB = "https://idp.example.com"
	uuid  = "3f1b2c4d-1111-2222-3333-444455556666"
)

// The documented shell recipe (printf | openssl | basenc) gives these.
func TestSessionMatchesTheDocumentedRecipe(t *testing.T) {
	for _, tc := range []struct{ iss, sub, want string }{
		{poolA, uuid, uuid + "@gpn54L79yyBVUiLv"},
		{poolB, uuid, uuid + "@0VMIoFtCQiEUshPl"},
	} {
		if got := Session(tc.iss, tc.sub); got != tc.want {
			t.Errorf("Session(%q, %q) = %q, want %q", tc.iss, tc.sub, got, tc.want)
		}
	}
}

func TestSessionUniquePerIssuerAndSub(t *testing.T) {
	long := strings.Repeat("x", 100)
	subs := []string{uuid, "a", "", "auth0|user 1/é", "auth0-user-1---", "a,b", "a-b", long, long + "y", "ü", "\xff"}
	seen := map[string]string{}
	for _, iss := range []string{poolA, poolB, poolA + "/"} {
		for _, sub := range subs {
			name := Session(iss, sub)
			if prev, dup := seen[name]; dup {
				t.Fatalf("%q names both %s and %q|%q", name, prev, iss, sub)
			}
			seen[name] = iss + "|" + sub
			if !stsName.MatchString(name) || !tagValue.MatchString(name) || !utf8.ValidString(name) {
				t.Errorf("Session(%q, %q) = %q is not a valid session name and tag value", iss, sub, name)
			}
			if Session(iss, sub) != name {
				t.Fatal("not deterministic")
			}
		}
	}
}

// The sub stays readable: verbatim when it fits and is valid, else
// replaced character by character and cut at 47.
func TestSessionReadablePart(t *testing.T) {
	for _, tc := range []struct{ sub, prefix string }{
		{uuid, uuid + "@"},
		{"b+c@x.org", "b+c@x.org@"},
		{"auth0|user 1/é", "auth0-user-1--@"},
		{"a,b", "a-b@"},
		{strings.Repeat("x", 70), strings.Repeat("x", 47) + "@"},
	} {
		got := Session(poolA, tc.sub)
		if !strings.HasPrefix(got, tc.prefix) || len(got) != len(tc.prefix)+16 {
			t.Errorf("Session(%q) = %q, want %q + 16 characters", tc.sub, got, tc.prefix)
		}
	}
}
