package fakeaws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	testPool      = "us-east-1:11111111-2222-3333-4444-555555555555"
	testUserPool  = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"
	testLoginsKey = "cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"
	adminRole     = "arn:aws:iam::123456789012:role/admins"
)

func newPoolFixture(t *testing.T) (*Fake, *testissuer.Issuer, aws.Credentials) {
	t.Helper()
	f := Start()
	t.Cleanup(f.Close)
	iss := testissuer.New(testissuer.WithIssuer(testUserPool))
	t.Cleanup(iss.Close)
	f.AddOIDCProvider(OIDCProvider{Issuer: testUserPool, ClientIDs: []string{"app-client"}, Keys: iss.JWKS()})
	f.AddIdentityPool(IdentityPool{
		ID: testPool, Providers: []string{testLoginsKey}, DeveloperProvider: "login.mcp",
		AuthenticatedRole: testRole, TokenRoles: true, CredentialsTTL: 50 * time.Minute,
	})
	server := aws.Credentials{AccessKeyID: "AKIASERVER0000000001", SecretAccessKey: "server-secret"}
	f.AddCredentials(server, "server")
	return f, iss, server
}

func TestIdentityPoolEnhancedFlow(t *testing.T) {
	f, iss, _ := newPoolFixture(t)
	ctx := context.Background()
	cl := cognitoidentity.NewFromConfig(TestConfig(f, nil))
	tok := iss.Mint(iss.CognitoIDClaims("alice", "app-client"))
	logins := map[string]string{testLoginsKey: tok}

	id, err := cl.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(testPool), Logins: logins})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*id.IdentityId, "us-east-1:") {
		t.Fatalf("identity id %q", *id.IdentityId)
	}
	again, _ := cl.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(testPool), Logins: logins})
	if *again.IdentityId != *id.IdentityId {
		t.Fatal("GetId is not stable per user")
	}
	out, err := cl.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: logins})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 49*time.Minute || d > 51*time.Minute {
		t.Fatalf("expiry in %v, want 50m", d)
	}
	s, _ := f.Session(*out.Credentials.AccessKeyId)
	if s.Owner != "alice" || s.RoleARN != testRole || s.IdentityID != *id.IdentityId {
		t.Fatalf("session %+v", s)
	}
	for _, c := range f.Calls("") {
		if c.Signed {
			t.Fatalf("identity pool calls must be anonymous: %+v", c)
		}
	}

	// Token-based role choice and CustomRoleArn.
	admin := iss.Mint(iss.CognitoIDClaims("alice", "app-client").
		With("cognito:groups", []string{"admins"}).With("cognito:roles", []string{adminRole}).With("cognito:preferred_role", adminRole))
	out, err = cl.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: map[string]string{testLoginsKey: admin}})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.Session(*out.Credentials.AccessKeyId); s.RoleARN != adminRole {
		t.Fatalf("preferred role not applied: %+v", s)
	}
	_, err = cl.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: logins, CustomRoleArn: aws.String(adminRole)})
	assertCode(t, err, "NotAuthorizedException")

	other := testissuer.New()
	defer other.Close()
	cases := []struct{ name, key, token, msg string }{
		{"access token", testLoginsKey, iss.Mint(iss.CognitoAccessClaims("alice", "app-client")), "Invalid login token. Missing a required claim: aud"},
		{"wrong client", testLoginsKey, iss.Mint(iss.CognitoIDClaims("alice", "other")), "not from a supported provider"},
		{"expired", testLoginsKey, iss.Mint(iss.CognitoIDClaims("alice", "app-client").With("exp", time.Now().Add(-time.Second).Unix())), "Token expired"},
		{"forged", testLoginsKey, other.Mint(iss.CognitoIDClaims("alice", "app-client")), "Couldn't verify signed token"},
		{"unknown provider", "accounts.google.com", tok, "not from a supported provider"},
		{"provider mismatch", testLoginsKey, other.Mint(other.CognitoIDClaims("alice", "app-client")), "Issuer doesn't match providerName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String(testPool), Logins: map[string]string{tc.key: tc.token}})
			assertCode(t, err, "NotAuthorizedException")
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v lacks %q", err, tc.msg)
			}
			_, err = cl.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: map[string]string{tc.key: tc.token}})
			assertCode(t, err, "NotAuthorizedException")
		})
	}
	// Bob's token cannot unlock alice's identity.
	bob := iss.Mint(iss.CognitoIDClaims("bob", "app-client"))
	_, err = cl.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: map[string]string{testLoginsKey: bob}})
	assertCode(t, err, "NotAuthorizedException")
	_, err = cl.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: aws.String("us-east-1:00000000-0000-0000-0000-000000000000"), Logins: logins})
	assertCode(t, err, "ResourceNotFoundException")
}

func TestIdentityPoolDeveloperFlow(t *testing.T) {
	f, _, server := newPoolFixture(t)
	ctx := context.Background()
	signed := cognitoidentity.NewFromConfig(TestConfig(f, StaticCredentials(server)))
	dev, err := signed.GetOpenIdTokenForDeveloperIdentity(ctx, &cognitoidentity.GetOpenIdTokenForDeveloperIdentityInput{
		IdentityPoolId: aws.String(testPool), Logins: map[string]string{"login.mcp": "alice"}, TokenDuration: aws.Int64(600),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Calls("GetOpenIdTokenForDeveloperIdentity"); len(c) != 1 || !c[0].Signed || c[0].Owner != "server" {
		t.Fatalf("calls %+v", c)
	}
	if id, _ := f.IdentityID(testPool, "login.mcp", "alice"); id != *dev.IdentityId {
		t.Fatalf("identity %q vs %q", id, *dev.IdentityId)
	}
	anon := cognitoidentity.NewFromConfig(TestConfig(f, nil))
	out, err := anon.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{
		IdentityId: dev.IdentityId, Logins: map[string]string{CognitoIdentityProvider: *dev.Token},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.Session(*out.Credentials.AccessKeyId); s.Owner != "alice" || s.IdentityID != *dev.IdentityId {
		t.Fatalf("session %+v", s)
	}

	// The developer call must be signed; a tampered token is refused; the
	// token expires.
	_, err = anon.GetOpenIdTokenForDeveloperIdentity(ctx, &cognitoidentity.GetOpenIdTokenForDeveloperIdentityInput{
		IdentityPoolId: aws.String(testPool), Logins: map[string]string{"login.mcp": "alice"},
	})
	assertCode(t, err, "MissingAuthenticationToken")
	tampered := *dev.Token
	tampered = tampered[:len(tampered)-4] + "AAAA"
	_, err = anon.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{
		IdentityId: dev.IdentityId, Logins: map[string]string{CognitoIdentityProvider: tampered},
	})
	assertCode(t, err, "NotAuthorizedException")
	f.SetClock(func() time.Time { return time.Now().Add(11 * time.Minute) })
	_, err = anon.GetCredentialsForIdentity(ctx, &cognitoidentity.GetCredentialsForIdentityInput{
		IdentityId: dev.IdentityId, Logins: map[string]string{CognitoIdentityProvider: *dev.Token},
	})
	assertCode(t, err, "NotAuthorizedException")
	f.SetClock(time.Now)
	_, err = signed.GetOpenIdTokenForDeveloperIdentity(ctx, &cognitoidentity.GetOpenIdTokenForDeveloperIdentityInput{
		IdentityPoolId: aws.String(testPool), Logins: map[string]string{"other.provider": "alice"},
	})
	assertCode(t, err, "InvalidParameterException")
}
