package fakeaws

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The CloudWatch PromQL endpoint is the Prometheus HTTP API under
// https://monitoring.<region>.amazonaws.com/api/v1/, SigV4-signed for
// "monitoring". The fake evaluates plain series selectors over seeded series,
// number and string literals and time(); anything else must be seeded with
// SetResult. Failures: f.SetFault("PromQLQuery", ...) for AWS-level errors
// (5xx, throttling) and FailQuery for Prometheus "status":"error" answers.
func init() {
	RegisterREST("GET", "/api/v1/query", "monitoring", "PromQLQuery")
	RegisterREST("GET", "/api/v1/query_range", "monitoring", "PromQLQueryRange")
	RegisterREST("GET", "/api/v1/labels", "monitoring", "PromQLLabels")
	RegisterREST("GET", "/api/v1/label/{name}/values", "monitoring", "PromQLLabelValues")
	RegisterREST("GET", "/api/v1/series", "monitoring", "PromQLSeries")
	Register(func(f *Fake) {
		f.Handle("monitoring", "PromQLQuery", promqlQuery)
		f.Handle("monitoring", "PromQLQueryRange", promqlQueryRange)
		f.Handle("monitoring", "PromQLLabels", promqlLabels)
		f.Handle("monitoring", "PromQLLabelValues", promqlLabelValues)
		f.Handle("monitoring", "PromQLSeries", promqlSeries)
	})
}

// PromQLSample is one sample of a seeded series.
type PromQLSample struct {
	T time.Time
	V float64
}

// PromQLRequest records what one PromQL call put on the wire.
type PromQLRequest struct {
	Op    string
	Path  string     // escaped request path
	Query url.Values // every value of every parameter, as received
	Owner string
}

// PromQLStore is the fake's PromQL data: seeded series, canned results for
// expressions the fake cannot evaluate, injected errors and a request log.
type PromQLStore struct {
	mu       sync.Mutex
	series   []promSeries
	canned   map[string]promCanned
	failures map[string]promFailure
	requests []PromQLRequest
}

type promSeries struct {
	labels  map[string]string
	samples []PromQLSample // sorted by time
}

type promCanned struct {
	resultType string
	result     any
}

type promFailure struct {
	errorType, message string
}

// PromQL returns this fake's PromQL store.
func (f *Fake) PromQL() *PromQLStore {
	return f.State("promql", func() any {
		return &PromQLStore{canned: map[string]promCanned{}, failures: map[string]promFailure{}}
	}).(*PromQLStore)
}

// AddSeries seeds a series. labels must include "__name__" to be selectable
// by metric name.
func (s *PromQLStore) AddSeries(labels map[string]string, samples ...PromQLSample) {
	l := make(map[string]string, len(labels))
	for k, v := range labels {
		l[k] = v
	}
	sm := append([]PromQLSample(nil), samples...)
	sort.Slice(sm, func(i, j int) bool { return sm[i].T.Before(sm[j].T) })
	s.mu.Lock()
	s.series = append(s.series, promSeries{labels: l, samples: sm})
	s.mu.Unlock()
}

// SetResult makes queries (instant and range) of exactly expr answer with
// resultType and result, which is JSON-encoded as given. Use it for scalar,
// string or any expression the fake cannot evaluate.
func (s *PromQLStore) SetResult(expr, resultType string, result any) {
	s.mu.Lock()
	s.canned[expr] = promCanned{resultType: resultType, result: result}
	s.mu.Unlock()
}

// FailQuery makes every call whose query, or one of whose match[]
// selectors, is exactly expr answer with a Prometheus error. The HTTP status
// follows Prometheus: bad_data 400, execution 422, timeout/canceled/
// unavailable 503, anything else 500.
func (s *PromQLStore) FailQuery(expr, errorType, message string) {
	s.mu.Lock()
	s.failures[expr] = promFailure{errorType: errorType, message: message}
	s.mu.Unlock()
}

