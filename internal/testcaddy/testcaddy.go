// Package testcaddy runs Caddy inside a test binary on ports of its own.
//
// Each config is loaded with caddy.Load, the call behind the admin API's
// POST /load, so a test needs no admin port to reach (caddytest keeps one
// fixed port per process and polls it) and Load returning means the new
// servers are listening. Start gives every config fresh ports: a request
// sent after a load can only reach the new config, never a server of the
// previous one still shutting down on the same port (whose closing
// keep-alive connections answer with EOF), and never another process.
package testcaddy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile" // the Caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// Load adapts the Caddyfile (its errors name the file "Caddyfile", as
// caddy adapt does) and runs it in this process in place of the config
// running now. It returns when the new config's servers are listening or
// Caddy refused it (the old config then keeps running).
func Load(caddyfile string) error {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return fmt.Errorf("adapt: %w", err)
	}
	return caddy.Load(cfg, true)
}

// attempts bounds Start's retries. A port taken between Pick and Caddy's
// bind is rare; five in a row means something else is wrong.
const attempts = 5

// Start loads the Caddyfile that config returns for n fresh ports and
// stops Caddy when t ends. If another process took one of the ports before
// Caddy could bind it, Start asks config again with new ports. It returns
// the ports of the running config and fails t if Caddy refuses the config.
func Start(t testing.TB, n int, config func(ports []int) string) []int {
	t.Helper()
	t.Cleanup(func() { _ = caddy.Stop() })
	var err error
	for range attempts {
		ports := testport.FreeN(t, n)
		cf := config(ports)
		if err = Load(cf); err == nil {
			return ports
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("caddy load: %v\n%s", err, cf)
		}
		t.Logf("testcaddy: a port was taken before Caddy bound it, trying new ones: %v", err)
	}
	t.Fatalf("caddy load: %d attempts: %v", attempts, err)
	return nil
}
