package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const benchRole = "arn:aws:iam::123456789012:role/bench"

// benchEnv is one in-process Caddy with every site the measures need, plus
// the test issuer and the fake AWS it talks to.
type benchEnv struct {
	issuer *testissuer.Issuer
	fake   *fakeaws.Fake
	ports  map[string]int
	dir    string
}

func (e *benchEnv) url(site, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", e.ports[site], path)
}

func startEnv() (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "cwmcp-bench")
	if err != nil {
		return nil, err
	}
	e := &benchEnv{issuer: testissuer.New(), fake: fakeaws.Start(), ports: map[string]int{}, dir: dir}
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: e.issuer.Issuer(), Keys: e.issuer.JWKS()})
	e.fake.AddRole(fakeaws.Role{ARN: benchRole, WebIdentityIssuers: []string{e.issuer.Issuer()}, MaxSessionDuration: 12 * time.Hour})
	fakeaws.LogsOf(e.fake).SeedDemo()

	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": e.fake.URL, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": dir + "/none", "AWS_SHARED_CREDENTIALS_FILE": dir + "/none",
	} {
		os.Setenv(k, v)
	}
	for _, site := range []string{"bare", "auth", "mcp"} {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		e.ports[site] = p
	}
	cf := fmt.Sprintf(`{
	admin off
	persist_config off
	storage file_system %[1]s/storage
}
http://127.0.0.1:%[2]d {
	respond "hello"
}
http://127.0.0.1:%[3]d {
	cognito_auth {
		issuer %[5]s
		audiences https://bench.example/mcp
	}
	respond "hello"
}
http://127.0.0.1:%[4]d {
	cognito_auth {
		issuer %[5]s
		audiences https://bench.example/mcp
		role_arn %[6]s
	}
	cloudwatch_mcp
}
`, dir, e.ports["bare"], e.ports["auth"], e.ports["mcp"], e.issuer.Issuer(), benchRole)
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		return nil, err
	}
	if err := caddy.Load(cfg, true); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *benchEnv) close() {
	_ = caddy.Stop()
	e.fake.Close()
	e.issuer.Close()
	os.RemoveAll(e.dir)
}

// token is a valid RS256 access token for the bench audience.
func (e *benchEnv) token(sub string) string {
	return e.issuer.Mint(e.issuer.OIDCAccessClaims(sub, "https://bench.example/mcp"), testissuer.Typ("at+jwt"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
