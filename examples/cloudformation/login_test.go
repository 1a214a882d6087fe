package cloudformation

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cognitoauth/oauthproxy"
)

// What cognito_auth's login proxy (oauth_proxy) needs from Cognito, as
// examples/login.Caddyfile uses it: a domain for the hosted UI, one
// confidential app client with the authorization code grant and the
// proxy's fixed callback, the resource server's scopes, and outputs that
// give the operator everything but the secret.

// sub is the string of an {"Fn::Sub": "..."} value.
func sub(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["Fn::Sub"].(string)
		return s
	}
	return ""
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		} else if s := sub(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestUserPoolHasAHostedUIDomain: the proxy sends users to the hosted UI,
// which exists only once the pool has a domain.
func TestUserPoolHasAHostedUIDomain(t *testing.T) {
	tpl := loadTemplate(t)
	d := tpl.Resources["UserPoolDomain"]
	if d.Type != "AWS::Cognito::UserPoolDomain" || !refersTo(d.Properties["UserPoolId"], "UserPool") || !refersTo(d.Properties["Domain"], "HostedUIDomainPrefix") {
		t.Fatalf("UserPoolDomain = %+v", d)
	}
	if s := sub(tpl.Outputs["HostedUIDomain"].Value); !strings.Contains(s, "${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com") {
		t.Errorf("HostedUIDomain output = %q", s)
	}
}

// TestProxyAppClient: one confidential app client, authorization code
// only, whose one callback is exactly what the proxy serves on the origin
// of resource (https://<McpDomain>/mcp), with openid and the resource
// server's custom scopes.
func TestProxyAppClient(t *testing.T) {
	tpl := loadTemplate(t)
	c := tpl.Resources["ProxyUserPoolClient"]
	if c.Type != "AWS::Cognito::UserPoolClient" || !refersTo(c.Properties["UserPoolId"], "UserPool") {
		t.Fatalf("ProxyUserPoolClient = %+v", c)
	}
	p := c.Properties
	if p["GenerateSecret"] != true {
		t.Error("the proxy's app client must have a secret: the proxy is a confidential client (the token endpoint gets it with HTTP Basic)")
	}
	if got := strs(p["AllowedOAuthFlows"]); !slices.Equal(got, []string{"code"}) {
		t.Errorf("AllowedOAuthFlows = %v, want [code] only", got)
	}
	if p["AllowedOAuthFlowsUserPoolClient"] != true {
		t.Error("AllowedOAuthFlowsUserPoolClient must be true, or the hosted UI refuses the client")
	}
	wantCallback := "https://${McpDomain}" + oauthproxy.PathCallback
	if got := strs(p["CallbackURLs"]); !slices.Equal(got, []string{wantCallback}) {
		t.Errorf("CallbackURLs = %v, want exactly [%s]: Cognito matches callbacks exactly, and the proxy has one", got, wantCallback)
	}
	if flows := strs(p["ExplicitAuthFlows"]); slices.ContainsFunc(flows, func(f string) bool { return strings.Contains(f, "PASSWORD") }) {
		t.Errorf("ExplicitAuthFlows = %v: the proxy's users sign in at the hosted UI, never by password API", flows)
	}
	if idps := strs(p["SupportedIdentityProviders"]); len(idps) == 0 {
		t.Error("SupportedIdentityProviders is empty: the hosted UI would offer no way to sign in")
	}
	scopes := strs(p["AllowedOAuthScopes"])
	if !slices.Contains(scopes, "openid") {
		t.Errorf("AllowedOAuthScopes = %v: the proxy asks for openid", scopes)
	}
	// Every custom scope of the resource server is allowed, named as
	// Cognito names it in access tokens: <identifier>/<scope>.
	rs := tpl.Resources["McpResourceServer"]
	ident := sub(rs.Properties["Identifier"])
	declared, _ := rs.Properties["Scopes"].([]any)
	if len(declared) == 0 {
		t.Fatal("McpResourceServer declares no scopes")
	}
	for _, d := range declared {
		name := d.(map[string]any)["ScopeName"].(string)
		if !slices.Contains(scopes, ident+"/"+name) {
			t.Errorf("AllowedOAuthScopes lacks %s/%s", ident, name)
		}
	}
	for _, s := range scopes {
		if strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, ident+"/") {
			t.Errorf("AllowedOAuthScopes has %s, which the resource server does not declare", s)
		}
	}
	if fmt.Sprint(c.DependsOn) != "McpResourceServer" {
		t.Errorf("ProxyUserPoolClient DependsOn = %v: its custom scopes exist only once McpResourceServer does", c.DependsOn)
	}
}

