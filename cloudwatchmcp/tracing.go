package cloudwatchmcp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/spans"
)

// Spans under Caddy's `tracing` handler: mcp.<method> per JSON-RPC
// message POSTed, tool.<name> per tools/call, and (toolkit's SDK clients,
// internal/spans) one span per AWS operation below it. Attributes name
// the method, tool and outcome, never an argument value, query text,
// session ID or credential.
//
// mcp-go's own WithTracer is not used: its tool middleware allocates on
// every call whether or not anything is traced, and it records the
// session ID. Here nothing runs unless the request's span is recording.
const (
	attrMethod      = attribute.Key("mcp.method.name")
	attrTool        = attribute.Key("mcp.tool.name")
	attrOutcome     = attribute.Key("mcp.tool.outcome")      // ok, error, denied
	attrResultBytes = attribute.Key("mcp.tool.result_bytes") // as the audit counts them
	attrTruncated   = attribute.Key("mcp.tool.truncated")    // max_result_bytes dropped items
)

// metaPropagator reads a W3C traceparent/tracestate from params._meta
// (SEP-414), as clients that trace inject it.
var metaPropagator = propagation.TraceContext{}

// startMessageSpan starts mcp.<method> for a POSTed message when the
// request is traced. A traceparent in the message's _meta makes the span
// continue the client's trace; it then links to Caddy's HTTP span, which
// stays in the trace of the HTTP request (its headers). Untraced, it
// returns r and nil without allocating.
func startMessageSpan(r *http.Request, msg peekedMessage) (*http.Request, trace.Span) {
	if !msg.ok || msg.method == "" || !spans.On(r.Context()) {
		return r, nil
	}
	ctx := r.Context()
	httpSpan := trace.SpanFromContext(ctx)
	tracer := httpSpan.TracerProvider().Tracer(spans.Scope)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrMethod.String(clip(msg.method, 64)))}
	if parent := metaParent(ctx, msg); parent != nil {
		ctx = parent
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: httpSpan.SpanContext()}))
	}
	ctx, span := tracer.Start(ctx, "mcp."+clip(msg.method, 64), opts...)
	return r.WithContext(ctx), span
}

// metaParent returns ctx with the remote span context of the message's
// _meta traceparent, or nil if it has none (or an invalid one).
func metaParent(ctx context.Context, msg peekedMessage) context.Context {
	if len(msg.traceparent) == 0 {
		return nil
	}
	carrier := propagation.MapCarrier{}
	var tp, ts string
	if json.Unmarshal(msg.traceparent, &tp) != nil {
		return nil
	}
	carrier["traceparent"] = tp
	if json.Unmarshal(msg.tracestate, &ts) == nil && ts != "" {
		carrier["tracestate"] = ts
	}
	parent := metaPropagator.Extract(ctx, carrier)
	// Without a valid traceparent Extract returns ctx, whose span is
	// Caddy's (local).
	if !trace.SpanContextFromContext(parent).IsRemote() {
		return nil
	}
	return parent
}

// startToolSpan starts tool.<name> under the message span when traced.
func startToolSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if !spans.On(ctx) {
		return ctx, nil
	}
	ctx, span := spans.Start(ctx, "tool."+name)
	span.SetAttributes(attrTool.String(name))
	return ctx, span
}

// endToolSpan records how the call ended and ends the span.
func endToolSpan(span trace.Span, outcome string, res *mcp.CallToolResult) {
	span.SetAttributes(attrOutcome.String(outcome), attrResultBytes.Int(resultSize(res)),
		attrTruncated.Bool(isTruncated(res)))
	if outcome != outcomeOK {
		span.SetStatus(codes.Error, "tool call "+outcome)
	}
	span.End()
}

// isTruncated reports the truncated note max_result_bytes adds
// (toolkit.ResultShape.Limit leaves the result as raw JSON).
func isTruncated(res *mcp.CallToolResult) bool {
	if res == nil {
		return false
	}
	raw, ok := res.StructuredContent.(json.RawMessage)
	return ok && bytes.Contains(raw, []byte(`"truncated":{"dropped":`))
}
