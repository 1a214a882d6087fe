package cloudwatchmcp

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// Audit outcomes.
const (
	auditOK     = "ok"
	auditError  = "error"
	auditDenied = "denied"
)

const (
	// maxAuditListItems and maxAuditValueBytes bound what one argument
	// contributes, so a hostile call cannot blow up the audit log.
	maxAuditListItems  = 50
	maxAuditValueBytes = 512
)

// auditor writes one entry per tool call to the audit logger,
// http.handlers.cloudwatch_mcp.audit, which users route with Caddy's `log`
// directive (include http.handlers.cloudwatch_mcp.audit). Entries carry who,
// what, which AWS requests, how long and how it ended, and never a
// credential, token or (unless audit_query_text) query text.
type auditor struct {
	logger    *zap.Logger
	now       func() time.Time
	queryText bool
}

// middleware is the outermost tool middleware: it gives the call its
// record and writes the entry however the call ends, panics included.
func (au *auditor) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		ctx, rec := toolkit.WithRecord(ctx)
		start := au.now()
		finished := false
		defer func() {
			outcome := auditOK
			ids, n, denied := rec.Snapshot()
			var f toolkit.Failure
			switch {
			case denied != nil:
				outcome = auditDenied
			case !finished || err != nil || res == nil || res.IsError:
				outcome = auditError
			}
			switch {
			case outcome == auditOK:
			case !finished:
				f = toolkit.Failure{Kind: toolkit.KindInternal} // a panic
			default:
				f = rec.FailureOf(err)
			}
			var session string
			if s := server.ClientSessionFromContext(ctx); s != nil {
				session = s.SessionID()
			}
			au.write(ctx, auditEntry{
				tool: req.Params.Name, session: session, args: req.GetArguments(),
				start: start, duration: au.now().Sub(start), outcome: outcome,
				resultBytes: resultSize(res), images: images(res), requestIDs: ids, requests: n, denied: denied, failure: f,
				throttling: rec.Throttling(),
			})
		}()
		res, err = next(ctx, req)
		finished = true
		return res, err
	}
}

// denied audits a call refused before mcp-go saw it (missing scopes).
func (au *auditor) denied(r *http.Request, msg peekedMessage, d decision) {
	var args map[string]any
	if len(msg.arguments) > 0 {
		_ = json.Unmarshal(msg.arguments, &args)
	}
	now := au.now()
	denial := d.denial()
	au.write(r.Context(), auditEntry{
		tool: clip(msg.toolName, 128), session: clip(r.Header.Get(server.HeaderKeySessionID), 128), args: args,
		start: now, outcome: auditDenied, denied: &denial, failure: toolkit.Failure{Kind: toolkit.KindAccessDenied},
	})
}

type auditEntry struct {
	tool        string
	session     string
	args        map[string]any
	start       time.Time
	duration    time.Duration
	outcome     string
	resultBytes int
	images      [2]int // how many images the result carries, and their bytes
	requestIDs  []string
	requests    int
	denied      *toolkit.Denial
	failure     toolkit.Failure // set unless the outcome is ok
	throttling  toolkit.Throttling
}