// TestResourceServerIsTheMCPURL: the resource server's identifier is the
// MCP endpoint, the resource cognito_auth and the proxy are configured
// with, so forward_resource binds tokens to it.
func TestResourceServerIsTheMCPURL(t *testing.T) {
	rs := loadTemplate(t).Resources["McpResourceServer"]
	if rs.Type != "AWS::Cognito::UserPoolResourceServer" || !refersTo(rs.Properties["UserPoolId"], "UserPool") {
		t.Fatalf("McpResourceServer = %+v", rs)
	}
	if got := sub(rs.Properties["Identifier"]); got != "https://${McpDomain}/mcp" {
		t.Errorf("Identifier = %q, want https://${McpDomain}/mcp", got)
	}
}

// TestProxyOutputsLeaveTheSecretOut: the operator gets the client ID and
// everything examples/login.Caddyfile reads, and how to read the secret,
// but no output (readable by anyone who can describe the stack) carries
// the secret itself.
func TestProxyOutputsLeaveTheSecretOut(t *testing.T) {
	tpl := loadTemplate(t)
	if o := tpl.Outputs["ProxyClientId"]; !refersTo(o.Value, "ProxyUserPoolClient") || o.Description != "COGNITO_PROXY_CLIENT_ID" {
		t.Errorf("ProxyClientId output = %+v", o)
	}
	for name, o := range tpl.Outputs {
		if mentionsAttribute(o.Value, "ProxyUserPoolClient", "ClientSecret") {
			t.Errorf("output %s carries the app client's secret", name)
		}
	}
	cmd := sub(tpl.Outputs["ProxyClientSecretCommand"].Value)
	for _, want := range []string{"aws cognito-idp describe-user-pool-client", "--user-pool-id ${UserPool}", "--client-id ${ProxyUserPoolClient}", "--query UserPoolClient.ClientSecret", "--output text"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("ProxyClientSecretCommand %q lacks %q", cmd, want)
		}
	}
	if !strings.Contains(tpl.Outputs["ProxyClientSecretCommand"].Description, "COGNITO_CLIENT_SECRET") {
		t.Error("ProxyClientSecretCommand does not say which variable it fills")
	}
	if got := sub(tpl.Outputs["ProxyCallbackURL"].Value); got != "https://${McpDomain}"+oauthproxy.PathCallback {
		t.Errorf("ProxyCallbackURL = %q", got)
	}

	// Every {$VAR} examples/login.Caddyfile reads is exported by
	// LoginCaddyEnv (MCP_ROLE_ARN when the stack creates the role), and
	// its one {env.VAR} is the secret the command reads.
	caddyfile, err := os.ReadFile(filepath.Join("..", "login.Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	branches, _ := tpl.Outputs["LoginCaddyEnv"].Value.(map[string]any)["Fn::If"].([]any)
	if len(branches) != 3 || branches[0] != "HasCaddyRole" {
		t.Fatalf("LoginCaddyEnv = %v, want Fn::If on HasCaddyRole", tpl.Outputs["LoginCaddyEnv"].Value)
	}
	withRole, without := sub(branches[1]), sub(branches[2])
	for _, m := range regexp.MustCompile(`\{\$(\w+)`).FindAllStringSubmatch(string(caddyfile), -1) {
		if !strings.Contains(withRole, m[1]+"=") {
			t.Errorf("LoginCaddyEnv does not export %s, which examples/login.Caddyfile reads", m[1])
		}
		if m[1] != "MCP_ROLE_ARN" && !strings.Contains(without, m[1]+"=") {
			t.Errorf("LoginCaddyEnv without CaddyRoleArn does not export %s", m[1])
		}
	}
	if !strings.Contains(withRole, "MCP_ROLE_ARN=${LoginUserRole.Arn}") {
		t.Errorf("LoginCaddyEnv with the role: %q", withRole)
	}
	for _, m := range regexp.MustCompile(`\{env\.(\w+)\}`).FindAllStringSubmatch(string(caddyfile), -1) {
		if m[1] != "COGNITO_CLIENT_SECRET" {
			t.Errorf("examples/login.Caddyfile reads {env.%s} at start-up, which no output explains", m[1])
		}
	}
}

// mentionsAttribute reports whether v uses resource's attribute, through
// Fn::GetAtt or ${resource.attribute} in Fn::Sub.
func mentionsAttribute(v any, resource, attribute string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "Fn::GetAtt" {
				if l, ok := x.([]any); ok && len(l) == 2 && l[0] == resource && l[1] == attribute {
					return true
				}
			}
			if k == "Fn::Sub" {
				if s, ok := x.(string); ok && strings.Contains(s, "${"+resource+"."+attribute+"}") {
					return true
				}
			}
			if mentionsAttribute(x, resource, attribute) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if mentionsAttribute(x, resource, attribute) {
				return true
			}
		}
	}
	return false
}