// Requests returns the PromQL calls received so far.
func (s *PromQLStore) Requests() []PromQLRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PromQLRequest(nil), s.requests...)
}

func (s *PromQLStore) record(r *Request) {
	s.mu.Lock()
	s.requests = append(s.requests, PromQLRequest{Op: r.Op, Path: r.HTTP.URL.EscapedPath(), Query: r.HTTP.URL.Query(), Owner: r.Owner})
	s.mu.Unlock()
}

// failure returns the injected failure for any of exprs.
func (s *PromQLStore) failure(exprs ...string) (promFailure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range exprs {
		if f, ok := s.failures[e]; ok {
			return f, true
		}
	}
	return promFailure{}, false
}

func (s *PromQLStore) cannedResult(expr string) (promCanned, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.canned[expr]
	return c, ok
}

// snapshot copies the series so evaluation runs without the lock.
func (s *PromQLStore) snapshot() []promSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]promSeries(nil), s.series...)
}

// promLookback is Prometheus' default staleness window.
const promLookback = 5 * time.Minute

// promMaxPoints is Prometheus' per-series resolution limit for range queries.
const promMaxPoints = 11000

func promOK(data any) HTTPResponse {
	return HTTPResponse{Status: http.StatusOK, Body: map[string]any{"status": "success", "data": data}}
}

func promErr(errorType, format string, args ...any) HTTPResponse {
	status := http.StatusInternalServerError
	switch errorType {
	case "bad_data":
		status = http.StatusBadRequest
	case "execution":
		status = http.StatusUnprocessableEntity
	case "timeout", "canceled", "unavailable":
		status = http.StatusServiceUnavailable
	case "not_found":
		status = http.StatusNotFound
	}
	return HTTPResponse{Status: status, Body: map[string]any{"status": "error", "errorType": errorType, "error": fmt.Sprintf(format, args...)}}
}

// begin logs the request and returns the store and any injected failure.
func promBegin(r *Request, exprs ...string) (*PromQLStore, *HTTPResponse) {
	s := r.Fake().PromQL()
	s.record(r)
	if f, ok := s.failure(exprs...); ok {
		e := promErr(f.errorType, "%s", f.message)
		return s, &e
	}
	return s, nil
}

func promqlQuery(r *Request) (any, error) {
	q := r.HTTP.URL.Query()
	expr := q.Get("query")
	s, fail := promBegin(r, expr)
	if fail != nil {
		return *fail, nil
	}
	if strings.TrimSpace(expr) == "" {
		return promErr("bad_data", "invalid parameter \"query\": query must not be empty"), nil
	}
	at := r.Now()
	if v := q.Get("time"); v != "" {
		t, err := promParseTime(v)
		if err != nil {
			return promErr("bad_data", "invalid parameter \"time\": %v", err), nil
		}
		at = t
	}
	if c, ok := s.cannedResult(expr); ok {
		return promOK(map[string]any{"resultType": c.resultType, "result": c.result}), nil
	}
	if lit, ok := promLiteral(expr, at); ok {
		return promOK(lit), nil
	}
	sel, err := parsePromSelector(expr)
	if err != nil {
		return promErr("bad_data", "fakeaws cannot evaluate %q (%v); seed it with PromQL().SetResult", expr, err), nil
	}
	result := []any{}
	for _, ser := range s.snapshot() {
		if !sel.matches(ser.labels) {
			continue
		}
		if smp, ok := ser.at(at); ok {
			result = append(result, map[string]any{"metric": ser.labels, "value": promPoint(smp.T, smp.V)})
		}
	}
	return promOK(map[string]any{"resultType": "vector", "result": result}), nil
}