func (au *auditor) write(ctx context.Context, e auditEntry) {
	ce := au.logger.Check(zapcore.InfoLevel, "tool call")
	if ce == nil {
		return
	}
	sub, username, clientID, issuer := auditIdentity(ctx)
	if e.requestIDs == nil {
		e.requestIDs = []string{}
	}
	fields := []zap.Field{
		zap.Time("time", e.start),
		zap.String("tool", e.tool),
		zap.String("outcome", e.outcome),
		zap.String("sub", sub),
		zap.String("username", username),
		zap.String("client_id", clientID),
		zap.String("issuer", issuer),
		zap.String("session_id", e.session),
		zap.Object("args", summarizeArgs(e.args, au.queryText)),
		zap.Strings("aws_request_ids", e.requestIDs),
		zap.Int("aws_requests", e.requests),
		zap.Float64("duration", e.duration.Seconds()),
		zap.Int("result_bytes", e.resultBytes),
	}
	if e.images[0] > 0 {
		// That an image went back and how big, never the image.
		fields = append(fields, zap.Int("images", e.images[0]), zap.Int("image_bytes", e.images[1]))
	}
	// AWS throttled the call and it waited instead of failing, or it
	// waited for the account's Logs Insights polling budget.
	if th := e.throttling; th.Throttled > 0 || th.Waited > 0 {
		fields = append(fields, zap.Int("aws_throttled", th.Throttled), zap.Float64("throttle_wait", th.Waited.Seconds()))
	}
	if e.failure.Kind != "" {
		fields = append(fields, zap.String("error_kind", e.failure.Kind))
	}
	if e.failure.AWSCode != "" {
		fields = append(fields, zap.String("aws_error_code", clip(e.failure.AWSCode, 128)))
	}
	if d := e.denied; d != nil {
		if len(d.MissingScopes) > 0 {
			fields = append(fields, zap.Strings("missing_scopes", d.MissingScopes))
		}
		if len(d.MissingGroups) > 0 {
			var groups []string
			for _, gs := range d.MissingGroups {
				for _, g := range gs {
					if !slices.Contains(groups, g) {
						groups = append(groups, g)
					}
				}
			}
			fields = append(fields, zap.Strings("required_groups", groups))
		}
	}
	ce.Write(fields...)
}

// auditIdentity is who made the request, as cognito_auth published it.
func auditIdentity(ctx context.Context) (sub, username, clientID, issuer string) {
	if repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		sub, _ = repl.GetString("http.auth.user.id")
		username, _ = repl.GetString("http.auth.user.username")
		clientID, _ = repl.GetString("http.auth.user.client_id")
		issuer, _ = repl.GetString("http.auth.user.issuer")
	}
	return sub, username, clientID, issuer
}

func images(res *mcp.CallToolResult) [2]int {
	n, size := toolkit.ImageStats(res)
	return [2]int{n, size}
}

// resultSize is the size of what the tool returned: its text content plus
// its structured content.
func resultSize(res *mcp.CallToolResult) int {
	if res == nil {
		return 0
	}
	n := 0
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			n += len(tc.Text)
		} else if b, err := json.Marshal(c); err == nil {
			n += len(b)
		}
	}
	switch sc := res.StructuredContent.(type) {
	case nil:
	case json.RawMessage:
		n += len(sc)
	default:
		if b, err := json.Marshal(sc); err == nil {
			n += len(b)
		}
	}
	return n
}

// argSummary is the audit view of a call's arguments: the names of what
// was touched (log groups, metrics, alarms, regions, accounts), the time
// range, and a hash of any query text. Arguments outside this list (limits,
// dimensions, filters) appear only by name.
type argSummary struct {
	names       []string
	region      string
	regions     []string
	account     string
	profile     string
	logGroups   []string
	prefix      string
	namespaces  []string
	metricNames []string
	alarmName   string
	queryID     string
	start, end  string
	at          string
	queryTexts  []string
	keepText    bool
}

func summarizeArgs(args map[string]any, keepText bool) *argSummary {
	s := &argSummary{keepText: keepText}
	for k := range args {
		s.names = append(s.names, clip(k, 64))
	}
	sort.Strings(s.names)
	if len(s.names) > maxAuditListItems {
		s.names = s.names[:maxAuditListItems]
	}
	str := func(k string) string { return scalarString(args[k]) }
	s.region = str("region")
	s.regions = looseList(args["regions"])
	s.account = str("account")
	s.profile = str("profile_name")
	for _, k := range []string{"log_group_name", "log_group_names", "log_group_identifier", "log_group_identifiers", "log_group_arn"} {
		s.logGroups = appendUnique(s.logGroups, looseList(args[k])...)
	}
	s.prefix = str("log_group_name_prefix")
	s.namespaces = appendUnique(nil, str("namespace"))
	s.metricNames = appendUnique(nil, str("metric_name"))
	s.alarmName = str("alarm_name")
	s.queryID = str("query_id")
	s.start = cmp.Or(str("start_time"), str("start"))
	s.end = cmp.Or(str("end_time"), str("end"))
	s.at = str("time")
	for _, k := range []string{"query_string", "query", "filter_pattern"} {
		if q, ok := args[k].(string); ok && q != "" {
			s.queryTexts = append(s.queryTexts, q)
		}
	}
	if m := looseList(args["match"]); len(m) > 0 {
		s.queryTexts = append(s.queryTexts, strings.Join(m, "\n"))
	}
	for _, q := range looseObjects(args["queries"]) {
		if ms, ok := q["metric_stat"].(map[string]any); ok {
			s.namespaces = appendUnique(s.namespaces, scalarString(ms["namespace"]))
			s.metricNames = appendUnique(s.metricNames, scalarString(ms["metric_name"]))
		}
		if e, ok := q["expression"].(string); ok && e != "" {
			s.queryTexts = append(s.queryTexts, e)
		}
	}
	return s
}

