// Package tracing runs Caddy with its `tracing` directive exporting
// OTLP/HTTP to a receiver in the test and checks the spans the plugin adds
// under Caddy's: cognito_auth.verify and .vend, mcp.<method>, tool.<name>
// and one span per AWS operation, with their parent links, and that none
// of their attributes holds a token, a key or query text.
package tracing

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/tracing"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

const roleARN = "arn:aws:iam::123456789012:role/cloudwatch-readers"

var (
	issuer   *testissuer.Issuer
	fake     *fakeaws.Fake
	receiver = &otlpReceiver{}
)

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes each
// ExportTraceServiceRequest protobuf and keeps the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &req)
	}
	if err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, fmt.Sprint("bad export: ", err, r.URL.Path), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpReceiver) all() []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*tracepb.Span(nil), o.spans...)
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cwmcp-tracing")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir+"/data")
	os.Setenv("XDG_CONFIG_HOME", dir+"/config")
	issuer = testissuer.New()
	fake = fakeaws.Start()
	fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	fake.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{issuer.Issuer()}})
	fakeaws.LogsOf(fake).AddLogGroup(fakeaws.LogGroup{Name: "/aws/lambda/checkout", CreationTime: time.Now().Add(-time.Hour)})
	otlp := httptest.NewServer(receiver)

	os.Setenv("AWS_ENDPOINT_URL", fake.URL)
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", dir+"/nonexistent")
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/nonexistent")
	// Caddy's tracing handler configures its exporter from the standard
	// OpenTelemetry environment (autoexport).
	os.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	os.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	os.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp.URL+"/v1/traces")
	os.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	os.Setenv("TR_STORAGE", dir+"/storage")
	os.Setenv("TR_ISSUER", issuer.Issuer())
	os.Setenv("TR_ROLE", roleARN)
	code := m.Run()
	otlp.Close()
	fake.Close()
	issuer.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

const caddyfile = `
{
	admin localhost:{$TR_ADMIN_PORT}
	http_port {$TR_HTTP_PORT}
	https_port {$TR_HTTPS_PORT}
	skip_install_trust
	persist_config off
	storage file_system {$TR_STORAGE}
}
http://localhost:{$TR_HTTP_PORT} {
	tracing {
		span mcp-edge
	}
	cognito_auth {
		issuer {$TR_ISSUER}
		audiences {$TR_RESOURCE}
		role_arn {$TR_ROLE}
	}
	cloudwatch_mcp {
		stateless
	}
}
`

// The query text of the Insights call: it must appear in no span.
const queryText = "fields @timestamp, @message | filter @message like /TRACE-QUERY-MARKER-7f3a/"

