package cognitoauth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parseVending(t *testing.T, body string) (*CognitoAuth, error) {
	t.Helper()
	m := new(CognitoAuth)
	err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser("cognito_auth {\n\tuser_pool us-east-1 us-east-1_Test123\n" + body + "\n}"))
	return m, err
}

func TestVendingCaddyfile(t *testing.T) {
	m, err := parseVending(t, `
	identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11 {
		developer_provider login.mcp.example
		custom_role_arn arn:aws:iam::123456789012:role/path/mcp-users
	}
	session_duration 2h
	refresh_before 10m
	aws_region us-east-1
	credentials_cache_size 500
	exchange_timeout 3s`)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	want := `"identity_pool":{"id":"us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11","developer_provider":"login.mcp.example","custom_role_arn":"arn:aws:iam::123456789012:role/path/mcp-users"},"session_duration":7200000000000,"refresh_before":600000000000,"aws_region":"us-east-1","credentials_cache_size":500,"exchange_timeout":3000000000`
	if !strings.Contains(string(b), want) {
		t.Fatalf("JSON\n%s\nlacks\n%s", b, want)
	}
	for src, check := range map[string]func(*CognitoAuth) bool{
		"role_arn arn:aws:iam::123456789012:role/r":       func(m *CognitoAuth) bool { return m.RoleARN == "arn:aws:iam::123456789012:role/r" },
		"assume_role arn:aws-cn:iam::123456789012:role/r": func(m *CognitoAuth) bool { return m.AssumeRole == "arn:aws-cn:iam::123456789012:role/r" },
		"identity_center " + vendApp + " 123456789012 ReadOnly": func(m *CognitoAuth) bool {
			return m.IdentityCenter != nil && m.IdentityCenter.ApplicationARN == vendApp && m.IdentityCenter.AccountID == vendAcct && m.IdentityCenter.RoleName == "ReadOnly"
		},
	} {
		m, err := parseVending(t, src)
		if err != nil || !check(m) || m.Validate() != nil {
			t.Errorf("%s: err %v, config %+v", src, err, m.Vending)
		}
	}
}

func TestVendingCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"role_arn arn:aws:iam::123456789012:role/a\n\tassume_role arn:aws:iam::123456789012:role/b", "only one of identity_pool, role_arn"},
		{"identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11\n\tidentity_center " + vendApp + " 123456789012 R", "only one of"},
		{"identity_pool us-east-1_Test123", "not an identity pool ID (<region>:<uuid>"},
		{"identity_pool us-east-1:not-a-uuid", "not an identity pool ID"},
		{"identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11 {\n\tcustom_role_arn arn:aws:iam::123:role/x\n}", "not an IAM role ARN"},
		{"identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11 {\n\tdeveloper_provider bad/name\n}", "developer_provider"},
		{"identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11 {\n\tbogus x\n}", "unrecognized identity_pool option"},
		{"role_arn arn:aws:iam::123456789012:user/bob", "not an IAM role ARN"},
		{"role_arn", "wrong argument count"},
		{"assume_role arn:aws:iam::12345:role/r", "not an IAM role ARN"},
		{"identity_center arn:aws:sso:::instance/x 123456789012 R", "not an Identity Center application ARN"},
		{"identity_center " + vendApp + " 1234 R", "must be 12 digits"},
		{"identity_center " + vendApp + " 123456789012", "wrong argument count"},
		{"session_duration 10m", "between 15m and 12h"},
		{"session_duration 13h", "between 15m and 12h"},
		{"session_duration soon", "invalid duration"},
		{"refresh_before -1m", "invalid duration"},
		{"exchange_timeout 2m", "between 0 and 1m"},
		{"aws_region mars", "not an AWS region"},
		{"credentials_cache_size 0", "positive integer"},
	} {
		_, err := parseVending(t, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: want a Caddyfile error (with file:line) containing %q, got %v", tc.src, tc.want, err)
		}
	}
}

// JSON configs skip the Caddyfile checks; Validate (and Provision) catch
// the same mistakes.
func TestVendingValidate(t *testing.T) {
	base := func() *CognitoAuth { return &CognitoAuth{Region: "us-east-1", UserPoolID: "us-east-1_Test123"} }
	for _, tc := range []struct {
		set  func(*CognitoAuth)
		want string
	}{
		{func(m *CognitoAuth) { m.RoleARN = vendRole; m.AssumeRole = vendRole }, "at most one of"},
		{func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: "eu-west-1:nope"} }, "not an identity pool ID"},
		{func(m *CognitoAuth) { m.RoleARN = "arn:aws:iam::1:role/x" }, "not an IAM role ARN"},
		{func(m *CognitoAuth) { m.RoleARN = vendRole; m.SessionDuration = caddy.Duration(time.Minute) }, "session_duration must be between 15m and 12h"},
		{func(m *CognitoAuth) { m.RoleARN = vendRole; m.RefreshBefore = caddy.Duration(time.Hour) }, "refresh_before must be between 0 and 1h0m0s"},
		{func(m *CognitoAuth) {
			m.IdentityPool = &IdentityPoolVending{ID: vendPool}
			m.RefreshBefore = caddy.Duration(2 * time.Hour)
		}, "refresh_before"},
		{func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool}; m.AWSRegion = "eu-west-1" }, "not in aws_region"},
		{func(m *CognitoAuth) { m.AssumeRole = vendRole; m.CredentialsCacheSize = -1 }, "credentials_cache_size"},
		{func(m *CognitoAuth) { m.AssumeRole = vendRole; m.ExchangeTimeout = caddy.Duration(-time.Second) }, "exchange_timeout"},
		{func(m *CognitoAuth) {
			m.IdentityCenter = &IdentityCenterVending{ApplicationARN: vendApp, AccountID: vendAcct, RoleName: "has space"}
		}, "permission set"},
	} {
		m := base()
		tc.set(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	m := base()
	m.RoleARN = vendRole
	m.SessionDuration = caddy.Duration(3 * time.Hour)
	m.RefreshBefore = caddy.Duration(90 * time.Minute)
	if err := m.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func TestVendingProvisionNeedsRegion(t *testing.T) {
	setAWSEnv(t, "http://127.0.0.1:1", serverAKID, "x")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	is := newCognitoIssuer(t)
	m := &CognitoAuth{Issuer: is.Issuer(), Audiences: []string{"a"}, Vending: Vending{AssumeRole: vendRole}}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	err := m.Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), "aws_region") {
		t.Fatalf("want a region error, got %v", err)
	}
	_ = m.Cleanup()
}
