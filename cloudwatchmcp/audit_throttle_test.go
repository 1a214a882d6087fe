package cloudwatchmcp

import (
	"context"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// AWS throttles the Insights polls of a query; the call still succeeds,
// and its audit entry says it was throttled and how long it waited.
func TestAuditSaysThrottledAndWaited(t *testing.T) {
	te := mcptest.NewEnv(t)
	te.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/app", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID})
	te.Fake.SetFault("GetQueryResults", fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 2})
	core, logs := observer.New(zapcore.InfoLevel)
	au := &auditor{logger: zap.New(core), now: time.Now}
	handler := au.middleware(te.ToolHandler(t, "execute_log_insights_query"))
	req := mcp.CallToolRequest{}
	req.Params.Name = "execute_log_insights_query"
	req.Params.Arguments = map[string]any{"log_group_names": []any{"/app"}, "start_time": "2025-01-01T00:00:00Z",
		"end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message | limit 5"}
	res, err := handler(mcptest.UserCtx(te.Alice), req)
	if err != nil || res.IsError {
		t.Fatalf("a throttled query failed: %v %s", err, mcptest.ResultText(t, res))
	}
	e := logs.All()[0].ContextMap()
	if e["outcome"] != "ok" || e["aws_throttled"] != int64(2) || e["throttle_wait"].(float64) <= 0 {
		t.Fatalf("entry %v", e)
	}
	// Every request counts, the throttled ones too: StartQuery,
	// GetCallerIdentity (once per identity) and the polls.
	if n := len(te.Fake.Calls("")); e["aws_requests"] != int64(n) || te.Fake.CallCount("GetCallerIdentity") != 1 {
		t.Fatalf("aws_requests %v, %d calls reached the fake", e["aws_requests"], n)
	}
}
