package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// measureP4: p50 latency added by the whole edge to describe_log_groups
// (Caddy, token check, credential cache, MCP, tool) over a direct SDK call
// to the same fake.
func measureP4(e *benchEnv, cfg config) (*result, error) {
	r := &result{
		id: "P4", measure: "p50 added latency (ms), `tools/call describe_log_groups`",
		baseline: "direct SDK DescribeLogGroups to the same fake", goal: "≤ 1 ms", unit: "ms",
		ratio: func(s, b float64) float64 { return s - b },
	}
	r.pass, r.miss = atMost(1.0, "ms")
	client := newClient(1)
	sess, err := openSession(client, e.url("mcp", "/"), e.token("p4-user"))
	if err != nil {
		return nil, err
	}
	creds := e.fake.IssueCredentials("p4-direct", time.Now().Add(12*time.Hour))
	sdk := cloudwatchlogs.NewFromConfig(fakeaws.TestConfig(e.fake, fakeaws.StaticCredentials(creds)))
	ctx := context.Background()

	tool := func() error {
		_, err := sess.call(client, "tools/call", `{"name":"describe_log_groups","arguments":{}}`)
		return err
	}
	direct := func() error {
		_, err := sdk.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		return err
	}
	sample := func(f func() error) (float64, error) { return timedP50(cfg.latencyN, f) }
	for range 50 { // warm both paths: keys, credentials, clients, connections
		if err := tool(); err != nil {
			return nil, fmt.Errorf("P4 tool: %w", err)
		}
		if err := direct(); err != nil {
			return nil, fmt.Errorf("P4 direct: %w", err)
		}
	}
	for range cfg.rounds {
		s, err := sample(tool)
		if err != nil {
			return nil, err
		}
		b, err := sample(direct)
		if err != nil {
			return nil, err
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	return r, nil
}
