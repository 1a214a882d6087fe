package e2e

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const roleARN = "arn:aws:iam::123456789012:role/cloudwatch-readers"

// globalOptions is the global block every edge config of this package
// shares: the config's own admin and HTTP ports (see loadEdge), throwaway
// storage, and debug logs to a file the secret scan reads.
const globalOptions = `
{
	admin localhost:{$E2E_ADMIN_PORT}
	http_port {$E2E_HTTP_PORT}
	https_port {$E2E_HTTPS_PORT}
	skip_install_trust
	persist_config off
	storage file_system {$E2E_STORAGE}
	debug
	log {
		output file {$E2E_LOGS}/caddy.log
		format json
	}
}
`

var (
	issuer *testissuer.Issuer
	fake   *fakeaws.Fake
	// scan holds every test here to issue 8's secret scan: Caddy's debug
	// and access logs ({$E2E_LOGS}) and every response read through
	// http.DefaultClient or connect's client must not contain any secret
	// key, session token or JWT handed out in this process.
	scan = secretscan.New()
)

// TestMain starts the issuer and the fake AWS once and points every AWS SDK
// client in the process (the in-process Caddy's included) at the fake
// through AWS_ENDPOINT_URL, exactly as a LocalStack user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cwmcp-e2e")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir+"/data")
	os.Setenv("XDG_CONFIG_HOME", dir+"/config")

	issuer = testissuer.New()
	fake = fakeaws.Start()
	fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	fake.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{issuer.Issuer()}})
	fakeaws.LogsOf(fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/aws/lambda/checkout", CreationTime: time.Now().Add(-48 * time.Hour)},
		fakeaws.LogGroup{Name: "/ecs/payments", CreationTime: time.Now().Add(-24 * time.Hour)},
	)

	os.Setenv("AWS_ENDPOINT_URL", fake.URL)
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", dir+"/nonexistent")
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/nonexistent")
	os.Setenv("E2E_STORAGE", dir+"/storage")
	os.Setenv("E2E_ISSUER", issuer.Issuer())
	os.Setenv("E2E_ROLE", roleARN)
	os.Setenv("E2E_LOGS", dir+"/logs")
	scan.WatchFile(dir + "/logs/caddy.log")
	scan.WatchFile(dir + "/logs/access.log")
	http.DefaultClient.Transport = scan.Transport(http.DefaultTransport)

	code := m.Run()
	_ = caddy.Stop()
	fake.Close()
	issuer.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The ports of the edge config running now. Every loadEdge gets fresh
// ones, so a test's requests can only reach its own config: a server of
// the previous test still shutting down on a shared port would close the
// client's pooled keep-alive connections under the next request (EOF).
// The tests of this package run one at a time (they set the environment).
var httpPort, httpsPort, adminPort, secondPort int

// loadEdge runs the Caddyfile in this process on fresh ports, published to
// it as {$E2E_HTTP_PORT}, {$E2E_HTTPS_PORT}, {$E2E_ADMIN_PORT} and
// {$E2E_SECOND_PORT} (a second site), with {$E2E_RESOURCE} the MCP URL the
// tokens of token() are bound to. Caddy stops when t ends.
func loadEdge(t *testing.T, caddyfile string) {
	t.Helper()
	p := testcaddy.Start(t, 4, func(p []int) string {
		for i, name := range []string{"E2E_HTTP_PORT", "E2E_HTTPS_PORT", "E2E_ADMIN_PORT", "E2E_SECOND_PORT"} {
			t.Setenv(name, fmt.Sprint(p[i]))
		}
		t.Setenv("E2E_RESOURCE", fmt.Sprintf("http://localhost:%d/mcp", p[0]))
		return caddyfile
	})
	httpPort, httpsPort, adminPort, secondPort = p[0], p[1], p[2], p[3]
}
