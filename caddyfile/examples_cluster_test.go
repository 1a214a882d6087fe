package caddyfile

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// TestClusterExample validates every Caddyfile of examples/cluster with
// the environment its header documents (as `caddy validate` would), and
// holds the cluster to its promises: every instance keeps its sessions and
// rate limits in Redis with one shared secret, and the load balancer
// spreads requests over three instances without sticky sessions.
func TestClusterExample(t *testing.T) {
	fake := fakeaws.Start()
	defer fake.Close()
	files, _ := filepath.Glob("../examples/cluster/*Caddyfile")
	if len(files) != 2 {
		t.Fatalf("want instance.Caddyfile and lb.Caddyfile, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc := readExample(t, f)
			validateEnv(t, doc, fake.URL)
			t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
			t.Setenv("SESSION_SECRET", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
			if err := validate(f); err != nil {
				t.Fatalf("%s does not validate: %v", f, err)
			}
			cfg := string(adaptJSON(t, f))
			switch filepath.Base(f) {
			case "instance.Caddyfile":
				for _, want := range []string{`"redis":"{env.REDIS_URL}"`, `"redis_secret":"{env.SESSION_SECRET}"`, `"handler":"cloudwatch_mcp"`} {
					if !strings.Contains(cfg, want) {
						t.Errorf("instance config lacks %s", want)
					}
				}
				if strings.Count(cfg, `"redis":"{env.REDIS_URL}"`) != 2 {
					t.Error("cognito_auth and cloudwatch_mcp must both use the Redis")
				}
			case "lb.Caddyfile":
				if n := strings.Count(cfg, `"dial":"mcp-`); n != 3 {
					t.Errorf("%d upstreams, want 3", n)
				}
				for _, sticky := range []string{"cookie", "ip_hash", "client_ip_hash", "header"} {
					if strings.Contains(cfg, `"policy":"`+sticky+`"`) {
						t.Errorf("sticky policy %s: the cluster needs none", sticky)
					}
				}
			}
		})
	}
}
