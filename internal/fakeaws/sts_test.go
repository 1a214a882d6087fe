package fakeaws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const testRole = "arn:aws:iam::123456789012:role/mcp-users"

// vendingFixture is a fake with one trusted issuer (audience "app-client"),
// a role trusting it and the "server" key allowed to AssumeRole.
type vendingFixture struct {
	f      *Fake
	iss    *testissuer.Issuer
	server aws.Credentials
}

func newVendingFixture(t *testing.T) *vendingFixture {
	t.Helper()
	f := Start()
	t.Cleanup(f.Close)
	iss := testissuer.New()
	t.Cleanup(iss.Close)
	f.AddOIDCProvider(OIDCProvider{Issuer: iss.Issuer(), ClientIDs: []string{"app-client"}, Keys: iss.JWKS()})
	f.AddRole(Role{ARN: testRole, MaxSessionDuration: 2 * time.Hour, WebIdentityIssuers: []string{iss.Issuer()}, AssumeRoleBy: []string{"server"}})
	server := aws.Credentials{AccessKeyID: "AKIASERVER0000000001", SecretAccessKey: "server-secret"}
	f.AddCredentials(server, "server")
	return &vendingFixture{f: f, iss: iss, server: server}
}

func (fx *vendingFixture) cfg(creds aws.CredentialsProvider) aws.Config {
	return TestConfig(fx.f, creds)
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	fx := newVendingFixture(t)
	ctx := context.Background()
	cl := sts.NewFromConfig(fx.cfg(nil))
	idTok := fx.iss.Mint(fx.iss.CognitoIDClaims("alice", "app-client"))
	out, err := cl.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("alice"), WebIdentityToken: aws.String(idTok), DurationSeconds: aws.Int32(1800),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "alice" || aws.ToString(out.Provider) != fx.iss.Issuer() ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/mcp-users/alice" {
		t.Fatalf("unexpected output %+v", out)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("expiry %v, want ~30m", d)
	}
	if c := fx.f.Calls("AssumeRoleWithWebIdentity"); len(c) != 1 || c[0].Signed {
		t.Fatalf("calls %+v", c)
	}
	// The vended keys sign later calls as alice.
	fx.f.Handle("logs", "DescribeLogGroups", func(r *Request) (any, error) { return map[string]any{}, nil })
	vended := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	if _, err := cloudwatchlogs.NewFromConfig(fx.cfg(StaticCredentials(vended))).DescribeLogGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if c := fx.f.Calls("DescribeLogGroups"); c[0].Owner != "alice" {
		t.Fatalf("owner %q", c[0].Owner)
	}
	// Distinct credentials per identity.
	out2, err := cl.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("bob"),
		WebIdentityToken: aws.String(fx.iss.Mint(fx.iss.CognitoIDClaims("bob", "app-client"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if *out2.Credentials.AccessKeyId == vended.AccessKeyID {
		t.Fatal("same keys for two users")
	}
	if s, _ := fx.f.Session(*out2.Credentials.AccessKeyId); s.Owner != "bob" || s.RoleARN != testRole {
		t.Fatalf("session %+v", s)
	}

	other := testissuer.New()
	defer other.Close()
	cases := []struct {
		name, token, role, session, code, msg string
	}{
		{"access token has no aud", fx.iss.Mint(fx.iss.CognitoAccessClaims("alice", "app-client")), testRole, "alice", "InvalidIdentityToken", "Missing a required claim: aud"},
		{"wrong audience", fx.iss.Mint(fx.iss.CognitoIDClaims("alice", "other-client")), testRole, "alice", "InvalidIdentityToken", "Incorrect token audience"},
		{"expired", fx.iss.Mint(fx.iss.CognitoIDClaims("alice", "app-client").With("exp", time.Now().Add(-time.Minute).Unix())), testRole, "alice", "ExpiredTokenException", "Token expired"},
		{"untrusted issuer", other.Mint(other.CognitoIDClaims("alice", "app-client")), testRole, "alice", "InvalidIdentityToken", "No OpenIDConnect provider"},
		{"forged signature", forgeIssuer(fx.iss, other), testRole, "alice", "InvalidIdentityToken", "could not be validated"},
		{"unknown role", idTok, "arn:aws:iam::123456789012:role/nope", "alice", "AccessDenied", "Not authorized"},
		{"bad session name", idTok, testRole, "a", "ValidationError", "roleSessionName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(tc.role), RoleSessionName: aws.String(tc.session), WebIdentityToken: aws.String(tc.token),
			})
			assertCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
	_, err = cl.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("alice"), WebIdentityToken: aws.String(idTok), DurationSeconds: aws.Int32(3 * 3600),
	})
	assertCode(t, err, "ValidationError")
}

