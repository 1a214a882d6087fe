package cognitoauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/spans"
)

// Span names and attributes of cognito_auth under Caddy's `tracing`
// handler. Attributes say what happened, never who or with what: no
// token, claim value, credential or role session.
const (
	spanVerify = "cognito_auth.verify"
	spanVend   = "cognito_auth.vend"

	attrCache   = attribute.Key("cognito_auth.cache")     // verify: hit, miss; vend: hit, refresh, exchange
	attrOutcome = attribute.Key("cognito_auth.outcome")   // ok or the RFC 6750 error code
	attrMode    = attribute.Key("cognito_auth.vend.mode") // role_arn, assume_role, identity_pool, identity_center
)

// authenticateTraced is authenticate in a cognito_auth.verify span when
// the request is traced.
func (m *CognitoAuth) authenticateTraced(ctx context.Context, tok string) (*Identity, *authError) {
	_, span := spans.Start(ctx, spanVerify)
	if span == nil {
		id, _, aerr := m.authenticateHit(tok)
		return id, aerr
	}
	defer span.End()
	id, hit, aerr := m.authenticateHit(tok)
	cache := "miss"
	if hit {
		cache = "hit"
	}
	span.SetAttributes(attrCache.String(cache))
	endAuthSpan(span, aerr)
	return id, aerr
}

// vendCache names a credential cache lookup as the vend span reports it
// (countCredCacheLookup's three cases).
func vendCache(creds *Credentials, fresh bool) string {
	switch {
	case fresh:
		return "hit"
	case creds != nil:
		return "refresh" // served from the cache while a refresh runs
	default:
		return "exchange"
	}
}

// withSpan carries span into ctx, the detached context an exchange runs
// in, so the exchange's AWS spans are the vend span's children.
func withSpan(ctx context.Context, span trace.Span) context.Context {
	if span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, span)
}

// endAuthSpan sets the outcome (and the error status with the fixed
// reason text users already see) of a verify or vend span.
func endAuthSpan(span trace.Span, aerr *authError) {
	if aerr == nil {
		span.SetAttributes(attrOutcome.String("ok"))
		return
	}
	code := aerr.code
	if code == "" {
		code = "missing_token"
	}
	span.SetAttributes(attrOutcome.String(code))
	span.SetStatus(codes.Error, aerr.reason)
}