func promqlQueryRange(r *Request) (any, error) {
	q := r.HTTP.URL.Query()
	expr := q.Get("query")
	s, fail := promBegin(r, expr)
	if fail != nil {
		return *fail, nil
	}
	var start, end time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &start}, {"end", &end}} {
		t, err := promParseTime(q.Get(p.name))
		if err != nil {
			return promErr("bad_data", "invalid parameter %q: %v", p.name, err), nil
		}
		*p.dst = t
	}
	if end.Before(start) {
		return promErr("bad_data", "end timestamp must not be before start time"), nil
	}
	step, err := promParseDuration(q.Get("step"))
	if err != nil {
		return promErr("bad_data", "invalid parameter \"step\": %v", err), nil
	}
	if step <= 0 {
		return promErr("bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer"), nil
	}
	if end.Sub(start)/step > promMaxPoints {
		return promErr("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"), nil
	}
	if c, ok := s.cannedResult(expr); ok {
		return promOK(map[string]any{"resultType": c.resultType, "result": c.result}), nil
	}
	sel, err := parsePromSelector(expr)
	if err != nil {
		return promErr("bad_data", "fakeaws cannot evaluate %q (%v); seed it with PromQL().SetResult", expr, err), nil
	}
	result := []any{}
	for _, ser := range s.snapshot() {
		if !sel.matches(ser.labels) {
			continue
		}
		values := []any{}
		for t := start; !t.After(end); t = t.Add(step) {
			if smp, ok := ser.at(t); ok {
				values = append(values, promPoint(t, smp.V))
			}
		}
		if len(values) > 0 {
			result = append(result, map[string]any{"metric": ser.labels, "values": values})
		}
	}
	return promOK(map[string]any{"resultType": "matrix", "result": result}), nil
}

func promqlLabels(r *Request) (any, error) {
	q := r.HTTP.URL.Query()
	s, fail := promBegin(r, q["match[]"]...)
	if fail != nil {
		return *fail, nil
	}
	matched, errResp := promMatchSeries(s, q, false)
	if errResp != nil {
		return *errResp, nil
	}
	set := map[string]bool{}
	for _, ser := range matched {
		for k := range ser.labels {
			set[k] = true
		}
	}
	return promOK(sortedKeys(set)), nil
}

func promqlLabelValues(r *Request) (any, error) {
	q := r.HTTP.URL.Query()
	s, fail := promBegin(r, q["match[]"]...)
	if fail != nil {
		return *fail, nil
	}
	// /api/v1/label/<name>/values: the name is one escaped path segment.
	segs := strings.Split(r.HTTP.URL.EscapedPath(), "/")
	name, err := url.PathUnescape(segs[len(segs)-2])
	if err != nil || name == "" {
		return promErr("bad_data", "invalid label name %q", segs[len(segs)-2]), nil
	}
	matched, errResp := promMatchSeries(s, q, false)
	if errResp != nil {
		return *errResp, nil
	}
	set := map[string]bool{}
	for _, ser := range matched {
		if v, ok := ser.labels[name]; ok && v != "" {
			set[v] = true
		}
	}
	return promOK(sortedKeys(set)), nil
}

func promqlSeries(r *Request) (any, error) {
	q := r.HTTP.URL.Query()
	s, fail := promBegin(r, q["match[]"]...)
	if fail != nil {
		return *fail, nil
	}
	matched, errResp := promMatchSeries(s, q, true)
	if errResp != nil {
		return *errResp, nil
	}
	out := make([]any, 0, len(matched))
	for _, ser := range matched {
		out = append(out, ser.labels)
	}
	return promOK(out), nil
}

