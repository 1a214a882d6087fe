package fakeaws

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudWatch metrics (RPCv2 CBOR): GetMetricData over seeded series, with
// MetricStat queries, a working subset of Metrics Insights SQL and simple
// metric math, NextToken paging, MaxDatapoints, ScanBy and StatusCode
// PartialData on every page but a result's last.

func init() {
	Register(func(f *Fake) {
		f.Handle("monitoring", "GetMetricData", func(r *Request) (any, error) { return MetricsOf(r.Fake()).getMetricData(r) })
	})
}

// DefaultMetricPageSize is how many datapoints one GetMetricData page holds
// at most, as in AWS.
const DefaultMetricPageSize = 100800

// MetricPoint is one raw observation.
type MetricPoint struct {
	T time.Time
	V float64
}

// MetricGenerator produces the observation at t; ok=false means no data.
type MetricGenerator func(t time.Time) (v float64, ok bool)

type metricSeries struct {
	namespace, metric string
	dims              map[string]string
	points            []MetricPoint // sorted by T
	gen               MetricGenerator
	step              time.Duration
}

// Metrics is the seeded metric store of one Fake.
type Metrics struct {
	mu          sync.Mutex
	series      map[string]*metricSeries
	order       []string
	pageSize    int
	messages    [][2]string
	expressions []string
	widgets     []WidgetImage       // GetMetricWidgetImage calls answered
	owners      map[string][]string // namespace → the key owners ListMetrics shows it to
}

// MetricsOf returns f's metric store.
func MetricsOf(f *Fake) *Metrics {
	return f.State("metrics", func() any {
		return &Metrics{series: map[string]*metricSeries{}, pageSize: DefaultMetricPageSize}
	}).(*Metrics)
}

func seriesKey(namespace, metric string, dims map[string]string) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(namespace + "\x00" + metric)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + dims[k])
	}
	return b.String()
}

func copyDims(d map[string]string) map[string]string {
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

// PutSeries adds raw observations to the series (namespace, metric, dims).
func (m *Metrics) PutSeries(namespace, metric string, dims map[string]string, points []MetricPoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := seriesKey(namespace, metric, dims)
	s, ok := m.series[k]
	if !ok {
		s = &metricSeries{namespace: namespace, metric: metric, dims: copyDims(dims)}
		m.series[k] = s
		m.order = append(m.order, k)
	}
	s.points = append(s.points, points...)
	sort.SliceStable(s.points, func(i, j int) bool { return s.points[i].T.Before(s.points[j].T) })
}

// PutGenerated defines a synthetic series: one observation every step
// (aligned to the epoch), valued by gen. Use it for long windows, e.g. two
// weeks at one-minute resolution with seasonality and trend.
func (m *Metrics) PutGenerated(namespace, metric string, dims map[string]string, step time.Duration, gen MetricGenerator) {
	if step <= 0 {
		step = time.Minute
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := seriesKey(namespace, metric, dims)
	if _, ok := m.series[k]; !ok {
		m.order = append(m.order, k)
	}
	m.series[k] = &metricSeries{namespace: namespace, metric: metric, dims: copyDims(dims), gen: gen, step: step}
}

// SetPageSize caps the datapoints per GetMetricData page (below AWS's
// 100,800) so tests can exercise NextToken paging with little data.
func (m *Metrics) SetPageSize(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n <= 0 {
		n = DefaultMetricPageSize
	}
	m.pageSize = n
}

// AddMessage adds a top-level message (Code, Value) to every response page.
func (m *Metrics) AddMessage(code, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.messages = append(m.messages, [2]string{code, value})
}

// Expressions returns every query Expression received, in order.
func (m *Metrics) Expressions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.expressions...)
}

