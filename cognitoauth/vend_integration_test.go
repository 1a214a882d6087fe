package cognitoauth_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

const vendRole = "arn:aws:iam::123456789012:role/mcp-users"

// vendingSite serves one route behind cognito_auth with credential vending,
// echoing the credentials var and the role-session placeholder, with debug
// logs and an access log that log_append's the var, all into dir.
func vendingSite(dir, jwksURL, vending string) func(base, globals string) string {
	scan.WatchFile(filepath.Join(dir, "caddy.log"))
	scan.WatchFile(filepath.Join(dir, "access.log"))
	return func(base, globals string) string {
		return fmt.Sprintf(`{
%[6]s	skip_install_trust
	persist_config off
	debug
	log {
		output file %[1]s/caddy.log
		format json
	}
}

%[2]s {
	log {
		output file %[1]s/access.log
		format json
	}
	log_append aws_credentials {http.vars.cognito_auth.aws_credentials}
	log_append aws_role_session {http.auth.user.aws_role_session}
	route {
		cognito_auth {
			user_pool us-east-1 %[3]s
			jwks_url %[4]s
			client_ids client-a
			resource %[2]s/mcp
			%[5]s
		}
		respond "creds={http.vars.cognito_auth.aws_credentials} session={http.auth.user.aws_role_session}"
	}
}
`, dir, base, pool, jwksURL, vending, globals)
	}
}

// vendingFake is a fake AWS where the server's key may assume vendRole,
// reached through the same environment variables users set.
func vendingFake(t *testing.T, is *testissuer.Issuer) *fakeaws.Fake {
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: poolIss, ClientIDs: []string{"client-a"}, Keys: is.JWKS()})
	f.AddRole(fakeaws.Role{ARN: vendRole, AssumeRoleBy: []string{"server"}})
	f.AddCredentials(aws.Credentials{AccessKeyID: "AKIASERVERINTEGRATION", SecretAccessKey: "server-secret-integration"}, "server")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": f.URL, "AWS_ACCESS_KEY_ID": "AKIASERVERINTEGRATION", "AWS_SECRET_ACCESS_KEY": "server-secret-integration",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent/aws-config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials", "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
	return f
}

func TestVendingRedactedThroughCaddy(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	f := vendingFake(t, is)
	dir := t.TempDir()
	e := newEdge(t)
	e.load(vendingSite(dir, is.JWKSURL(), "token_use any\n\t\t\tassume_role "+vendRole))

	tok := is.Mint(is.CognitoIDClaims("alice-sub", "client-a"))
	resp, body := do(t, e, "GET", "/mcp", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	mm := regexp.MustCompile(`access_key_id: (ASIA[0-9A-F]+)`).FindStringSubmatch(body)
	if mm == nil || !strings.Contains(body, "secret_access_key: REDACTED") || !strings.Contains(body, "session="+awsname.Session(poolIss, "alice-sub")) {
		t.Fatalf("response does not show the redacted credentials: %s", body)
	}
	sess, ok := f.Session(mm[1])
	if !ok || sess.Owner != awsname.Session(poolIss, "alice-sub") || sess.SecretAccessKey == "" || sess.SessionToken == "" {
		t.Fatalf("the fake did not vend %s to alice: %+v", mm[1], sess)
	}
	// A second request is served from the cache, still redacted.
	if resp, body = do(t, e, "GET", "/mcp", tok); resp.StatusCode != 200 || f.CallCount("AssumeRole") != 1 {
		t.Fatalf("status %d, %d exchanges", resp.StatusCode, f.CallCount("AssumeRole"))
	}

	// A refusal by AWS and an outage, through Caddy.
	f.AddRole(fakeaws.Role{ARN: vendRole})
	other := is.Mint(is.CognitoIDClaims("bob-sub", "client-a"))
	resp, body403 := do(t, e, "GET", "/mcp", other)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("AccessDenied: status %d: %s", resp.StatusCode, body403)
	}
	if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) {
		t.Errorf("403 without an RFC 6750 challenge: %q", ch)
	}
	f.SetFault("AssumeRole", fakeaws.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"})
	resp, body503 := do(t, e, "GET", "/mcp", is.Mint(is.CognitoIDClaims("carol-sub", "client-a")))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("throttled: status %d: %s", resp.StatusCode, body503)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}

	// Caddy writes a request's access log entry after the response has
	// gone out: wait for the four requests' entries.
	accessLog := readLines(t, filepath.Join(dir, "access.log"), 4)
	caddyLog := readFile(t, filepath.Join(dir, "caddy.log"))
	if !strings.Contains(accessLog, `"secret_access_key":"REDACTED"`) || !strings.Contains(accessLog, mm[1]) {
		t.Fatalf("log_append of the credentials var is missing from the access log:\n%s", accessLog)
	}
	if !strings.Contains(caddyLog, `"level":"debug"`) {
		t.Fatalf("debug logging is not on; the test would prove nothing:\n%s", caddyLog)
	}
	for name, text := range map[string]string{"access log": accessLog, "caddy log": caddyLog, "response": body + body403 + body503} {
		for what, secret := range map[string]string{
			"secret key": sess.SecretAccessKey, "session token": sess.SessionToken, "raw JWT": tok, "JWT signature": tok[strings.LastIndexByte(tok, '.')+1:],
			"server secret": "server-secret-integration",
		} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the %s", name, what)
			}
		}
	}
}

func TestVendingProvisionWarnsAboutAccessTokens(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	vendingFake(t, is)
	dir := t.TempDir()
	e := newEdge(t)
	e.load(vendingSite(dir, is.JWKSURL(), "identity_pool us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11"))
	// The warning is written by the config load; wait for it rather than
	// assume the log file holds it the moment the load returns.
	testwait.Until(t, "the provision warning in caddy.log", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "caddy.log"))
		return strings.Contains(string(b), "identity_pool without developer_provider accepts only ID tokens")
	})
	resp, body := do(t, e, "GET", "/mcp", is.Mint(is.CognitoAccessClaims("alice-sub", "client-a")))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body+resp.Header.Get("WWW-Authenticate"), "ID token") {
		t.Fatalf("want 403 naming the needed token type, got %d %q %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
}

// readLines reads the file once it has at least n lines.
func readLines(t *testing.T, path string, n int) string {
	t.Helper()
	var b []byte
	testwait.Until(t, fmt.Sprintf("%d lines in %s", n, path), func() bool {
		b, _ = os.ReadFile(path)
		return bytes.Count(b, []byte("\n")) >= n
	})
	return string(b)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}
