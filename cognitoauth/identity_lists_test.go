package cognitoauth

import (
	"slices"
	"testing"
)

// GroupList and ScopeList hand other modules the claims as lists, values
// holding the placeholders' separators included.
func TestIdentityListsKeepClaimValuesWhole(t *testing.T) {
	id, aerr := newIdentity(map[string]any{
		"sub": "u", "iss": "https://issuer.test",
		"cognito:groups": []any{"dev,sre", "ops"},
		"scp":            []any{"openid logs:read", "metrics:read"},
	}, "at+jwt")
	if aerr != nil {
		t.Fatal(aerr)
	}
	if got := id.GroupList(); !slices.Equal(got, []string{"dev,sre", "ops"}) {
		t.Fatalf("GroupList = %q", got)
	}
	if got := id.ScopeList(); !slices.Equal(got, []string{"openid logs:read", "metrics:read"}) {
		t.Fatalf("ScopeList = %q", got)
	}
	id, aerr = newIdentity(map[string]any{"sub": "u", "iss": "https://issuer.test", "scope": "openid logs:read"}, "at+jwt")
	if aerr != nil {
		t.Fatal(aerr)
	}
	if got := id.ScopeList(); !slices.Equal(got, []string{"openid", "logs:read"}) || id.GroupList() != nil {
		t.Fatalf("scope claim: ScopeList = %q, GroupList = %q", got, id.GroupList())
	}
	var none *Identity
	if none.GroupList() != nil || none.ScopeList() != nil {
		t.Fatal("a nil identity has lists")
	}
}
