package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestSpansUntracedAllocateNothing(t *testing.T) {
	r := httptest.NewRequest("POST", "/mcp", nil)
	msg := peekMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}`))
	if n := testing.AllocsPerRun(100, func() {
		if _, s := startMessageSpan(r, msg); s != nil {
			t.Fatal("span without tracing")
		}
		if _, s := startToolSpan(r.Context(), "describe_log_groups"); s != nil {
			t.Fatal("span without tracing")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per untraced message", n)
	}
}

func TestMessageSpanParent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, httpSpan := tp.Tracer("caddy").Start(context.Background(), "handler")
	for _, tc := range []struct {
		name, meta string
		remote     bool
	}{
		{"no meta", ``, false},
		{"valid traceparent", `,"_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`, true},
		{"garbage traceparent", `,"_meta":{"traceparent":"00-zz-00f067aa0ba902b7-01"}`, false},
		{"traceparent not a string", `,"_meta":{"traceparent":7}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil).WithContext(ctx)
			msg := peekMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":1` + tc.meta + `}}`))
			_, span := startMessageSpan(r, msg)
			if span == nil {
				t.Fatal("no span under a recording request span")
			}
			span.End()
			got := rec.Ended()[len(rec.Ended())-1]
			if got.Name() != "mcp.tools/list" {
				t.Fatalf("name %q", got.Name())
			}
			if tc.remote {
				if got.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !got.Parent().IsRemote() ||
					len(got.Links()) != 1 || got.Links()[0].SpanContext.SpanID() != httpSpan.SpanContext().SpanID() {
					t.Fatalf("parent %v links %v", got.Parent(), got.Links())
				}
			} else if got.Parent().SpanID() != httpSpan.SpanContext().SpanID() || len(got.Links()) != 0 {
				t.Fatalf("parent %v links %v, want Caddy's span", got.Parent(), got.Links())
			}
		})
	}
}

func TestToolSpanTruncated(t *testing.T) {
	if isTruncated(nil) || isTruncated(&mcp.CallToolResult{StructuredContent: map[string]any{}}) {
		t.Fatal("truncated without a note")
	}
	res := &mcp.CallToolResult{StructuredContent: json.RawMessage(`{"log_groups":[],"truncated":{"dropped":3,"hint":""}}`)}
	if !isTruncated(res) {
		t.Fatal("note not seen")
	}
}
