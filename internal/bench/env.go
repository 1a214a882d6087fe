package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

const (
	benchRole     = "arn:aws:iam::123456789012:role/bench"
	benchAudience = "https://bench.example/mcp"
)

// benchEnv is one in-process Caddy with every site the measures need, plus
// the test issuer and the fake AWS it talks to (child processes use them
// too, over loopback).
type benchEnv struct {
	issuer  *testissuer.Issuer
	fake    *fakeaws.Fake
	cognito *fakecognito.Fake // the login proxy's upstream (P11)
	ports   map[string]int
	dir     string

	mu       sync.Mutex
	minted   []string // tokens of users u00000, u00001, …
	children []*child
	closed   bool
}

func (e *benchEnv) url(site, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", e.ports[site], path)
}

// Sites of the in-process Caddy:
//   - bare: respond (P1 baseline)
//   - auth: cognito_auth + respond (P1 subject, P7 baseline)
//   - mcp:  cognito_auth (role_arn vending) + cloudwatch_mcp (P2, P4, P5);
//     its Insights polling budget is out of the way (P5 measures the
//     schedule's latency with 35 queries of one account at once)
//   - insights: the same with the default budget, 2/s burst 10 (P13)
//   - vend: cognito_auth (role_arn vending) + respond (P7)
//   - p3:   vending whose credentials turn due for renewal 2–3 s after issue
//   - p3x:  vending that renews only 1 s before expiry (P3 moves the fake
//     AWS clock so that credentials expire 3 s after issue)
//   - lb1, lb2: reverse_proxy to one / two stateless child instances (P8)
//   - login: cognito_auth with oauth_proxy in front of the fake Cognito +
//     respond (P11a, P11b)
//   - proxyoff, proxyon: cognito_auth with resource + respond, without and
//     with oauth_proxy (P11c: the request path with the proxy configured)
//
// up1 and up2 are the ports of the P8 children.
var sites = []string{"bare", "auth", "mcp", "insights", "vend", "p3", "p3x", "lb1", "lb2", "up1", "up2", "login", "proxyoff", "proxyon"}

func startEnv() (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "cwmcp-bench")
	if err != nil {
		return nil, err
	}
	e := &benchEnv{issuer: testissuer.New(), fake: fakeaws.Start(), cognito: fakecognito.Start(), ports: map[string]int{}, dir: dir}
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: e.issuer.Issuer(), Keys: e.issuer.JWKS()})
	e.fake.AddRole(fakeaws.Role{ARN: benchRole, WebIdentityIssuers: []string{e.issuer.Issuer()}, MaxSessionDuration: 12 * time.Hour})
	fakeaws.LogsOf(e.fake).SeedDemo()

	// Children inherit these, so every Caddy in the run talks to this fake.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": e.fake.URL, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": dir + "/none", "AWS_SHARED_CREDENTIALS_FILE": dir + "/none",
		"XDG_DATA_HOME": dir + "/data", "XDG_CONFIG_HOME": dir + "/config",
	} {
		os.Setenv(k, v)
	}
	ports, err := testport.PickN(len(sites))
	if err != nil {
		return nil, err
	}
	for i, site := range sites {
		e.ports[site] = ports[i]
	}
	auth := e.authBlock("")
	vend := e.authBlock("role_arn " + benchRole)
	cf := globalOptions(dir+"/storage") + fmt.Sprintf(`
http://127.0.0.1:%d {
	respond "hello"
}
http://127.0.0.1:%d {
%s
	respond "hello"
}
http://127.0.0.1:%d {
%s
	cloudwatch_mcp {
		insights_poll_rate 1000/s burst 1000
	}
}
http://127.0.0.1:%d {
%s
	cloudwatch_mcp
}
http://127.0.0.1:%d {
%s
	respond "hello"
}
http://127.0.0.1:%d {
%s
	respond "hello"
}
http://127.0.0.1:%d {
%s
	respond "hello"
}
http://127.0.0.1:%d {
	reverse_proxy 127.0.0.1:%d
}
http://127.0.0.1:%d {
	reverse_proxy 127.0.0.1:%d 127.0.0.1:%d {
		lb_policy round_robin
	}
}
`, e.ports["bare"], e.ports["auth"], auth, e.ports["mcp"], vend, e.ports["insights"], vend, e.ports["vend"], vend,
		e.ports["p3"], e.authBlock("role_arn "+benchRole+"\n\t\tsession_duration 15m\n\t\trefresh_before 14m57s"),
		e.ports["p3x"], e.authBlock("role_arn "+benchRole+"\n\t\tsession_duration 15m\n\t\trefresh_before 1s"),
		e.ports["lb1"], e.ports["up1"], e.ports["lb2"], e.ports["up1"], e.ports["up2"])
	cf += e.loginSites()
	if err := loadCaddyfile(cf); err != nil {
		return nil, err
	}
	return e, nil
}

// globalOptions keep every Caddy of the run off the admin port, the disk
// outside dir and the console (warnings and errors only).
func globalOptions(storage string) string {
	return fmt.Sprintf(`{
	admin off
	persist_config off
	storage file_system %s
	log {
		level WARN
	}
}
`, storage)
}

// authBlock is a cognito_auth block for the run's issuer, with extra
// directives (vending) inside.
func (e *benchEnv) authBlock(extra string) string {
	s := fmt.Sprintf("\tcognito_auth {\n\t\tissuer %s\n\t\taudiences %s\n", e.issuer.Issuer(), benchAudience)
	if extra != "" {
		s += "\t\t" + extra + "\n"
	}
	return s + "\t}"
}

func loadCaddyfile(cf string) error {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		return err
	}
	return caddy.Load(cfg, true)
}

func (e *benchEnv) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	children := e.children
	e.mu.Unlock()
	for _, c := range children {
		c.stop()
	}
	_ = caddy.Stop()
	e.fake.Close()
	e.cognito.Close()
	e.issuer.Close()
	os.RemoveAll(e.dir)
}

// token is a valid RS256 access token for the bench audience.
func (e *benchEnv) token(sub string) string {
	return e.issuer.Mint(e.issuer.OIDCAccessClaims(sub, benchAudience), testissuer.Typ("at+jwt"))
}

// tokens returns tokens of n distinct users, minting (on every core) the
// ones not minted yet. They live an hour, longer than any run.
func (e *benchEnv) tokens(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if have := len(e.minted); have < n {
		more := make([]string, n-have)
		var wg sync.WaitGroup
		workers := max(1, runtime.GOMAXPROCS(0))
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(more); i += workers {
					more[i] = e.token(fmt.Sprintf("u%05d", have+i))
				}
			}()
		}
		wg.Wait()
		e.minted = append(e.minted, more...)
	}
	return e.minted[:n]
}
