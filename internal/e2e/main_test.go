package e2e

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	adminPort = 2103
	httpPort  = 9103
	httpsPort = 9443
	roleARN   = "arn:aws:iam::123456789012:role/cloudwatch-readers"
)

// globalOptions is the global block every edge config of this package
// shares: the test binary's own admin and HTTP ports, throwaway storage, and
// debug logs to a file the secret scan reads.
const globalOptions = `
{
	admin localhost:2103
	http_port 9103
	https_port 9443
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
	os.Setenv("E2E_RESOURCE", fmt.Sprintf("http://localhost:%d/mcp", httpPort))
	os.Setenv("E2E_LOGS", dir+"/logs")
	scan.WatchFile(dir + "/logs/caddy.log")
	scan.WatchFile(dir + "/logs/access.log")
	http.DefaultClient.Transport = scan.Transport(http.DefaultTransport)

	code := m.Run()
	fake.Close()
	issuer.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}
