package cloudwatchmcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

const auditLoggerName = "http.handlers.cloudwatch_mcp.audit"

// auditedServer is a test server whose audit logger is observed. The
// logger is named as Provision names it in Caddy (ctx.Logger(h) is named
// after the module ID; see the e2e test for the real routing).
func auditedServer(t *testing.T, h *Handler) (*testServer, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h.auditLogger = zap.New(core).Named("http.handlers.cloudwatch_mcp").Named("audit")
	ts := newTestServer(t, h)
	// Insights polls without waiting.
	ts.h.env.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return ts, logs
}

// auditJSON renders entries with a JSON encoder (as Caddy's `format json`
// would) and decodes them, so the checks see the real field shapes.
func auditJSON(t *testing.T, logs *observer.ObservedLogs) ([]map[string]any, string) {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey: "ts", LevelKey: "level", NameKey: "logger", MessageKey: "msg",
		EncodeTime: zapcore.RFC3339NanoTimeEncoder, EncodeLevel: zapcore.LowercaseLevelEncoder, EncodeDuration: zapcore.SecondsDurationEncoder,
	})
	var all strings.Builder
	var out []map[string]any
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(buf.Bytes())
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("entry is not JSON: %v: %s", err, buf.Bytes())
		}
		out = append(out, m)
		buf.Free()
	}
	return out, all.String()
}

