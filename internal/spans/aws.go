package spans

import (
	"context"
	"fmt"

	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// otelaws's middlewares, by ID, and where it adds each in its step
// (otelaws v0.71.0 aws.go). instrumentedStack fails if an ID is missing,
// and the tests check spans, parents and request ids end to end.
const (
	otelInitBefore  = "OTelInitializeMiddlewareBefore" // Initialize, Before
	otelInitAfter   = "OTelInitializeMiddlewareAfter"  // Initialize, After
	otelFinalize    = "OTelFinalizeMiddleware"         // Finalize, After
	otelDeserialize = "OTelDeserializeMiddleware"      // Deserialize, Before
)

// AWS returns apiOptions (an aws.Config's or a client's APIOptions) plus
// otelaws's instrumentation: one client span per AWS operation named
// "<service>.<operation>" with rpc.method, aws.region, the HTTP status
// and aws.request_id, a child of the span in the operation's ctx.
//
// The SDK builds a fresh middleware stack for every operation and runs
// every APIOptions function on it. otelaws's middlewares are therefore
// built once, here, each wrapped in a gate that runs it only under a
// recording span; per operation the stack only links the four prebuilt
// values in (one small node each), and an untraced call runs exactly the
// middlewares it ran before. The slice is copied, never appended to in
// place, as configs share their APIOptions.
func AWS(apiOptions []func(*middleware.Stack) error) []func(*middleware.Stack) error {
	add, err := instrumentedStack()
	if err != nil {
		// otelaws changed its middleware IDs: fail every call loudly
		// rather than trace nothing silently.
		add = func(*middleware.Stack) error { return err }
	}
	return append(append([]func(*middleware.Stack) error{}, apiOptions...), add)
}

// instrumentedStack builds otelaws's middlewares on a scratch stack and
// returns the stack function that adds them, gated, to an operation's.
func instrumentedStack() (func(*middleware.Stack) error, error) {
	var fns []func(*middleware.Stack) error
	// otelaws's default propagator is the global one, a no-op unless the
	// process sets one: no trace headers go to AWS.
	otelaws.AppendMiddlewares(&fns, otelaws.WithTracerProvider(contextProvider{}))
	scratch := middleware.NewStack("otelaws", nil)
	for _, fn := range fns {
		if err := fn(scratch); err != nil {
			return nil, err
		}
	}
	initBefore, ok1 := scratch.Initialize.Get(otelInitBefore)
	initAfter, ok2 := scratch.Initialize.Get(otelInitAfter)
	finalize, ok3 := scratch.Finalize.Get(otelFinalize)
	deserialize, ok4 := scratch.Deserialize.Get(otelDeserialize)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("tracing: otelaws %s does not add the middlewares this plugin gates", otelaws.Version)
	}
	var (
		gBefore middleware.InitializeMiddleware  = gatedInitialize{initBefore}
		gAfter  middleware.InitializeMiddleware  = gatedInitialize{initAfter}
		gFin    middleware.FinalizeMiddleware    = gatedFinalize{finalize}
		gDes    middleware.DeserializeMiddleware = gatedDeserialize{deserialize}
	)
	return func(stack *middleware.Stack) error {
		if _, ok := stack.Initialize.Get(otelInitBefore); ok {
			return nil // APIOptions applied twice
		}
		if err := stack.Initialize.Add(gBefore, middleware.Before); err != nil {
			return err
		}
		if err := stack.Initialize.Add(gAfter, middleware.After); err != nil {
			return err
		}
		if err := stack.Finalize.Add(gFin, middleware.After); err != nil {
			return err
		}
		return stack.Deserialize.Add(gDes, middleware.Before)
	}, nil
}

// The gates run otelaws's middleware only under a recording span. The
// initialize pair decides on the same ctx (the operation's), so otelaws's
// "after" never runs without its "before"; finalize and deserialize run
// under the operation span the pair started, or under none.

type gatedInitialize struct {
	middleware.InitializeMiddleware
}

func (g gatedInitialize) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if !On(ctx) {
		return next.HandleInitialize(ctx, in)
	}
	return g.InitializeMiddleware.HandleInitialize(ctx, in, next)
}

type gatedFinalize struct{ middleware.FinalizeMiddleware }

func (g gatedFinalize) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if !On(ctx) {
		return next.HandleFinalize(ctx, in)
	}
	return g.FinalizeMiddleware.HandleFinalize(ctx, in, next)
}

type gatedDeserialize struct {
	middleware.DeserializeMiddleware
}

func (g gatedDeserialize) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	if !On(ctx) {
		return next.HandleDeserialize(ctx, in)
	}
	return g.DeserializeMiddleware.HandleDeserialize(ctx, in, next)
}

// contextProvider is the tracer provider otelaws is given: its tracer
// starts each span from the provider of the span in the operation's ctx
// (Caddy's), as Start does. otelaws asks for its tracer once per client.
type contextProvider struct{ embedded.TracerProvider }

func (contextProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return contextTracer{} }

type contextTracer struct{ embedded.Tracer }

func (contextTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().
		Tracer(otelaws.ScopeName, trace.WithInstrumentationVersion(otelaws.Version)).
		Start(ctx, name, opts...)
}

// Interface guards
var (
	_ trace.TracerProvider             = contextProvider{}
	_ trace.Tracer                     = contextTracer{}
	_ middleware.InitializeMiddleware  = gatedInitialize{}
	_ middleware.FinalizeMiddleware    = gatedFinalize{}
	_ middleware.DeserializeMiddleware = gatedDeserialize{}
)
