// Package spans starts the plugin's OpenTelemetry spans under the span that
// Caddy's `tracing` handler puts in the request context, and instruments
// AWS SDK clients (otelaws) the same way. Both modules use it.
//
// Caddy does not install a global tracer provider: its tracing handler
// builds an SDK provider of its own and hands it only to otelhttp. The one
// way to reach that provider is the request's span
// (trace.Span.TracerProvider), so every span here is started from the
// provider of the span in ctx. With no recording span in ctx (tracing off,
// or the trace not sampled) nothing is started and nothing is allocated:
// the request path pays one context lookup.
package spans

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of the plugin's own spans.
const Scope = "github.com/mcpedge/caddy-cloudwatch-mcp"

// On reports whether ctx carries a recording span, that is whether spans
// started under it would be exported.
func On(ctx context.Context) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}

// Start starts a span named name as a child of ctx's recording span, from
// the tracer provider that made it. Without a recording span it returns
// ctx and a nil span, allocating nothing; callers check for nil before
// setting attributes and ending it. Attributes are set by the caller
// (span.SetAttributes) rather than passed here, so that the arguments of
// a call on the untraced path never escape to the heap.
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name)
}
