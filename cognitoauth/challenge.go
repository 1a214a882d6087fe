package cognitoauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// errorPlaceholder carries the rejection reason into handle_errors, the
// same way caddyauth exposes {http.auth.<provider>.error}.
const errorPlaceholder = "http.auth.cognito_auth.error"

var errNoToken = &authError{status: http.StatusUnauthorized, reason: "bearer token required"}

// reject answers a failed authentication or authorization.
//
// The RFC 6750 challenge header is always set on the response writer. When
// the server has handle_errors routes, the rejection is returned as a
// caddyhttp.Error so those routes render it (the header stays, and the
// reason is in {http.auth.cognito_auth.error}). Otherwise we write the small
// JSON body ourselves and return nil, because Caddy's default error
// response has no body and OAuth clients expect one.
func (m *CognitoAuth) reject(w http.ResponseWriter, r *http.Request, e *authError) error {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(errorPlaceholder, e.reason)
	}
	m.logRejection(r, e)
	countRejection(e)

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if e.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "10")
	} else {
		h.Set("WWW-Authenticate", m.challenge(r, e))
	}
	if hasErrorRoutes(r) {
		return caddyhttp.Error(e.status, e)
	}
	code := e.code
	if code == "" {
		code = "unauthorized"
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, e.reason})
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
	return nil
}

// challenge builds the WWW-Authenticate value (RFC 6750 §3, RFC 9728 §5.1).
func (m *CognitoAuth) challenge(r *http.Request, e *authError) string {
	var b strings.Builder
	b.WriteString("Bearer ")
	if e.code != "" {
		b.WriteString(`error="`)
		b.WriteString(e.code)
		b.WriteString(`", error_description="`)
		b.WriteString(quoteSafe(e.reason))
		b.WriteString(`", `)
	}
	if len(m.Scopes) > 0 {
		b.WriteString(`scope="`)
		b.WriteString(m.scopeJoined)
		b.WriteString(`", `)
	}
	b.WriteString(`resource_metadata="`)
	b.WriteString(quoteSafe(m.metadataURL(r)))
	b.WriteByte('"')
	return b.String()
}

// quoteSafe drops the characters that could break out of an RFC 7230
// quoted-string; the values we quote are URLs and fixed reasons, so
// nothing legitimate is lost.
func quoteSafe(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 || r == 0x7f }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func hasErrorRoutes(r *http.Request) bool {
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return ok && srv != nil && srv.Errors != nil && len(srv.Errors.Routes) > 0
}

// logRejection logs a refused request. Requests without a valid token
// (401, and malformed or oversized headers) are what scanners and the first
// step of every OAuth login send: DEBUG only, counted by
// caddy_cognito_auth_validations_total. Refusals of a verified caller (403)
// and outages (503) are an operator's business: INFO, sampled per identity
// (logSampler) so a client retrying in a loop cannot flood the log.
func (m *CognitoAuth) logRejection(r *http.Request, e *authError) {
	level := zapcore.DebugLevel
	if e.status == http.StatusForbidden || e.status == http.StatusServiceUnavailable {
		level = zapcore.InfoLevel
	}
	c := m.logger.Check(level, "request rejected")
	if c == nil {
		return
	}
	suppressed := 0
	if level == zapcore.InfoLevel {
		key := strconv.Itoa(e.status) + "\x00" + e.reason
		if e.id != nil {
			key = strconv.Itoa(e.status) + "\x00" + e.id.Issuer + "\x00" + e.id.Subject
		}
		var ok bool
		if ok, suppressed = m.sampler.allow(key, m.now()); !ok {
			return
		}
	}
	fields := []zap.Field{
		zap.Int("status", e.status),
		zap.String("reason", e.reason),
		zap.String("client_ip", clientIP(r)),
		zap.String("uri_path", logValue(r.URL.Path)),
	}
	if e.id != nil {
		fields = append(fields, zap.String("sub", logValue(e.id.Subject)), zap.String("client_id", logValue(e.id.ClientID)))
	}
	if e.cause != nil {
		fields = append(fields, zap.NamedError("cause", e.cause))
	}
	if suppressed > 0 {
		fields = append(fields, zap.Int("suppressed", suppressed))
	}
	c.Write(fields...)
}
