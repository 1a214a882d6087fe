package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// measureP10: p50 latency that Redis-backed sessions (cloudwatch_mcp
// redis: one script run per session request, the registry's owner check
// and TTL refresh) add to tools/call describe_log_groups, over the same
// site with in-memory sessions; both sites in one child Caddy, with a
// redis-server of the run's own on loopback.
func measureP10(e *benchEnv, cfg config) ([]*result, error) {
	r := &result{
		id: "P10", measure: "p50 added latency (ms), `tools/call describe_log_groups` with sessions in Redis (`cloudwatch_mcp { redis }`)",
		baseline: "the same site with in-memory sessions", goal: "≤ 0.3 ms", unit: "ms",
		ratio: func(s, b float64) float64 { return s - b },
	}
	r.pass, r.miss = atMost(0.3, "ms")
	srv, err := startRedis("P10")
	if srv == nil {
		return nil, err // skipped (nil error) or failed
	}
	defer srv.Close()
	ports, err := testport.PickN(2)
	if err != nil {
		return nil, err
	}
	local, shared := ports[0], ports[1]
	site := func(port int, extra string) string {
		return fmt.Sprintf(`
http://127.0.0.1:%d {
%s
	cloudwatch_mcp {
		credentials default
%s
	}
}
`, port, e.authBlock(""), extra)
	}
	cf := globalOptions(e.dir+"/storage-p10") + site(local, "") +
		site(shared, "\t\tredis "+srv.URL()+" {\n\t\t\tsecret MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n\t\t}")
	creds := e.fake.IssueCredentials("p10-server", time.Now().Add(12*time.Hour))
	c, err := e.startChild("p10", cf, "AWS_ENDPOINT_URL="+e.fake.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_SESSION_TOKEN="+creds.SessionToken, "AWS_EC2_METADATA_DISABLED=true")
	if err != nil {
		return nil, err
	}
	defer c.stop()

	client := newClient(1)
	token := e.token("p10-user")
	sessions := map[int]*mcpSession{}
	for _, port := range []int{local, shared} {
		s, err := openSession(client, fmt.Sprintf("http://127.0.0.1:%d/", port), token)
		if err != nil {
			return nil, fmt.Errorf("P10: %w", err)
		}
		sessions[port] = s
	}
	call := func(port int) func() error {
		return func() error {
			_, err := sessions[port].call(client, "tools/call", `{"name":"describe_log_groups","arguments":{}}`)
			return err
		}
	}
	for range 50 { // warm both: credentials, clients, connections, scripts
		for _, port := range []int{local, shared} {
			if err := call(port)(); err != nil {
				return nil, fmt.Errorf("P10 warm-up: %w", err)
			}
		}
	}
	// The session is in Redis, as the subject says.
	if n, err := srv.Admin().DBSize(context.Background()).Result(); err != nil || n == 0 {
		return nil, fmt.Errorf("P10: no session in Redis (%d keys, %v)", n, err)
	}
	for i := range cfg.rounds {
		order := []int{shared, local}
		if i%2 == 1 {
			order = []int{local, shared}
		}
		var s, b float64
		for _, port := range order {
			v, err := timedP50(cfg.latencyN, call(port))
			if err != nil {
				return nil, fmt.Errorf("P10: %w", err)
			}
			if port == shared {
				s = v
			} else {
				b = v
			}
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	r.note = fmt.Sprintf("Both sites in one child Caddy (`credentials default` on the fake AWS), one session each, sequential calls; "+
		"redis-server 7 on loopback with no persistence, on the same %s as Caddy and the load generator", cpuWord())
	return []*result{r}, nil
}