// forgeIssuer signs a token claiming iss's issuer with other's key.
func forgeIssuer(iss, other *testissuer.Issuer) string {
	return other.Mint(iss.CognitoIDClaims("alice", "app-client"))
}

func TestAssumeRoleSignedWithTags(t *testing.T) {
	fx := newVendingFixture(t)
	ctx := context.Background()
	in := &sts.AssumeRoleInput{
		RoleArn: aws.String(testRole), RoleSessionName: aws.String("alice"), SourceIdentity: aws.String("alice-sub"),
		Tags: []ststypes.Tag{{Key: aws.String("sub"), Value: aws.String("alice-sub")}, {Key: aws.String("email"), Value: aws.String("alice@example.com")}},
	}
	out, err := sts.NewFromConfig(fx.cfg(StaticCredentials(fx.server))).AssumeRole(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := fx.f.Session(*out.Credentials.AccessKeyId)
	if !ok || s.Owner != "alice-sub" || s.SourceIdentity != "alice-sub" || s.Tags["email"] != "alice@example.com" || s.Tags["sub"] != "alice-sub" {
		t.Fatalf("session %+v", s)
	}
	if c := fx.f.Calls("sts.AssumeRole"); len(c) != 1 || !c[0].Signed || c[0].Owner != "server" {
		t.Fatalf("calls %+v", c)
	}

	// Unsigned, wrongly signed, and signed by a principal the trust policy
	// does not name.
	_, err = sts.NewFromConfig(fx.cfg(nil)).AssumeRole(ctx, in)
	assertCode(t, err, "MissingAuthenticationToken")
	bad := fx.server
	bad.SecretAccessKey = "nope"
	_, err = sts.NewFromConfig(fx.cfg(StaticCredentials(bad))).AssumeRole(ctx, in)
	assertCode(t, err, "SignatureDoesNotMatch")
	mallory := fx.f.IssueCredentials("mallory", time.Now().Add(time.Hour))
	_, err = sts.NewFromConfig(fx.cfg(StaticCredentials(mallory))).AssumeRole(ctx, in)
	assertCode(t, err, "AccessDenied")

	// Chaining from alice's session: her SourceIdentity persists and
	// cannot be changed.
	fx.f.AddRole(Role{ARN: testRole, MaxSessionDuration: 2 * time.Hour, AssumeRoleBy: []string{"server", "alice-sub"}})
	aliceCfg := fx.cfg(StaticCredentials(aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId,
		SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}))
	for _, si := range []string{"", "alice-sub"} {
		chain := &sts.AssumeRoleInput{RoleArn: aws.String(testRole), RoleSessionName: aws.String("chained")}
		if si != "" {
			chain.SourceIdentity = aws.String(si)
		}
		out, err := sts.NewFromConfig(aliceCfg).AssumeRole(ctx, chain)
		if err != nil {
			t.Fatalf("chaining with SourceIdentity %q: %v", si, err)
		}
		if s, _ := fx.f.Session(*out.Credentials.AccessKeyId); s.SourceIdentity != "alice-sub" || s.Owner != "alice-sub" {
			t.Fatalf("chained session %+v", s)
		}
	}
	_, err = sts.NewFromConfig(aliceCfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testRole),
		RoleSessionName: aws.String("chained"), SourceIdentity: aws.String("bob-sub")})
	assertCode(t, err, "AccessDenied")

	bogus := *in
	bogus.Tags = []ststypes.Tag{{Key: aws.String("sub"), Value: aws.String("<script>")}}
	_, err = sts.NewFromConfig(fx.cfg(StaticCredentials(fx.server))).AssumeRole(ctx, &bogus)
	assertCode(t, err, "ValidationError")
}
