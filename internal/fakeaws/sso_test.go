package fakeaws

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

const testApp = "arn:aws:sso::123456789012:application/ssoins-1111/apl-2222"

func TestIdentityCenterFlow(t *testing.T) {
	fx := newVendingFixture(t)
	f, iss := fx.f, fx.iss
	f.AddSSOApplication(SSOApplication{ARN: testApp, TrustedIssuer: iss.Issuer(), AccountAccess: true, Callers: []string{"server"}, RoleCredentialsTTL: 40 * time.Minute})
	f.AddSSOUser(SSOUser{UserName: "alice", Email: "alice@example.com", Assignments: map[string][]string{"123456789012": {"ReadOnly"}}})
	ctx := context.Background()
	oidc := ssooidc.NewFromConfig(fx.cfg(StaticCredentials(fx.server)))
	in := &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testApp), GrantType: aws.String(JWTBearerGrant),
		Assertion: aws.String(iss.Mint(iss.CognitoIDClaims("alice", "app-client").With("email", "alice@example.com"))),
		Scope:     []string{"openid", "sso:account:access"},
	}
	tok, err := oidc.CreateTokenWithIAM(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Calls("CreateTokenWithIAM"); len(c) != 1 || !c[0].Signed || c[0].Owner != "server" {
		t.Fatalf("calls %+v", c)
	}
	if tok.AwsAdditionalDetails == nil || aws.ToString(tok.AwsAdditionalDetails.IdentityContext) == "" || aws.ToString(tok.IdToken) == "" {
		t.Fatalf("token %+v", tok)
	}
	portal := sso.NewFromConfig(fx.cfg(nil))
	rc, err := portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String("123456789012"), RoleName: aws.String("ReadOnly")})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.UnixMilli(rc.RoleCredentials.Expiration)
	if d := time.Until(exp); d < 39*time.Minute || d > 41*time.Minute {
		t.Fatalf("expiry (ms) decoded as %v", exp)
	}
	if s, _ := f.Session(*rc.RoleCredentials.AccessKeyId); s.Owner != "alice" {
		t.Fatalf("session %+v", s)
	}
	if c := f.Calls("GetRoleCredentials"); len(c) != 1 || c[0].Signed {
		t.Fatalf("portal call must be unsigned: %+v", c)
	}

	// Failures.
	_, err = portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String("123456789012"), RoleName: aws.String("Admin")})
	assertCode(t, err, "ForbiddenException")
	_, err = portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: aws.String("aoa-bogus"), AccountId: aws.String("123456789012"), RoleName: aws.String("ReadOnly")})
	assertCode(t, err, "UnauthorizedException")

	noAud := *in
	noAud.Assertion = aws.String(iss.Mint(iss.CognitoAccessClaims("alice", "app-client").With("email", "alice@example.com")))
	_, err = oidc.CreateTokenWithIAM(ctx, &noAud)
	assertCode(t, err, "InvalidGrantException")
	stranger := *in
	stranger.Assertion = aws.String(iss.Mint(iss.CognitoIDClaims("carol", "app-client")))
	_, err = oidc.CreateTokenWithIAM(ctx, &stranger)
	assertCode(t, err, "InvalidGrantException")
	wrongApp := *in
	wrongApp.ClientId = aws.String(testApp + "x")
	_, err = oidc.CreateTokenWithIAM(ctx, &wrongApp)
	assertCode(t, err, "InvalidClientException")
	_, err = ssooidc.NewFromConfig(fx.cfg(nil)).CreateTokenWithIAM(ctx, in)
	assertCode(t, err, "MissingAuthenticationToken")
	mallory := f.IssueCredentials("mallory", time.Now().Add(time.Hour))
	_, err = ssooidc.NewFromConfig(fx.cfg(StaticCredentials(mallory))).CreateTokenWithIAM(ctx, in)
	assertCode(t, err, "AccessDeniedException")
}
