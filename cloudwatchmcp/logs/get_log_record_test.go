package logs

import (
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// TestGetLogRecordRecoversATruncatedInsightsRow is the workflow the tool
// exists for: an Insights row cut short, then the whole event from its @ptr.
func TestGetLogRecordRecoversATruncatedInsightsRow(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	g := eventsGroup
	g.MaskPatterns = []string{fakeaws.MaskEmailAddress}
	l := fakeaws.LogsOf(te.Fake)
	l.AddLogGroup(g).SetQueryResults("", fakeaws.QueryResult{FromEvents: true, MessageLimit: 80})
	long := `{"level":"ERROR","user":{"email":"jane@example.com"},"trace":"` + strings.Repeat("at frame\\n", 40) + `"}`
	if err := l.AppendEvents(g.Name, fakeaws.LogEvent{Stream: "orders/1", Time: eventsT0, Message: long}); err != nil {
		t.Fatal(err)
	}
	ctx := mcptest.UserCtx(te.Alice)
	// The text of an Insights result is the bare dictionary.
	var q struct {
		Results []map[string]string `json:"results"`
	}
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "execute_log_insights_query", map[string]any{
		"log_group_names": []any{g.Name}, "query_string": "fields @timestamp, @message, @ptr | filter @message like /ERROR/ | limit 5",
		"start_time": "2026-03-01T11:00:00Z", "end_time": "2026-03-01T13:00:00Z",
	}), &q)
	if len(q.Results) != 1 || len(q.Results[0]["@message"]) != 80 {
		t.Fatalf("insights rows %+v", q.Results)
	}
	ptr := q.Results[0]["@ptr"]

	var rec struct {
		LogRecord map[string]string `json:"log_record"`
	}
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_log_record", map[string]any{"log_record_pointer": ptr}), &rec)
	r := rec.LogRecord
	if len(r["@message"]) != len(long) || strings.Contains(r["@message"], "jane@") || r["user.email"] != "****************" ||
		r["level"] != "ERROR" || r["@logStream"] != "orders/1" || r["@log"] != "123456789012:/ecs/orders" {
		t.Fatalf("record %v", r)
	}
	assertOwner(t, te, "GetLogRecord", 1)

	// unmask: AWS decides, by the caller's logs:Unmask.
	unmask := map[string]any{"log_record_pointer": ptr, "unmask": true}
	res := te.CallTool(t, ctx, "get_log_record", unmask)
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: User: alice is not authorized to perform: logs:Unmask")
	mcptest.WantToolError(t, res, "ask for it to be granted")
	l.AllowUnmask("alice")
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_log_record", unmask), &rec)
	if rec.LogRecord["@message"] != long || rec.LogRecord["user.email"] != "jane@example.com" {
		t.Fatalf("unmasked %v", rec.LogRecord)
	}
	assertOwner(t, te, "GetLogRecord", 3)
}

func TestGetLogRecordErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	g := eventsGroup
	g.Readers = []string{"bob"}
	seedEvents(t, te, g, 1)
	ctx := mcptest.UserCtx(te.Alice)
	ptr := fakeaws.LogsOf(te.Fake).Events(g.Name)[0].Pointer
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_log_record", map[string]any{"log_record_pointer": ptr}),
		"AWS error AccessDeniedException: User: alice is not authorized to perform: logs:GetLogRecord")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_log_record", map[string]any{"log_record_pointer": "garbage"}), "InvalidParameterException")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_log_record", map[string]any{}), "log_record_pointer is required")
	assertOwner(t, te, "GetLogRecord", 2)
}
