package oauthlogin

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
)

const (
	roleARN      = "arn:aws:iam::123456789012:role/mcp-cloudwatch"
	proxyClient  = "4j2mproxyappclient"
	proxySecret  = "s3cr3t-1a2b3c4d5e6f7g8h9i0j-upstream"
	serverAKID   = "AKIASERVERSELF00001"
	serverSecret = "server-own-secret-key-do-not-leak-0001"
	alice        = "alice"
	alicePass    = "alice-long-enough-password-1"
	bob          = "bob"
	bobPass      = "bob-long-enough-password-22"
)

var (
	cognito *fakecognito.Fake
	fake    *fakeaws.Fake
	dir     string
	// scan covers Caddy's logs and every page a browser was shown: no
	// code, token, verifier, secret, password or sealing key may appear.
	scan = secretscan.New()
)

// TestMain starts the fake user pool and the fake AWS once and points the
// in-process Caddy's AWS SDK at the fake, signing its own calls
// (AssumeRole) with the server's credentials, as a real deployment would.
func TestMain(m *testing.M) {
	var err error
	if dir, err = os.MkdirTemp("", "cwmcp-oauthlogin"); err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir+"/data")
	os.Setenv("XDG_CONFIG_HOME", dir+"/config")

	cognito = fakecognito.Start()
	cognito.AddUser(fakecognito.User{Username: alice, Password: alicePass, Email: "alice@example.com"})
	cognito.AddUser(fakecognito.User{Username: bob, Password: bobPass, Email: "bob@example.com"})

	fake = fakeaws.Start()
	fake.AddRole(fakeaws.Role{ARN: roleARN, AssumeRoleBy: []string{"server"}})
	fake.AddCredentials(aws.Credentials{AccessKeyID: serverAKID, SecretAccessKey: serverSecret}, "server")
	fakeaws.LogsOf(fake).AddLogGroup(fakeaws.LogGroup{Name: "/aws/lambda/checkout", CreationTime: time.Now().Add(-48 * time.Hour)})

	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": fake.URL, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": serverAKID, "AWS_SECRET_ACCESS_KEY": serverSecret, "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": dir + "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": dir + "/nonexistent",
		"E2E_PROXY_SECRET": proxySecret,
	} {
		os.Setenv(k, v)
	}
	scan.Add("the server's own AWS secret key", serverSecret)
	scan.WatchFile(filepath.Join(dir, "logs", "caddy.log"))
	scan.WatchFile(filepath.Join(dir, "logs", "access.log"))

	code := m.Run()
	_ = caddy.Stop()
	fake.Close()
	cognito.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// site is one cognito_auth + cloudwatch_mcp site of the edge.
type site struct {
	listen   int    // port Caddy listens on
	resource string // the public MCP URL (may be a load balancer's)
	issuer   string // default: the fake Cognito
	vend     string // default: assume_role
	mcp      string // cloudwatch_mcp block body
	proxy    string // more oauth_proxy options
}

// edgeConfig is the Caddyfile of an edge with the given sites.
func edgeConfig(sites ...site) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{
	admin off
	auto_https off
	persist_config off
	http_port %d
	storage file_system %s
	debug
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	log {
		output file %s
		format json
	}
}
`, sites[0].listen, filepath.Join(dir, "storage"), filepath.Join(dir, "logs", "caddy.log"))
	for _, s := range sites {
		fmt.Fprintf(&b, `
http://:%d {
	log {
		output file %s
		format filter {
			wrap json
			request>uri query {
				replace code REDACTED
			}
			resp_headers>Location query {
				replace code REDACTED
			}
		}
	}
	cognito_auth {
		issuer %s
		client_ids %s
		resource %s
		%s
		oauth_proxy {
			client_id %s
			client_secret {env.E2E_PROXY_SECRET}
			%s
		}
	}
	cloudwatch_mcp {
		%s
	}
}
`, s.listen, filepath.Join(dir, "logs", "access.log"), cmp.Or(s.issuer, cognito.URL()), proxyClient, s.resource,
			cmp.Or(s.vend, "assume_role "+roleARN), proxyClient, s.proxy, s.mcp)
	}
	return b.String()
}

// startEdge loads the config into the process's Caddy (replacing the
// previous test's) and registers the proxy's callback at the fake user
// pool, as an operator registers it on the Cognito app client.
func startEdge(t testing.TB, sites ...site) {
	t.Helper()
	if err := loadEdge(t, sites...); err != nil {
		t.Fatalf("caddy load: %v", err)
	}
	// The sealing key Caddy generated into its storage is a secret too.
	if k, err := os.ReadFile(filepath.Join(dir, "storage", "cognito_auth", "oauth_proxy", "sealing_key")); err == nil {
		scan.Add("the OAuth proxy's sealing key", strings.TrimSpace(string(k)))
	} else {
		t.Fatalf("no sealing key in Caddy's storage: %v", err)
	}
}

// loadEdge loads the config, returning Caddy's error.
func loadEdge(t testing.TB, sites ...site) error {
	t.Helper()
	var callbacks []string
	for _, s := range sites {
		callbacks = append(callbacks, originOf(s.resource)+"/oauth/callback")
	}
	cognito.AddClient(fakecognito.AppClient{ID: proxyClient, Secret: proxySecret, CallbackURLs: callbacks})
	t.Cleanup(func() { _ = caddy.Stop() })
	return testcaddy.Load(edgeConfig(sites...))
}

func originOf(u string) string {
	i := strings.Index(u[len("http://"):], "/")
	if i < 0 {
		return u
	}
	return u[:len("http://")+i]
}