// TestLoginUserRoleIsAssumedOnlyByCaddy: with CaddyRoleArn, the role
// assume_role vends trusts that principal only, for exactly the STS
// actions cognito_auth's AssumeRole call needs (derived from the code:
// the call, its SourceIdentity, its Tags), carries the tools' policy, and
// LoginVendingPolicy lets Caddy's role make those calls on it and nothing
// else.
func TestLoginUserRoleIsAssumedOnlyByCaddy(t *testing.T) {
	tpl := loadTemplate(t)
	need := map[string]bool{}
	for action := range analyze(t, "cognitoauth").actions() {
		// AssumeRoleWithWebIdentity (role_arn) is unsigned: no principal
		// needs permission for it.
		if strings.HasPrefix(action, "sts:") && action != "sts:AssumeRoleWithWebIdentity" {
			need[action] = true
		}
	}
	if !need["sts:AssumeRole"] || !need["sts:SetSourceIdentity"] || !need["sts:TagSession"] {
		t.Fatalf("cognitoauth's signed STS actions %v: the source analysis is broken", sortedKeys(need))
	}
	role := tpl.Resources["LoginUserRole"]
	if role.Type != "AWS::IAM::Role" || role.Condition != "HasCaddyRole" {
		t.Fatalf("LoginUserRole = %+v, want an IAM role under HasCaddyRole", role)
	}
	trust := statements(t, role.Properties["AssumeRolePolicyDocument"], "LoginUserRole trust policy")
	if len(trust) != 1 {
		t.Fatalf("LoginUserRole trust policy has %d statements, want 1", len(trust))
	}
	if p, _ := trust[0].Principal.(map[string]any); !refersTo(p["AWS"], "CaddyRoleArn") || len(p) != 1 {
		t.Errorf("LoginUserRole trusts %v, want only {AWS: CaddyRoleArn}", trust[0].Principal)
	}
	if got := slices.Sorted(slices.Values(trust[0].Actions)); !slices.Equal(got, sortedKeys(need)) {
		t.Errorf("LoginUserRole trust actions %v, want %v", got, sortedKeys(need))
	}
	if !attachedTo(tpl, "LoginUserRole", "CloudWatchReadPolicy") || !attachedTo(tpl, "LoginUserRole", "AccountChainingPolicy") {
		t.Error("LoginUserRole must carry CloudWatchReadPolicy (and AccountChainingPolicy when account roles are set)")
	}
	if d, _ := role.Properties["MaxSessionDuration"].(float64); d < 3600 {
		t.Errorf("LoginUserRole MaxSessionDuration %v is below cognito_auth's default session_duration (1h)", role.Properties["MaxSessionDuration"])
	}
	pol := tpl.Resources["LoginVendingPolicy"]
	if pol.Condition != "HasCaddyRole" {
		t.Errorf("LoginVendingPolicy condition %q", pol.Condition)
	}
	if got := allowedActions(t, tpl, "LoginVendingPolicy"); !slices.Equal(sortedKeys(got), sortedKeys(need)) {
		t.Errorf("LoginVendingPolicy allows %v, want %v", sortedKeys(got), sortedKeys(need))
	}
	for _, st := range statements(t, pol.Properties["PolicyDocument"], "LoginVendingPolicy") {
		if !refersTo(st.Resource, "LoginUserRole") {
			t.Errorf("LoginVendingPolicy statement %s on %v, want LoginUserRole only", st.Sid, st.Resource)
		}
	}
	for name, want := range map[string]string{"LoginUserRoleArn": "HasCaddyRole", "LoginVendingPolicyArn": "HasCaddyRole"} {
		if tpl.Outputs[name].Condition != want {
			t.Errorf("output %s condition %q, want %s", name, tpl.Outputs[name].Condition, want)
		}
	}
}