// promMatchSeries returns the series matching any match[] selector (all
// series when there is none and it is optional) with a sample in the
// optional start/end window.
func promMatchSeries(s *PromQLStore, q url.Values, required bool) ([]promSeries, *HTTPResponse) {
	matches := q["match[]"]
	if required && len(matches) == 0 {
		e := promErr("bad_data", "no match[] parameter provided")
		return nil, &e
	}
	sels := make([]promSelector, 0, len(matches))
	for _, m := range matches {
		sel, err := parsePromSelector(m)
		if err != nil {
			e := promErr("bad_data", "invalid parameter \"match[]\": %v", err)
			return nil, &e
		}
		sels = append(sels, sel)
	}
	start, end := time.Time{}, time.Time{}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &start}, {"end", &end}} {
		if v := q.Get(p.name); v != "" {
			t, err := promParseTime(v)
			if err != nil {
				e := promErr("bad_data", "invalid parameter %q: %v", p.name, err)
				return nil, &e
			}
			*p.dst = t
		}
	}
	var out []promSeries
	for _, ser := range s.snapshot() {
		if len(sels) > 0 {
			hit := false
			for _, sel := range sels {
				hit = hit || sel.matches(ser.labels)
			}
			if !hit {
				continue
			}
		}
		if !ser.inWindow(start, end) {
			continue
		}
		out = append(out, ser)
	}
	return out, nil
}

// at is the instant-vector sample at t: the latest within the lookback.
func (s promSeries) at(t time.Time) (PromQLSample, bool) {
	for i := len(s.samples) - 1; i >= 0; i-- {
		smp := s.samples[i]
		if smp.T.After(t) {
			continue
		}
		if t.Sub(smp.T) < promLookback {
			return smp, true
		}
		break
	}
	return PromQLSample{}, false
}

func (s promSeries) inWindow(start, end time.Time) bool {
	if start.IsZero() && end.IsZero() {
		return true
	}
	for _, smp := range s.samples {
		if (start.IsZero() || !smp.T.Before(start)) && (end.IsZero() || !smp.T.After(end)) {
			return true
		}
	}
	return false
}

func promPoint(t time.Time, v float64) []any {
	return []any{float64(t.UnixMilli()) / 1000, promFloat(v)}
}

func promFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// promParseTime reads the API's time format: RFC 3339 or unix seconds.
func promParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing timestamp")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
	}
	return t.UTC(), nil
}

var promDurationRE = regexp.MustCompile(`^(?:(\d+)(ms|s|m|h|d|w|y))+$`)
var promDurationPart = regexp.MustCompile(`(\d+)(ms|s|m|h|d|w|y)`)

// promParseDuration reads a step: float seconds or a Prometheus duration.
func promParseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	if !promDurationRE.MatchString(s) {
		return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
	}
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	var d time.Duration
	for _, m := range promDurationPart.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		d += time.Duration(n) * unit[m[2]]
	}
	return d, nil
}

// promLiteral evaluates number and string literals and time().
func promLiteral(expr string, at time.Time) (map[string]any, bool) {
	e := strings.TrimSpace(expr)
	ts := float64(at.UnixMilli()) / 1000
	if e == "time()" {
		return map[string]any{"resultType": "scalar", "result": []any{ts, promFloat(ts)}}, true
	}
	if f, err := strconv.ParseFloat(e, 64); err == nil {
		return map[string]any{"resultType": "scalar", "result": []any{ts, promFloat(f)}}, true
	}
	if len(e) >= 2 && (e[0] == '"' || e[0] == '\'' || e[0] == '`') {
		if s, rest, err := promUnquote(e); err == nil && strings.TrimSpace(rest) == "" {
			return map[string]any{"resultType": "string", "result": []any{ts, s}}, true
		}
	}
	return nil, false
}

// promSelector is a parsed instant-vector selector.
type promSelector []promMatcher

type promMatcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (sel promSelector) matches(labels map[string]string) bool {
	for _, m := range sel {
		if !m.matches(labels[m.name]) {
			return false
		}
	}
	return true
}