func callMCP(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestAuditTrailOfAScriptedSession drives one session through every
// outcome and checks every field of every entry.
func TestAuditTrailOfAScriptedSession(t *testing.T) {
	h := authorizedHandler()
	ts, logs := auditedServer(t, h)
	group := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}
	fakeaws.LogsOf(ts.fake).AddLogGroup(group).SetQueryPlan(fakeaws.QueryPlan{Polls: 3})

	began := time.Now()
	alice := newMCPClient(t, ts.endpoint(), "alice", legacyInit(), grants("logs:read logs:list", "sre"))
	session := alice.GetSessionId()
	if session == "" {
		t.Fatal("no session")
	}

	// awsCalls counts the AWS requests since the last count.
	awsCalls := func() int { n := ts.fake.CallCount(""); ts.fake.ResetCalls(); return n }
	awsCalls()

	// 1. ok: DescribeLogGroups and the saved queries.
	res := callMCP(t, alice, "describe_log_groups", map[string]any{"region": "us-east-1", "log_group_name_prefix": "/aws/lambda"})
	if res.IsError {
		t.Fatalf("describe_log_groups: %s", mcptest.ResultText(t, res))
	}
	okText, okCalls := mcptest.ResultText(t, res), awsCalls()

	// 2. ok: StartQuery, the caller's account (STS GetCallerIdentity,
	// once per identity: the polling budget is per account) and three polls.
	query := "fields @timestamp, @message | filter @message like /password=hunter2/ | limit 5"
	res = callMCP(t, alice, "execute_log_insights_query", map[string]any{
		"log_group_names": []any{group.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
		"query_string": query, "limit": 5,
	})
	if res.IsError {
		t.Fatalf("insights: %s", mcptest.ResultText(t, res))
	}
	polls := ts.fake.CallCount("GetQueryResults")
	queryCalls := awsCalls()

	// 3. error: AWS refuses; its request id is in the result and the entry.
	ts.fake.SetFault("DescribeLogGroups", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not allowed", Times: 1})
	res = callMCP(t, alice, "describe_log_groups", map[string]any{"log_group_name_prefix": "/secret"})
	mcptest.WantToolError(t, res, "AccessDeniedException")
	m := regexp.MustCompile(`\[request id ([0-9a-f]+)\]`).FindStringSubmatch(mcptest.ResultText(t, res))
	if m == nil {
		t.Fatalf("no request id in %q", mcptest.ResultText(t, res))
	}
	errID, errText, errCalls := m[1], mcptest.ResultText(t, res), awsCalls()

	// 4. denied by group (tool error), 5. denied by scope (HTTP 403).
	res = callMCP(t, alice, "test_whoami", map[string]any{})
	mcptest.WantToolError(t, res, `group "admins"`)
	resp := ts.rawRequest(t, http.MethodPost, "alice", session,
		callBody("execute_log_insights_query", `{"log_group_names":["/aws/lambda/checkout"],"query_string":"stats count(*)","region":"eu-west-1"}`),
		testScopeHeader, "openid")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("step-up status %d", resp.StatusCode)
	}

	entries, raw := auditJSON(t, logs)
	if len(entries) != 5 {
		t.Fatalf("want 5 audit entries, got %d:\n%s", len(entries), raw)
	}
	// No secret ever: the caller's AWS secret key and session token, nor
	// the query text (hash only unless audit_query_text).
	creds := ts.creds["alice"]
	for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, "hunter2"} {
		if strings.Contains(raw, secret) || len(secret) > 16 && strings.Contains(raw, secret[:16]) {
			t.Fatalf("audit log leaks %q:\n%s", secret, raw)
		}
	}

	for i, e := range entries {
		if e["logger"] != auditLoggerName || e["msg"] != "tool call" || e["level"] != "info" {
			t.Fatalf("entry %d: logger/msg/level %v %v %v", i, e["logger"], e["msg"], e["level"])
		}
		at, err := time.Parse(time.RFC3339Nano, e["time"].(string))
		if err != nil || at.Before(began.Add(-time.Second)) || at.After(time.Now()) {
			t.Fatalf("entry %d: time %v", i, e["time"])
		}
		if e["sub"] != "alice" || e["username"] != "alice-user" || e["client_id"] != "test-client" || e["issuer"] != mcptest.Issuer {
			t.Fatalf("entry %d: identity %v %v %v %v", i, e["sub"], e["username"], e["client_id"], e["issuer"])
		}
		if e["session_id"] != session {
			t.Fatalf("entry %d: session %v, want %s", i, e["session_id"], session)
		}
		if d, ok := e["duration"].(float64); !ok || d < 0 || d > 10 {
			t.Fatalf("entry %d: duration %v", i, e["duration"])
		}
		ids := strs(e["aws_request_ids"])
		if n, _ := e["aws_requests"].(float64); int(n) != len(ids) {
			t.Fatalf("entry %d: aws_requests %v for %d ids", i, e["aws_requests"], len(ids))
		}
		for _, id := range ids {
			if !requestIDPattern.MatchString(id) {
				t.Fatalf("entry %d: request id %q", i, id)
			}
		}
	}

	// 1
	e := entries[0]
	args := e["args"].(map[string]any)
	if e["tool"] != "describe_log_groups" || e["outcome"] != "ok" || len(strs(e["aws_request_ids"])) != okCalls || okCalls < 1 ||
		e["result_bytes"].(float64) != float64(2*len(okText)) || // text plus identical structured JSON
		args["region"] != "us-east-1" || args["log_group_prefix"] != "/aws/lambda" ||
		!slices.Equal(strs(args["names"]), []string{"log_group_name_prefix", "region"}) {
		t.Fatalf("entry 1: %v", e)
	}
	// 2
	e = entries[1]
	args = e["args"].(map[string]any)
	sum := sha256.Sum256([]byte(query))
	ids := strs(e["aws_request_ids"])
	if e["tool"] != "execute_log_insights_query" || e["outcome"] != "ok" || len(ids) != queryCalls || queryCalls != 2+polls || polls != 3 ||
		!slices.Equal(strs(args["log_groups"]), []string{group.Name}) ||
		args["start"] != "2025-01-01T00:00:00Z" || args["end"] != "2025-01-01T01:00:00Z" ||
		args["query_sha256"] != hex.EncodeToString(sum[:]) || args["query_text"] != nil || e["result_bytes"].(float64) <= 0 {
		t.Fatalf("entry 2: %v", e)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != queryCalls {
		t.Fatalf("entry 2: request ids are not distinct: %v", ids)
	}
	// 3
	e = entries[2]
	if e["tool"] != "describe_log_groups" || e["outcome"] != "error" ||
		// A concurrent request cancelled by the failure has no answer, so
		// no id: at most one id per request made.
		!slices.Contains(strs(e["aws_request_ids"]), errID) || len(strs(e["aws_request_ids"])) > errCalls ||
		e["result_bytes"].(float64) != float64(len(errText)) {
		t.Fatalf("entry 3: %v", e)
	}
	// 4
	e = entries[3]
	if e["tool"] != "test_whoami" || e["outcome"] != "denied" || !slices.Equal(strs(e["required_groups"]), []string{"admins"}) ||
		e["missing_scopes"] != nil || len(strs(e["aws_request_ids"])) != 0 {
		t.Fatalf("entry 4: %v", e)
	}
	// 5
	e = entries[4]
	args = e["args"].(map[string]any)
	sum = sha256.Sum256([]byte("stats count(*)"))
	if e["tool"] != "execute_log_insights_query" || e["outcome"] != "denied" ||
		!slices.Equal(strs(e["missing_scopes"]), []string{"logs:read"}) || e["result_bytes"].(float64) != 0 ||
		args["region"] != "eu-west-1" || args["query_sha256"] != hex.EncodeToString(sum[:]) ||
		!slices.Equal(strs(args["log_groups"]), []string{group.Name}) || len(strs(e["aws_request_ids"])) != 0 || e["duration"].(float64) != 0 {
		t.Fatalf("entry 5: %v", e)
	}
}

// audit_query_text puts the query itself in the entry, next to its hash;
// a panicking tool is audited as an error.
func TestAuditQueryTextAndPanics(t *testing.T) {
	h := &Handler{Tools: []string{"logs", testToolGroup}, AuditQueryText: true}
	ts, logs := auditedServer(t, h)
	fakeaws.LogsOf(ts.fake).AddLogGroup(fakeaws.LogGroup{Name: "/app"})
	c := ts.newClient(t, "bob")
	query := "stats count(*) by bin(5m)"
	res := callMCP(t, c, "execute_log_insights_query", map[string]any{
		"log_group_names": `["/app"]`, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": query,
	})
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_panic"
	_, _ = c.CallTool(ctx, req) // a protocol error or an error result
	entries, raw := auditJSON(t, logs)
	if len(entries) != 2 {
		t.Fatalf("entries:\n%s", raw)
	}
	args := entries[0]["args"].(map[string]any)
	sum := sha256.Sum256([]byte(query))
	if args["query_text"] != query || args["query_sha256"] != hex.EncodeToString(sum[:]) ||
		!slices.Equal(strs(args["log_groups"]), []string{"/app"}) || entries[0]["sub"] != "bob" {
		t.Fatalf("entry: %v", entries[0])
	}
	if entries[1]["tool"] != "test_panic" || entries[1]["outcome"] != "error" {
		t.Fatalf("panic entry: %v", entries[1])
	}
}

// The entry's duration comes from the handler's clock.
func TestAuditDurationUsesClock(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ticks := 0
	au := &auditor{logger: zap.New(core), now: func() time.Time { ticks++; return t0.Add(time.Duration(ticks) * 1500 * time.Millisecond) }}
	handler := au.middleware(func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		toolkit.RecordFrom(ctx).AddRequestID("a")
		toolkit.RecordFrom(ctx).AddRequestID("a") // the SDK and the HTTP client may both report one
		toolkit.RecordFrom(ctx).AddRequestID("b")
		return mcp.NewToolResultText("12345"), nil
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "x"
	if _, err := handler(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	e := logs.All()[0].ContextMap()
	if e["duration"] != 1.5 || !e["time"].(time.Time).Equal(t0.Add(1500*time.Millisecond)) || e["result_bytes"] != int64(5) ||
		e["aws_requests"] != int64(2) || e["outcome"] != "ok" {
		t.Fatalf("entry %v", e)
	}
}

// PromQL is signed outside the SDK's operation stack; its request ids come
// from the HTTP client, one per attempt.
func TestAuditRecordsPromQLRequestIDs(t *testing.T) {
	te := mcptest.NewEnv(t)
	te.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	ctx, rec := toolkit.WithRecord(mcptest.UserCtx(te.Alice))
	te.Fake.SetFault("PromQLLabels", fakeaws.Fault{Status: 503, Code: "ServiceUnavailable", Message: "busy", Times: 1})
	res := te.CallTool(t, ctx, "get_promql_labels", map[string]any{})
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	ids, requests, _ := rec.Snapshot()
	if n := te.Fake.CallCount("PromQLLabels"); n != 2 || len(ids) != 2 || requests != 2 ||
		!requestIDPattern.MatchString(ids[0]) || ids[0] == ids[1] {
		t.Fatalf("%d calls, record %+v", n, rec)
	}
}

func TestSummarizeArgs(t *testing.T) {
	long := strings.Repeat("é", 400)
	s := summarizeArgs(map[string]any{
		"log_group_identifiers": `["arn:aws:logs:us-east-1:1:log-group:/a", "/b"]`,
		"log_group_arn":         "/b",
		"regions":               []any{"us-east-1", "eu-west-1"},
		"account":               "prod",
		"queries": []any{
			map[string]any{"id": "m1", "metric_stat": map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization"}},
			map[string]any{"id": "e1", "expression": "SELECT AVG(x)"},
		},
		"namespace":   "AWS/Lambda",
		"metric_name": long,
		"match":       []any{`{pod="a"}`},
		"alarm_name":  "high-cpu",
		"start":       1700000000.0,
		"dimensions":  []any{map[string]any{"name": "secretish", "value": "v"}},
	}, false)
	enc := zapcore.NewMapObjectEncoder()
	if err := s.MarshalLogObject(enc); err != nil {
		t.Fatal(err)
	}
	f := enc.Fields
	list := func(k string) []string {
		v, _ := f[k].([]any)
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	sum := sha256.Sum256([]byte("{pod=\"a\"}\nSELECT AVG(x)"))
	if !slices.Equal(list("log_groups"), []string{"arn:aws:logs:us-east-1:1:log-group:/a", "/b"}) {
		t.Fatalf("log_groups %v", f["log_groups"])
	}
	if !slices.Equal(list("regions"), []string{"us-east-1", "eu-west-1"}) || f["account"] != "prod" ||
		!slices.Equal(list("namespaces"), []string{"AWS/Lambda", "AWS/EC2"}) || len(list("metric_names")) != 2 ||
		len(list("metric_names")[0]) > maxAuditValueBytes+len("…") || !utf8Valid(list("metric_names")[0]) ||
		f["alarm_name"] != "high-cpu" || f["start"] != "1700000000" || f["query_sha256"] != hex.EncodeToString(sum[:]) ||
		f["query_text"] != nil || strings.Contains(fmtFields(f), "secretish") {
		t.Fatalf("summary %v", f)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func fmtFields(f map[string]any) string { b, _ := json.Marshal(f); return string(b) }

// A log tool's filter pattern is query text: hashed, kept only on request.
func TestSummarizeArgsFilterPattern(t *testing.T) {
	s := summarizeArgs(map[string]any{"log_group_identifier": "/ecs/web", "filter_pattern": `{ $.user = "alice@example.com" }`}, false)
	enc := zapcore.NewMapObjectEncoder()
	if err := s.MarshalLogObject(enc); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(`{ $.user = "alice@example.com" }`))
	if enc.Fields["query_sha256"] != hex.EncodeToString(sum[:]) || strings.Contains(fmtFields(enc.Fields), "alice@example.com") {
		t.Fatalf("summary %v", enc.Fields)
	}
}
