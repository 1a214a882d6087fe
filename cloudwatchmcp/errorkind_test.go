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

// Each kind, from the fake AWS's faults (or the tool's own checks), lands
// in the audit entry and on its metric series.
func TestToolFailuresCarryTheirKind(t *testing.T) {
	reg := testRegistry(t)
	ts, logs := auditedServer(t, &Handler{Tools: []string{testToolGroup, "logs"}, MaxQueryTimeout: caddy.Duration(300 * time.Millisecond)})
	c := ts.newClient(t, "alice")
	series := func(tool, outcome, kind string) string {
		return `caddy_cloudwatch_mcp_tool_calls_total{error_kind="` + kind + `",outcome="` + outcome + `",tool="` + tool + `"}`
	}
	before := scrape(t, reg)
	for _, tc := range []struct {
		name    string
		fault   *fakeaws.Fault
		tool    string
		args    map[string]any
		outcome string // the audit's; the metric counts AWS's AccessDenied as denied
		kind    string
		code    string
	}{
		{"throttled", &fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}, "describe_log_groups", nil, "error", toolkit.KindThrottled, "ThrottlingException"},
		{"limit exceeded", &fakeaws.Fault{Status: 400, Code: "LimitExceededException", Message: "too many queries"}, "describe_log_groups", nil, "error", toolkit.KindThrottled, "LimitExceededException"},
		{"access denied", &fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not allowed"}, "describe_log_groups", nil, "error", toolkit.KindAccessDenied, "AccessDeniedException"},
		{"expired token", &fakeaws.Fault{Status: 400, Code: "ExpiredTokenException", Message: "expired"}, "describe_log_groups", nil, "error", toolkit.KindAccessDenied, "ExpiredTokenException"},
		{"aws validation", &fakeaws.Fault{Status: 400, Code: "InvalidParameterException", Message: "bad prefix"}, "describe_log_groups", nil, "error", toolkit.KindInvalidArgument, "InvalidParameterException"},
		{"our validation", nil, "describe_log_groups", map[string]any{"max_items": 0}, "error", toolkit.KindInvalidArgument, ""},
		{"timeout", &fakeaws.Fault{Delay: 5 * time.Second}, "describe_log_groups", nil, "error", toolkit.KindTimeout, ""},
		{"aws error", &fakeaws.Fault{Status: 400, Code: "OperationAbortedException", Message: "try again"}, "describe_log_groups", nil, "error", toolkit.KindAWSError, "OperationAbortedException"},
		{"insights start", &fakeaws.Fault{Status: 400, Code: "MalformedQueryException", Message: "bad query"}, "execute_log_insights_query",
			map[string]any{"log_group_names": []any{"/aws/x"}, "query_string": "fields x", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"},
			"error", toolkit.KindInvalidArgument, "MalformedQueryException"},
		{"no credentials", nil, "test_whoami", nil, "error", toolkit.KindAccessDenied, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.TakeAll()
			if tc.fault != nil {
				op := "DescribeLogGroups"
				if tc.tool == "execute_log_insights_query" {
					op = "StartQuery"
				}
				ts.fake.SetFault(op, *tc.fault)
				defer ts.fake.ClearFaults()
			}
			cl := c
			if tc.name == "no credentials" {
				cl = ts.newClient(t, "carol")
			}
			if res := callMCP(t, cl, tc.tool, tc.args); !res.IsError {
				t.Fatalf("%s succeeded", tc.tool)
			}
			entries, _ := auditJSON(t, logs)
			if len(entries) != 1 {
				t.Fatalf("%d audit entries", len(entries))
			}
			e := entries[0]
			if e["outcome"] != tc.outcome || e["error_kind"] != tc.kind {
				t.Fatalf("audit entry: outcome %v, error_kind %v; want %s, %s", e["outcome"], e["error_kind"], tc.outcome, tc.kind)
			}
			if code, _ := e["aws_error_code"].(string); code != tc.code {
				t.Fatalf("aws_error_code %q, want %q", code, tc.code)
			}
		})
	}
	// A panic is internal.
	pc := ts.newClient(t, "alice")
	preq := mcp.CallToolRequest{}
	preq.Params.Name = "test_panic"
	logs.TakeAll()
	if _, err := pc.CallTool(context.Background(), preq); err == nil {
		t.Fatal("test_panic succeeded")
	}
	if entries, _ := auditJSON(t, logs); len(entries) != 1 || entries[0]["error_kind"] != toolkit.KindInternal {
		t.Fatalf("panic audit: %v", entries)
	}
	// A success carries no kind.
	logs.TakeAll()
	if res := callMCP(t, c, "describe_log_groups", nil); res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	if entries, _ := auditJSON(t, logs); len(entries) != 1 || entries[0]["error_kind"] != nil || entries[0]["aws_error_code"] != nil {
		t.Fatalf("success audit: %v", entries)
	}

	wantDeltas(t, before, scrape(t, reg), map[string]float64{
		series("describe_log_groups", "error", toolkit.KindThrottled):                         2,
		series("describe_log_groups", "denied", toolkit.KindAccessDenied):                     1,
		series("describe_log_groups", "error", toolkit.KindAccessDenied):                      1,
		series("describe_log_groups", "error", toolkit.KindInvalidArgument):                   2,
		series("describe_log_groups", "error", toolkit.KindTimeout):                           1,
		series("describe_log_groups", "error", toolkit.KindAWSError):                          1,
		series("describe_log_groups", "error", toolkit.KindInternal):                          0,
		series("describe_log_groups", "ok", toolkit.KindNone):                                 1,
		series("execute_log_insights_query", "error", toolkit.KindInvalidArgument):            1,
		series("test_whoami", "error", toolkit.KindAccessDenied):                              1,
		series("test_panic", "error", toolkit.KindInternal):                                   1,
		`caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="describe_log_groups"}`:        9,
		`caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="execute_log_insights_query"}`: 1,
		`caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="test_whoami"}`:                1,
		`caddy_cloudwatch_mcp_tool_duration_seconds_count{tool="test_panic"}`:                 1,
		// The panic's client is still open.
		`caddy_cloudwatch_mcp_sessions_active{}`: 1,
	})
}
