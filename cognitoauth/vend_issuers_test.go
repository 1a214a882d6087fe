package cognitoauth

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	otherPool = "us-east-1_Other999"
	otherIss  = "https://cognito-idp.us-east-1.amazonaws.com/" + otherPool
)

// secondIssuer adds a second user pool that the env's identity pool and
// roles trust as well, and returns its issuer and a module for it.
func (e *vendEnv) secondIssuer(t *testing.T, adjust func(*CognitoAuth)) (*testissuer.Issuer, *CognitoAuth) {
	t.Helper()
	is := testissuer.New(testissuer.WithIssuer(otherIss), testissuer.WithClock(e.clock.now))
	t.Cleanup(is.Close)
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: otherIss, ClientIDs: []string{testClient}, Keys: is.JWKS()})
	e.fake.AddIdentityPool(fakeaws.IdentityPool{
		ID: vendPool, Providers: []string{loginsKey(cognitoIss), loginsKey(otherIss)}, DeveloperProvider: devProv,
		AuthenticatedRole: vendRole, TokenRoles: true,
	})
	e.fake.AddRole(fakeaws.Role{ARN: vendRole, MaxSessionDuration: 12 * time.Hour,
		WebIdentityIssuers: []string{cognitoIss, otherIss}, AssumeRoleBy: []string{"server"}})
	m := provision(t, &CognitoAuth{Region: testRegion, UserPoolID: otherPool, JWKSURL: is.JWKSURL(),
		ClientIDs: []string{testClient}, TokenUse: "any", now: e.clock.now, Vending: vendingOf(adjust)})
	return is, m
}

func vendingOf(adjust func(*CognitoAuth)) Vending {
	var m CognitoAuth
	adjust(&m)
	return m.Vending
}

// Two issuers that share an identity pool or a role and issue the same sub
// are two people: each gets an AWS identity of their own, named after the
// sub (readable in CloudTrail) and a hash of the issuer and sub.
func TestVendSameSubTwoIssuers(t *testing.T) {
	const sub = "3f1b2c4d-1111-2222-3333-444455556666"
	for _, tc := range []struct {
		mode   string
		adjust func(*CognitoAuth)
		token  func(*testissuer.Issuer) string
	}{
		{"assume_role", func(m *CognitoAuth) { m.AssumeRole = vendRole },
			func(is *testissuer.Issuer) string { return is.Mint(is.CognitoAccessClaims(sub, testClient)) }},
		{"role_arn", func(m *CognitoAuth) { m.RoleARN = vendRole },
			func(is *testissuer.Issuer) string { return is.Mint(is.CognitoIDClaims(sub, testClient)) }},
		{"identity_pool developer_provider", func(m *CognitoAuth) {
			m.IdentityPool = &IdentityPoolVending{ID: vendPool, DeveloperProvider: devProv}
		}, func(is *testissuer.Issuer) string { return is.Mint(is.CognitoAccessClaims(sub, testClient)) }},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := newVendEnv(t)
			mA := e.module(t, tc.adjust)
			isB, mB := e.secondIssuer(t, tc.adjust)
			a := wantOK(t, vendServe(t, mA, tc.token(e.iss)))
			b := wantOK(t, vendServe(t, mB, tc.token(isB)))
			nameA, nameB := awsname.Session(cognitoIss, sub), awsname.Session(otherIss, sub)
			sa, _ := e.fake.Session(a.AccessKeyID())
			sb, _ := e.fake.Session(b.AccessKeyID())
			switch tc.mode {
			case "identity_pool developer_provider":
				idA, _ := e.fake.IdentityID(vendPool, devProv, nameA)
				idB, _ := e.fake.IdentityID(vendPool, devProv, nameB)
				if a.IdentityID() == b.IdentityID() || a.IdentityID() != idA || b.IdentityID() != idB || idA == "" {
					t.Fatalf("identities %q and %q (fake: %q, %q)", a.IdentityID(), b.IdentityID(), idA, idB)
				}
			case "assume_role":
				if sa.SourceIdentity != nameA || sb.SourceIdentity != nameB || sa.Tags["iss"] != cognitoIss || sb.Tags["iss"] != otherIss {
					t.Fatalf("sessions %+v and %+v", sa, sb)
				}
				if e.useCreds(t, a) == e.useCreds(t, b) {
					t.Fatal("AWS attributes both users' calls to one identity")
				}
				fallthrough
			default:
				if sa.RoleSessionName != nameA || sb.RoleSessionName != nameB || a.RoleSessionName() != nameA ||
					!strings.HasPrefix(nameA, sub+"@") || nameA == nameB {
					t.Fatalf("session names %q and %q, want %q and %q", sa.RoleSessionName, sb.RoleSessionName, nameA, nameB)
				}
			}
		})
	}
}

// The vended session's name is what {http.auth.user.aws_role_session}
// shows and what cloudwatch_mcp repeats when it chains into accounts.
func TestVendSessionPlaceholderIsTheAWSName(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.AssumeRole = vendRole })
	res := vendServe(t, m, e.accessToken("alice"))
	wantOK(t, res)
	if got, _ := res.repl.GetString("http.auth.user.aws_role_session"); got != awsname.Session(cognitoIss, "alice") {
		t.Fatalf("placeholder %q", got)
	}
	if res.status != http.StatusOK {
		t.Fatal(res.status)
	}
}