func TestSpanTreeOfAToolCall(t *testing.T) {
	var port int
	testcaddy.Start(t, 3, func(p []int) string {
		for i, name := range []string{"TR_HTTP_PORT", "TR_HTTPS_PORT", "TR_ADMIN_PORT"} {
			t.Setenv(name, fmt.Sprint(p[i]))
		}
		t.Setenv("TR_RESOURCE", fmt.Sprintf("http://localhost:%d/mcp", p[0]))
		port = p[0]
		return caddyfile
	})
	endpoint := fmt.Sprintf("http://localhost:%d/mcp", port)
	tok := issuer.Mint(issuer.OIDCAccessClaims("alice", endpoint), testissuer.Typ("at+jwt"))
	scan := secretscan.New()

	// One tools/call continuing the client's trace through _meta.
	clientTrace, clientSpan := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	call(t, endpoint, tok, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{},`+
		`"_meta":{"traceparent":"00-`+clientTrace+`-`+clientSpan+`-01"}}}`)
	// One without _meta: everything in the HTTP request's trace.
	call(t, endpoint, tok, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{}}}`)
	// One carrying query text.
	call(t, endpoint, tok, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"execute_log_insights_query","arguments":`+
		`{"log_group_names":["/aws/lambda/checkout"],"query_string":"`+queryText+`","start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-01T01:00:00Z","max_timeout":5}}}`)

	var spans []*tracepb.Span
	// A span ends after its children, and the batch exporter sends in
	// the order spans end: once the three HTTP spans are in, all are.
	testwait.Until(t, "the spans of three requests", func() bool {
		spans = receiver.all()
		n := 0
		for _, s := range spans {
			if s.Name == "mcp-edge" {
				n++
			}
		}
		return n >= 3
	})
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	parentOf := func(s *tracepb.Span) *tracepb.Span { return byID[hex.EncodeToString(s.ParentSpanId)] }
	named := func(name, trace string) []*tracepb.Span {
		var out []*tracepb.Span
		for _, s := range spans {
			if s.Name == name && (trace == "" || hex.EncodeToString(s.TraceId) == trace) {
				out = append(out, s)
			}
		}
		return out
	}

	// The _meta call: mcp.tools/call is the child of the client's span.
	metaCalls := named("mcp.tools/call", clientTrace)
	if len(metaCalls) != 1 {
		t.Fatalf("want one mcp.tools/call in the client's trace, got %d; spans: %s", len(metaCalls), names(spans))
	}
	mcpSpan := metaCalls[0]
	if got := hex.EncodeToString(mcpSpan.ParentSpanId); got != clientSpan {
		t.Errorf("mcp.tools/call parent %s, want the client's span %s", got, clientSpan)
	}
	if len(mcpSpan.Links) != 1 || byID[hex.EncodeToString(mcpSpan.Links[0].SpanId)] == nil ||
		byID[hex.EncodeToString(mcpSpan.Links[0].SpanId)].Name != "mcp-edge" {
		t.Errorf("mcp.tools/call does not link Caddy's HTTP span: %v", mcpSpan.Links)
	}
	tools := named("tool.describe_log_groups", clientTrace)
	if len(tools) != 1 || parentOf(tools[0]) != mcpSpan {
		t.Fatalf("tool.describe_log_groups under mcp.tools/call: %d; spans: %s", len(tools), names(spans))
	}
	if a := attrs(tools[0]); a["mcp.tool.outcome"] != "ok" || a["mcp.tool.truncated"] != "false" || a["mcp.tool.result_bytes"] == "0" {
		t.Errorf("tool span attributes %v", a)
	}
	aws := named("CloudWatch Logs.DescribeLogGroups", clientTrace)
	if len(aws) != 1 || parentOf(aws[0]) != tools[0] {
		t.Fatalf("CloudWatch Logs.DescribeLogGroups under the tool span: %d; spans: %s", len(aws), names(spans))
	}
	if a := attrs(aws[0]); a["aws.request_id"] == "" || a["rpc.method"] != "CloudWatch Logs/DescribeLogGroups" {
		t.Errorf("AWS span attributes %v", a)
	}

	// The plain call: HTTP span → verify, vend (→ STS), mcp.tools/call →
	// tool → AWS, all in one trace.
	var root *tracepb.Span
	for _, s := range named("tool.describe_log_groups", "") {
		if hex.EncodeToString(s.TraceId) != clientTrace {
			m := parentOf(s)
			if m == nil || m.Name != "mcp.tools/call" || parentOf(m) == nil || parentOf(m).Name != "mcp-edge" {
				t.Fatalf("tool span's ancestry: %s", names(spans))
			}
			root = parentOf(m)
		}
	}
	if root == nil {
		t.Fatalf("no plain tool call; spans: %s", names(spans))
	}
	trace := hex.EncodeToString(root.TraceId)
	for _, name := range []string{"cognito_auth.verify", "cognito_auth.vend"} {
		got := named(name, trace)
		if len(got) != 1 || parentOf(got[0]) != root {
			t.Fatalf("%s under the HTTP span: %d; spans: %s", name, len(got), names(spans))
		}
		if a := attrs(got[0]); a["cognito_auth.outcome"] != "ok" || a["cognito_auth.cache"] == "" {
			t.Errorf("%s attributes %v", name, a)
		}
	}
	if a := attrs(named("cognito_auth.vend", trace)[0]); a["cognito_auth.vend.mode"] != "role_arn" {
		t.Errorf("vend mode %v", a)
	}
	// The first request of the test exchanged the token at STS, in the
	// vend span.
	sts := named("STS.AssumeRoleWithWebIdentity", "")
	if len(sts) != 1 || parentOf(sts[0]) == nil || parentOf(sts[0]).Name != "cognito_auth.vend" ||
		attrs(parentOf(sts[0]))["cognito_auth.cache"] != "exchange" || attrs(sts[0])["aws.request_id"] == "" {
		t.Errorf("one STS exchange span under an exchanging vend span; spans: %s", names(spans))
	}

	t.Logf("spans: %s", names(spans))

	// Nothing secret in any span: names, attributes, events, status.
	var dump strings.Builder
	for _, s := range spans {
		fmt.Fprintln(&dump, s.Name, s.Status.GetMessage())
		for k, v := range attrs(s) {
			fmt.Fprintln(&dump, k, v)
		}
		for _, e := range s.Events {
			fmt.Fprintln(&dump, e.Name, e.Attributes)
		}
	}
	if strings.Contains(dump.String(), "TRACE-QUERY-MARKER") {
		t.Errorf("query text in a span:\n%s", dump.String())
	}
	if f := scan.Scan("spans", []byte(dump.String())); len(f) > 0 {
		t.Errorf("secrets in spans: %v", f)
	}
	if len(named("tool.execute_log_insights_query", "")) != 1 {
		t.Errorf("no span for the Insights call; spans: %s", names(spans))
	}
}

func call(t *testing.T, endpoint, tok, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(b), `"error"`) {
		t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
	}
}

func attrs(s *tracepb.Span) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes {
		switch v := kv.Value.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.Key] = v.StringValue
		case *commonpb.AnyValue_BoolValue:
			out[kv.Key] = fmt.Sprint(v.BoolValue)
		case *commonpb.AnyValue_IntValue:
			out[kv.Key] = fmt.Sprint(v.IntValue)
		default:
			out[kv.Key] = kv.Value.String()
		}
	}
	return out
}

func names(spans []*tracepb.Span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "\n  %s trace=%x span=%x parent=%x", s.Name, s.TraceId[:4], s.SpanId, s.ParentSpanId)
	}
	return b.String()
}
