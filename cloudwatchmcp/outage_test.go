package cloudwatchmcp

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// TestHungAWSCallBoundedByMaxQueryTimeout: a CloudWatch endpoint that
// accepts the request and never answers used to hold the tool call until
// the MCP client gave up (the SDK's HTTP client has no overall timeout).
// Every SDK call is now capped at max_query_timeout and the caller gets a
// readable isError result; the next call works again.
func TestHungAWSCallBoundedByMaxQueryTimeout(t *testing.T) {
	ts := newTestServer(t, &Handler{Tools: []string{"logs"}, MaxQueryTimeout: caddy.Duration(300 * time.Millisecond)})
	ts.fake.SetFault("DescribeLogGroups", fakeaws.Fault{Delay: time.Minute})
	c := ts.newClient(t, "alice")
	call := func() *mcp.CallToolResult {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req := mcp.CallToolRequest{}
		req.Params.Name = "describe_log_groups"
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("tool call did not return a result: %v", err)
		}
		return res
	}
	mcptest.WantToolError(t, call(), "timed out")
	ts.fake.ClearFaults()
	if res := call(); res.IsError {
		t.Fatalf("after the hang: %s", mcptest.ResultText(t, res))
	}
}

// TestBoundCallsKeepsShortDeadlines: the cap never extends a caller's own,
// shorter deadline, and a zero cap changes nothing.
func TestBoundCallsKeepsShortDeadlines(t *testing.T) {
	te := mcptest.NewEnv(t)
	te.Clients = toolkit.NewClients(toolkit.BoundCalls(fakeaws.TestConfig(te.Fake, nil), time.Hour), 8)
	te.Clients.Base.Credentials = nil
	te.Fake.SetFault("DescribeLogGroups", fakeaws.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(mcptest.UserCtx(te.Alice), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	res := te.CallTool(t, ctx, "describe_log_groups", map[string]any{})
	if !res.IsError || time.Since(began) > 10*time.Second {
		t.Fatalf("the caller's deadline was not honoured: %v %s", time.Since(began), mcptest.ResultText(t, res))
	}
	if cfg := toolkit.BoundCalls(fakeaws.TestConfig(te.Fake, nil), 0); len(cfg.APIOptions) != len(fakeaws.TestConfig(te.Fake, nil).APIOptions) {
		t.Fatal("a zero cap added middleware")
	}
}