// MarshalLogObject writes only the fields that were given.
func (s *argSummary) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	strs := func(key string, v []string) {
		if len(v) > 0 {
			_ = enc.AddArray(key, zapcore.ArrayMarshalerFunc(func(ae zapcore.ArrayEncoder) error {
				for _, x := range v {
					ae.AppendString(x)
				}
				return nil
			}))
		}
	}
	str := func(key, v string) {
		if v != "" {
			enc.AddString(key, v)
		}
	}
	strs("names", s.names)
	str("region", s.region)
	strs("regions", s.regions)
	str("account", s.account)
	str("profile_name", s.profile)
	strs("log_groups", s.logGroups)
	str("log_group_prefix", s.prefix)
	strs("namespaces", s.namespaces)
	strs("metric_names", s.metricNames)
	str("alarm_name", s.alarmName)
	str("query_id", s.queryID)
	str("start", s.start)
	str("end", s.end)
	str("time", s.at)
	if len(s.queryTexts) > 0 {
		// The hash covers the full text, so equal queries correlate
		// across entries without the log holding them.
		text := strings.Join(s.queryTexts, "\n")
		sum := sha256.Sum256([]byte(text))
		enc.AddString("query_sha256", hex.EncodeToString(sum[:]))
		if s.keepText {
			enc.AddString("query_text", clip(text, 16<<10))
		}
	}
	return nil
}

// scalarString renders a string or number argument, clipped; other
// shapes (objects, lists) are not summarized.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return clip(x, maxAuditValueBytes)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return clip(x.String(), maxAuditValueBytes)
	}
	return ""
}

// looseList reads a list of strings given as a JSON array, a JSON-encoded
// string (as FastMCP agents send) or a single string.
func looseList(v any) []string {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case string:
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "[") {
			if json.Unmarshal([]byte(t), &items) != nil {
				items = []any{x}
			}
		} else {
			items = []any{x}
		}
	}
	var out []string
	for _, it := range items {
		if s := scalarString(it); s != "" {
			out = appendUnique(out, s)
		}
	}
	return out
}

// looseObjects reads a list of objects given as JSON or a JSON string.
func looseObjects(v any) []map[string]any {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case string:
		_ = json.Unmarshal([]byte(x), &items)
	}
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
		if len(out) == maxAuditListItems {
			break
		}
	}
	return out
}

func appendUnique(list []string, vals ...string) []string {
	for _, v := range vals {
		if v != "" && len(list) < maxAuditListItems && !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// auditOptions wires the audit trail and, when configured, authorization
// into mcp-go. Audit comes first (outer), so refused calls are recorded.
func (h *Handler) auditOptions() []server.ServerOption {
	opts := []server.ServerOption{server.WithToolHandlerMiddleware(h.audit.middleware)}
	if h.authz != nil {
		opts = append(opts, server.WithToolFilter(h.authz.filter), server.WithToolHandlerMiddleware(h.authz.middleware))
	}
	return opts
}

// Interface guards
var (
	_ zapcore.ObjectMarshaler = (*argSummary)(nil)
)