// observations returns s's raw observations in [from, to).
func (s *metricSeries) observations(from, to time.Time) []MetricPoint {
	if s.gen != nil {
		var out []MetricPoint
		step := s.step.Milliseconds()
		t := (from.UnixMilli() + step - 1) / step * step
		for ; t < to.UnixMilli(); t += step {
			ts := time.UnixMilli(t).UTC()
			if v, ok := s.gen(ts); ok {
				out = append(out, MetricPoint{T: ts, V: v})
			}
		}
		return out
	}
	i := sort.Search(len(s.points), func(i int) bool { return !s.points[i].T.Before(from) })
	j := sort.Search(len(s.points), func(i int) bool { return !s.points[i].T.Before(to) })
	return s.points[i:j]
}

// --- GetMetricData -------------------------------------------------------

type mdQuery struct {
	id, label, expr string
	returnData      bool
	period          int64
	namespace       string
	metric          string
	dims            map[string]string
	stat            string
}

// resultSeries is one returned time series, timestamps ascending.
type resultSeries struct {
	id, label string
	ts        []time.Time
	vals      []float64
}

var (
	queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	percentileStat = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,2})?|100)$`)
)

func validationError(format string, args ...any) *Error {
	return Errorf("ValidationError", format, args...)
}

func validPeriod(p int64) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p > 0 && p%60 == 0)
}

func parseMDQueries(r *Request) ([]mdQuery, error) {
	raw, _ := r.Input["MetricDataQueries"].([]any)
	if len(raw) == 0 {
		return nil, validationError("The parameter MetricDataQueries is required.")
	}
	if len(raw) > 500 {
		return nil, validationError("The collection MetricDataQueries must not have a size greater than 500.")
	}
	seen := map[string]bool{}
	var qs []mdQuery
	for i, e := range raw {
		m, _ := e.(map[string]any)
		q := mdQuery{returnData: true}
		q.id, _ = m["Id"].(string)
		q.label, _ = m["Label"].(string)
		q.expr, _ = m["Expression"].(string)
		if b, ok := m["ReturnData"].(bool); ok {
			q.returnData = b
		}
		if !queryIDPattern.MatchString(q.id) {
			return nil, validationError("The value %q for parameter MetricDataQueries.member.%d.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.", q.id, i+1)
		}
		if seen[q.id] {
			return nil, validationError("The values for parameter id in MetricDataQueries are not unique.")
		}
		seen[q.id] = true
		q.period = int64Of(m["Period"])
		ms, hasStat := m["MetricStat"].(map[string]any)
		if hasStat == (q.expr != "") {
			return nil, validationError("Exactly one element of the metrics list should have either Expression or MetricStat set (query %s).", q.id)
		}
		if hasStat {
			met, _ := ms["Metric"].(map[string]any)
			q.namespace, _ = met["Namespace"].(string)
			q.metric, _ = met["MetricName"].(string)
			q.dims = map[string]string{}
			dl, _ := met["Dimensions"].([]any)
			for _, d := range dl {
				dm, _ := d.(map[string]any)
				n, _ := dm["Name"].(string)
				v, _ := dm["Value"].(string)
				q.dims[n] = v
			}
			q.stat, _ = ms["Stat"].(string)
			q.period = int64Of(ms["Period"])
			if q.namespace == "" || q.metric == "" {
				return nil, validationError("MetricStat of query %s needs Metric.Namespace and Metric.MetricName.", q.id)
			}
			if !validStat(q.stat) {
				return nil, validationError("The value %q for parameter MetricDataQueries.member.%d.MetricStat.Stat is not a valid statistic.", q.stat, i+1)
			}
			if !validPeriod(q.period) {
				return nil, validationError("The parameter MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60.", i+1)
			}
		} else if q.period != 0 && !validPeriod(q.period) {
			return nil, validationError("The parameter MetricDataQueries.member.%d.Period must be 1, 5, 10, 30 or a multiple of 60.", i+1)
		}
		qs = append(qs, q)
	}
	return qs, nil
}

func int64Of(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

func validStat(s string) bool {
	switch s {
	case "Average", "Sum", "Minimum", "Maximum", "SampleCount":
		return true
	}
	return percentileStat.MatchString(s)
}

// aggregate applies a CloudWatch statistic (or a Metrics Insights function)
// to the observations of one bucket.
func aggregate(stat string, v []float64) float64 {
	switch stat {
	case "Average", "AVG":
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	case "Sum", "SUM":
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	case "Minimum", "MIN":
		m := math.Inf(1)
		for _, x := range v {
			m = math.Min(m, x)
		}
		return m
	case "Maximum", "MAX":
		m := math.Inf(-1)
		for _, x := range v {
			m = math.Max(m, x)
		}
		return m
	case "SampleCount", "COUNT":
		return float64(len(v))
	}
	// pNN: nearest rank.
	p, _ := strconv.ParseFloat(strings.TrimPrefix(stat, "p"), 64)
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// bucketize groups observations by period bucket (aligned to the epoch) and
// applies stat to each bucket in [start, end).
func bucketize(obs []MetricPoint, start, end time.Time, period int64, stat string) ([]time.Time, []float64) {
	if period <= 0 {
		period = 60
	}
	pm := period * 1000
	buckets := map[int64][]float64{}
	var keys []int64
	for _, o := range obs {
		b := o.T.UnixMilli() / pm * pm
		if _, ok := buckets[b]; !ok {
			keys = append(keys, b)
		}
		buckets[b] = append(buckets[b], o.V)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	ts := make([]time.Time, 0, len(keys))
	vs := make([]float64, 0, len(keys))
	for _, k := range keys {
		ts = append(ts, time.UnixMilli(k).UTC())
		vs = append(vs, aggregate(stat, buckets[k]))
	}
	return ts, vs
}

func alignedStart(start time.Time, period int64) time.Time {
	if period <= 0 {
		period = 60
	}
	pm := period * 1000
	return time.UnixMilli(start.UnixMilli() / pm * pm).UTC()
}

func (m *Metrics) getMetricData(r *Request) (any, error) {
	qs, err := parseMDQueries(r)
	if err != nil {
		return nil, err
	}
	start, ok1 := r.Time("StartTime")
	end, ok2 := r.Time("EndTime")
	if !ok1 || !ok2 {
		return nil, validationError("The parameters StartTime and EndTime are required.")
	}
	if !start.Before(end) {
		return nil, validationError("The parameter StartTime must be less than the parameter EndTime.")
	}
	scanBy := r.String("ScanBy")
	if scanBy == "" {
		scanBy = "TimestampDescending"
	}
	if scanBy != "TimestampDescending" && scanBy != "TimestampAscending" {
		return nil, validationError("The value %q for parameter ScanBy is invalid.", scanBy)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range qs {
		if q.expr != "" {
			m.expressions = append(m.expressions, q.expr)
		}
	}

	computed := map[string][]resultSeries{}
	var out []resultSeries
	// MetricStat and Metrics Insights queries first; math may refer to them.
	for _, q := range qs {
		var rs []resultSeries
		switch {
		case q.expr == "":
			rs = m.metricStat(q, start, end)
		case isInsightsQuery(q.expr):
			if q.period == 0 {
				return nil, validationError("Period is required for a Metrics Insights query (query %s).", q.id)
			}
			rs, err = m.insights(q, start, end)
			if err != nil {
				return nil, err
			}
		default:
			continue
		}
		computed[q.id] = rs
	}
	for _, q := range qs {
		if q.expr != "" && !isInsightsQuery(q.expr) {
			rs, err := evalMath(q, computed)
			if err != nil {
				return nil, err
			}
			computed[q.id] = rs
		}
	}
	for _, q := range qs {
		if q.returnData {
			out = append(out, computed[q.id]...)
		}
	}
	if scanBy == "TimestampDescending" {
		for i := range out {
			reverseSeries(&out[i])
		}
	}
	return m.page(r, out)
}

func reverseSeries(s *resultSeries) {
	for i, j := 0, len(s.ts)-1; i < j; i, j = i+1, j-1 {
		s.ts[i], s.ts[j] = s.ts[j], s.ts[i]
		s.vals[i], s.vals[j] = s.vals[j], s.vals[i]
	}
}

func (m *Metrics) metricStat(q mdQuery, start, end time.Time) []resultSeries {
	label := q.label
	if label == "" {
		label = q.metric
	}
	rs := resultSeries{id: q.id, label: label}
	if s, ok := m.series[seriesKey(q.namespace, q.metric, q.dims)]; ok {
		from := alignedStart(start, q.period)
		rs.ts, rs.vals = bucketize(s.observations(from, end), from, end, q.period, q.stat)
	}
	return []resultSeries{rs}
}

// page cuts the flattened datapoints into pages of MaxDatapoints (capped by
// the store's page size). A NextToken is the offset of the next page.
func (m *Metrics) page(r *Request, all []resultSeries) (any, error) {
	size := m.pageSize
	if n, ok := r.Int("MaxDatapoints"); ok && n > 0 && int(n) < size {
		size = int(n)
	}
	total := 0
	for _, s := range all {
		total += len(s.ts)
	}
	offset := 0
	if tok := r.String("NextToken"); tok != "" {
		off, ok := decodePageToken(tok, "GetMetricData")
		if !ok || off > total {
			return nil, Errorf("InvalidNextToken", "The service found that the NextToken is invalid.")
		}
		offset = off
	}
	endOff := offset + size
	results := []any{}
	pos := 0
	for i, s := range all {
		n := len(s.ts)
		lo, hi := max(offset-pos, 0), min(endOff-pos, n)
		pos += n
		if lo >= hi && !(n == 0 && offset == 0) {
			continue
		}
		if n == 0 {
			lo, hi = 0, 0
		}
		status := "Complete"
		if hi < n {
			status = "PartialData"
		}
		ts := make([]any, 0, hi-lo)
		vs := make([]any, 0, hi-lo)
		for k := lo; k < hi; k++ {
			ts = append(ts, all[i].ts[k])
			vs = append(vs, all[i].vals[k])
		}
		res := map[string]any{"Id": s.id, "Timestamps": ts, "Values": vs, "StatusCode": status}
		if s.label != "" {
			res["Label"] = s.label
		}
		results = append(results, res)
	}
	outp := map[string]any{"MetricDataResults": results}
	if len(m.messages) > 0 {
		msgs := make([]any, 0, len(m.messages))
		for _, mm := range m.messages {
			msgs = append(msgs, map[string]any{"Code": mm[0], "Value": mm[1]})
		}
		outp["Messages"] = msgs
	}
	if endOff < total {
		outp["NextToken"] = encodePageToken("GetMetricData", endOff)
	}
	return outp, nil
}

// --- Metrics Insights ----------------------------------------------------

func isInsightsQuery(expr string) bool {
	f := strings.Fields(expr)
	return len(f) > 0 && strings.EqualFold(f[0], "SELECT")
}

type miToken struct {
	kind byte // 'k' keyword/bare identifier, 'q' quoted identifier, 's' string, 'n' number, 'p' punctuation
	text string
}

// lexInsights tokenizes Metrics Insights SQL. Identifiers that are not
// plain [A-Za-z_][A-Za-z0-9_]* must be double-quoted; label values are
// single-quoted; a quote (or backslash) inside either is escaped with a
// backslash, as the CloudWatch documentation prescribes.
func lexInsights(s string) ([]miToken, error) {
	var toks []miToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == c {
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated %c-quoted text at position %d", c, i)
			}
			kind := byte('q')
			if c == '\'' {
				kind = 's'
			}
			toks = append(toks, miToken{kind, b.String()})
			i = j
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, miToken{'k', s[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, miToken{'n', s[i:j]})
			i = j
		case c == '!' && i+1 < len(s) && s[i+1] == '=':
			toks = append(toks, miToken{'p', "!="})
			i += 2
		case strings.IndexByte("(),=*", c) >= 0:
			toks = append(toks, miToken{'p', string(c)})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d (quote identifiers with special characters)", c, i)
		}
	}
	return toks, nil
}

type miCond struct {
	key, value string
	not        bool
}

type miQuery struct {
	fn, metric, namespace string
	schema                []string
	useSchema             bool
	where                 []miCond
	groupBy               []string
	orderFn               string
	desc                  bool
	limit                 int
}

type miParser struct {
	toks []miToken
	pos  int
}

func (p *miParser) peek() miToken {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return miToken{}
}

func (p *miParser) keyword(k string) bool {
	t := p.peek()
	if t.kind == 'k' && strings.EqualFold(t.text, k) {
		p.pos++
		return true
	}
	return false
}

func (p *miParser) punct(s string) bool {
	t := p.peek()
	if t.kind == 'p' && t.text == s {
		p.pos++
		return true
	}
	return false
}

func (p *miParser) expect(s string) error {
	if p.punct(s) {
		return nil
	}
	return fmt.Errorf("expected %q near token %d", s, p.pos+1)
}

func (p *miParser) ident() (string, error) {
	t := p.peek()
	if t.kind == 'q' || t.kind == 'k' {
		p.pos++
		return t.text, nil
	}
	return "", fmt.Errorf("expected an identifier near token %d", p.pos+1)
}

func (p *miParser) function() (string, error) {
	t := p.peek()
	if t.kind == 'k' {
		switch f := strings.ToUpper(t.text); f {
		case "AVG", "COUNT", "MAX", "MIN", "SUM":
			p.pos++
			return f, nil
		}
	}
	return "", fmt.Errorf("expected one of AVG, COUNT, MAX, MIN, SUM near token %d", p.pos+1)
}

func parseInsights(expr string) (*miQuery, error) {
	toks, err := lexInsights(expr)
	if err != nil {
		return nil, err
	}
	p := &miParser{toks: toks}
	q := &miQuery{}
	if !p.keyword("SELECT") {
		return nil, fmt.Errorf("a query starts with SELECT")
	}
	if q.fn, err = p.function(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if q.metric, err = p.ident(); err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if !p.keyword("FROM") {
		return nil, fmt.Errorf("expected FROM")
	}
	if p.keyword("SCHEMA") {
		q.useSchema = true
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if q.namespace, err = p.ident(); err != nil {
			return nil, err
		}
		for p.punct(",") {
			k, err := p.ident()
			if err != nil {
				return nil, err
			}
			q.schema = append(q.schema, k)
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	} else if q.namespace, err = p.ident(); err != nil {
		return nil, err
	}
	if p.keyword("WHERE") {
		for {
			k, err := p.ident()
			if err != nil {
				return nil, err
			}
			c := miCond{key: k}
			switch {
			case p.punct("="):
			case p.punct("!="):
				c.not = true
			default:
				return nil, fmt.Errorf("expected = or != after %q", k)
			}
			t := p.peek()
			if t.kind != 's' {
				return nil, fmt.Errorf("label values must be single-quoted (after %q)", k)
			}
			p.pos++
			c.value = t.text
			q.where = append(q.where, c)
			if !p.keyword("AND") {
				break
			}
		}
	}
	if p.keyword("GROUP") {
		if !p.keyword("BY") {
			return nil, fmt.Errorf("expected BY after GROUP")
		}
		for {
			k, err := p.ident()
			if err != nil {
				return nil, err
			}
			q.groupBy = append(q.groupBy, k)
			if !p.punct(",") {
				break
			}
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, fmt.Errorf("expected BY after ORDER")
		}
		if q.orderFn, err = p.function(); err != nil {
			return nil, err
		}
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		q.desc = true
		if p.keyword("ASC") {
			q.desc = false
		} else {
			p.keyword("DESC")
		}
	}
	if p.keyword("LIMIT") {
		t := p.peek()
		n, err := strconv.Atoi(t.text)
		if t.kind != 'n' || err != nil || n < 1 || n > 500 {
			return nil, fmt.Errorf("LIMIT takes a number from 1 to 500")
		}
		p.pos++
		q.limit = n
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q near token %d", p.peek().text, p.pos+1)
	}
	return q, nil
}

func (q *miQuery) matches(s *metricSeries) bool {
	if s.namespace != q.namespace || s.metric != q.metric {
		return false
	}
	if q.useSchema {
		if len(s.dims) != len(q.schema) {
			return false
		}
		for _, k := range q.schema {
			if _, ok := s.dims[k]; !ok {
				return false
			}
		}
	}
	for _, c := range q.where {
		v, ok := s.dims[c.key]
		if (ok && v == c.value) == c.not {
			return false
		}
	}
	for _, g := range q.groupBy {
		if _, ok := s.dims[g]; !ok {
			return false
		}
	}
	return true
}

func (m *Metrics) insights(q mdQuery, start, end time.Time) ([]resultSeries, error) {
	mq, err := parseInsights(q.expr)
	if err != nil {
		return nil, validationError("Error in expression %s: %v", q.id, err)
	}
	from := alignedStart(start, q.period)
	type group struct {
		label string
		obs   []MetricPoint
	}
	groups := map[string]*group{}
	var keys []string
	for _, k := range m.order {
		s := m.series[k]
		if !mq.matches(s) {
			continue
		}
		vals := make([]string, len(mq.groupBy))
		for i, g := range mq.groupBy {
			vals[i] = s.dims[g]
		}
		gk := strings.Join(vals, "\x00")
		g, ok := groups[gk]
		if !ok {
			label := strings.Join(vals, " ")
			if label == "" {
				label = q.label
			}
			if label == "" {
				label = q.id
			}
			g = &group{label: label}
			groups[gk] = g
			keys = append(keys, gk)
		}
		g.obs = append(g.obs, s.observations(from, end)...)
	}
	sort.Strings(keys)
	if mq.orderFn != "" {
		score := map[string]float64{}
		for _, k := range keys {
			var all []float64
			for _, o := range groups[k].obs {
				all = append(all, o.V)
			}
			if len(all) == 0 {
				score[k] = math.Inf(-1)
			} else {
				score[k] = aggregate(mq.orderFn, all)
			}
		}
		sort.SliceStable(keys, func(i, j int) bool {
			if mq.desc {
				return score[keys[i]] > score[keys[j]]
			}
			return score[keys[i]] < score[keys[j]]
		})
	}
	if mq.limit > 0 && len(keys) > mq.limit {
		keys = keys[:mq.limit]
	}
	out := []resultSeries{}
	for _, k := range keys {
		g := groups[k]
		sort.SliceStable(g.obs, func(i, j int) bool { return g.obs[i].T.Before(g.obs[j].T) })
		ts, vs := bucketize(g.obs, from, end, q.period, mq.fn)
		out = append(out, resultSeries{id: q.id, label: g.label, ts: ts, vals: vs})
	}
	if len(out) == 0 && len(mq.groupBy) == 0 {
		label := q.label
		if label == "" {
			label = q.id
		}
		out = append(out, resultSeries{id: q.id, label: label})
	}
	return out, nil
}

// --- metric math ---------------------------------------------------------

// evalMath evaluates + - * / over numbers and the ids of single-series
// queries, timestamp by timestamp (timestamps present in every operand).
func evalMath(q mdQuery, computed map[string][]resultSeries) ([]resultSeries, error) {
	toks, err := lexMath(q.expr)
	if err != nil {
		return nil, validationError("Error in expression %s: %v", q.id, err)
	}
	p := &mathParser{toks: toks, computed: computed}
	v, err := p.expr()
	if err == nil && p.pos != len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	if err != nil {
		return nil, validationError("Error in expression %s: %v (fakeaws supports + - * / over query ids and numbers, and Metrics Insights SELECT)", q.id, err)
	}
	label := q.label
	if label == "" {
		label = q.id
	}
	rs := resultSeries{id: q.id, label: label}
	if v.series != nil {
		for i, t := range v.series.ts {
			rs.ts = append(rs.ts, t)
			rs.vals = append(rs.vals, v.series.vals[i])
		}
	}
	return []resultSeries{rs}, nil
}

type mathVal struct {
	scalar float64
	series *resultSeries // nil for a scalar
}

type mathParser struct {
	toks     []string
	pos      int
	computed map[string][]resultSeries
}

func lexMath(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("+-*/()", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

func (p *mathParser) next() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *mathParser) expr() (mathVal, error) {
	l, err := p.term()
	if err != nil {
		return l, err
	}
	for op := p.next(); op == "+" || op == "-"; op = p.next() {
		p.pos++
		r, err := p.term()
		if err != nil {
			return l, err
		}
		l = combine(l, r, op)
	}
	return l, nil
}

func (p *mathParser) term() (mathVal, error) {
	l, err := p.factor()
	if err != nil {
		return l, err
	}
	for op := p.next(); op == "*" || op == "/"; op = p.next() {
		p.pos++
		r, err := p.factor()
		if err != nil {
			return l, err
		}
		l = combine(l, r, op)
	}
	return l, nil
}

func (p *mathParser) factor() (mathVal, error) {
	t := p.next()
	switch {
	case t == "":
		return mathVal{}, fmt.Errorf("unexpected end of expression")
	case t == "-":
		p.pos++
		v, err := p.factor()
		return combine(mathVal{scalar: 0}, v, "-"), err
	case t == "(":
		p.pos++
		v, err := p.expr()
		if err != nil {
			return v, err
		}
		if p.next() != ")" {
			return v, fmt.Errorf("missing )")
		}
		p.pos++
		return v, nil
	case t[0] >= '0' && t[0] <= '9' || t[0] == '.':
		p.pos++
		f, err := strconv.ParseFloat(t, 64)
		return mathVal{scalar: f}, err
	default:
		p.pos++
		rs, ok := p.computed[t]
		if !ok {
			return mathVal{}, fmt.Errorf("unknown metric id or function %q", t)
		}
		if len(rs) != 1 {
			return mathVal{}, fmt.Errorf("%s returns %d time series; only single series are supported in math", t, len(rs))
		}
		s := rs[0]
		return mathVal{series: &s}, nil
	}
}

func combine(l, r mathVal, op string) mathVal {
	apply := func(a, b float64) float64 {
		switch op {
		case "+":
			return a + b
		case "-":
			return a - b
		case "*":
			return a * b
		}
		return a / b
	}
	switch {
	case l.series == nil && r.series == nil:
		return mathVal{scalar: apply(l.scalar, r.scalar)}
	case l.series == nil:
		out := resultSeries{}
		for i, t := range r.series.ts {
			out.ts = append(out.ts, t)
			out.vals = append(out.vals, apply(l.scalar, r.series.vals[i]))
		}
		return mathVal{series: &out}
	case r.series == nil:
		out := resultSeries{}
		for i, t := range l.series.ts {
			out.ts = append(out.ts, t)
			out.vals = append(out.vals, apply(l.series.vals[i], r.scalar))
		}
		return mathVal{series: &out}
	}
	rv := map[int64]float64{}
	for i, t := range r.series.ts {
		rv[t.UnixMilli()] = r.series.vals[i]
	}
	out := resultSeries{}
	for i, t := range l.series.ts {
		if b, ok := rv[t.UnixMilli()]; ok {
			out.ts = append(out.ts, t)
			out.vals = append(out.vals, apply(l.series.vals[i], b))
		}
	}
	return mathVal{series: &out}
}