func (m promMatcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// parsePromSelector parses `name`, `name{...}` and `{...}` selectors, with
// Prometheus 3 quoted (UTF-8) names: {"http.server.duration", "@aws.region"="us-east-1"}.
func parsePromSelector(expr string) (promSelector, error) {
	p := &promParser{s: strings.TrimSpace(expr)}
	var sel promSelector
	if id := p.ident(); id != "" {
		sel = append(sel, promMatcher{name: "__name__", op: "=", value: id})
	}
	p.space()
	if p.eof() {
		if len(sel) == 0 {
			return nil, fmt.Errorf("empty selector")
		}
		return sel, nil
	}
	if !p.take("{") {
		return nil, fmt.Errorf("unexpected %q", p.rest())
	}
	for {
		p.space()
		if p.take("}") {
			break
		}
		var name string
		quoted := false
		if id := p.ident(); id != "" {
			name = id
		} else if s, err := p.quoted(); err == nil {
			name, quoted = s, true
		} else {
			return nil, fmt.Errorf("expected a label name at %q", p.rest())
		}
		p.space()
		op := ""
		for _, o := range []string{"!=", "=~", "!~", "="} {
			if p.take(o) {
				op = o
				break
			}
		}
		if op == "" {
			if !quoted {
				return nil, fmt.Errorf("expected a matcher operator after %q", name)
			}
			sel = append(sel, promMatcher{name: "__name__", op: "=", value: name}) // bare quoted metric name
		} else {
			p.space()
			v, err := p.quoted()
			if err != nil {
				return nil, fmt.Errorf("expected a quoted value for %q", name)
			}
			m := promMatcher{name: name, op: op, value: v}
			if op == "=~" || op == "!~" {
				if m.re, err = regexp.Compile("^(?:" + v + ")$"); err != nil {
					return nil, fmt.Errorf("invalid regular expression %q: %v", v, err)
				}
			}
			sel = append(sel, m)
		}
		p.space()
		if p.take(",") {
			continue
		}
		if p.take("}") {
			break
		}
		return nil, fmt.Errorf("unexpected %q", p.rest())
	}
	p.space()
	if !p.eof() {
		return nil, fmt.Errorf("unexpected %q after the selector", p.rest())
	}
	nonEmpty := false
	for _, m := range sel {
		nonEmpty = nonEmpty || !m.matches("")
	}
	if !nonEmpty {
		return nil, fmt.Errorf("vector selector must contain at least one non-empty matcher")
	}
	return sel, nil
}

type promParser struct {
	s   string
	pos int
}

func (p *promParser) eof() bool    { return p.pos >= len(p.s) }
func (p *promParser) rest() string { return p.s[p.pos:] }

func (p *promParser) space() {
	for !p.eof() && strings.ContainsRune(" \t\n\r", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *promParser) take(tok string) bool {
	if strings.HasPrefix(p.rest(), tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *promParser) ident() string {
	start := p.pos
	for !p.eof() {
		c := p.s[p.pos]
		if c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (p.pos > start && c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *promParser) quoted() (string, error) {
	s, rest, err := promUnquote(p.rest())
	if err != nil {
		return "", err
	}
	p.pos = len(p.s) - len(rest)
	return s, nil
}

// promUnquote reads one PromQL string literal from the start of s.
func promUnquote(s string) (string, string, error) {
	if s == "" {
		return "", s, fmt.Errorf("no string")
	}
	q := s[0]
	switch q {
	case '`':
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", s, fmt.Errorf("unterminated raw string")
		}
		return s[1 : end+1], s[end+2:], nil
	case '"', '\'':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case q:
				body := s[1:i]
				if q == '\'' {
					body = strings.ReplaceAll(strings.ReplaceAll(body, `\'`, `'`), `"`, `\"`)
				}
				v, err := strconv.Unquote(`"` + body + `"`)
				if err != nil || !utf8.ValidString(v) {
					return "", s, fmt.Errorf("invalid string literal")
				}
				return v, s[i+1:], nil
			}
		}
		return "", s, fmt.Errorf("unterminated string")
	}
	return "", s, fmt.Errorf("no string")
}
