package grafana

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The Prometheus PromQL parser lives in github.com/prometheus/prometheus,
// which is not in this module's graph (it would bring half of Prometheus
// for one test). The dashboard's expressions are checked by this parser
// instead: the PromQL grammar (selectors, ranges, subqueries, offsets,
// functions, aggregations, binary operators with vector matching) with
// Prometheus' type rules, plus what Prometheus cannot tell: that every
// metric, label and label value an expression names is one the running
// Caddy exports, and that every grouping and vector match can find series.

// tokKind is the class of a lexed token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tDuration
	tString
	tPunct // ( ) { } [ ] , : @
	tOp    // + - * / % ^ == != < > <= >= = =~ !~
)

type token struct {
	kind tokKind
	text string // as written; for strings the unquoted value
	pos  int
}

var (
	durationRe = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+`)
	numberRe   = regexp.MustCompile(`^(0[xX][0-9a-fA-F]+|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)`)
	// A leading colon is left to the subquery's [range:step].
	identRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_:]*`)
)

// lex splits a PromQL expression into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // a comment runs to the end of the line
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, fmt.Errorf("offset %d: unterminated string", i)
			}
			raw := src[i : j+1]
			if c == '\'' { // same escapes as Go's double-quoted strings
				raw = `"` + strings.ReplaceAll(strings.ReplaceAll(raw[1:len(raw)-1], `\'`, `'`), `"`, `\"`) + `"`
			}
			val, err := strconv.Unquote(raw)
			if err != nil {
				return nil, fmt.Errorf("offset %d: bad string %s: %v", i, src[i:j+1], err)
			}
			toks = append(toks, token{tString, val, i})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			if m := durationRe.FindString(src[i:]); m != "" && !isIdentChar(src, i+len(m)) {
				toks = append(toks, token{tDuration, m, i})
				i += len(m)
				continue
			}
			m := numberRe.FindString(src[i:])
			if m == "" || isIdentChar(src, i+len(m)) {
				return nil, fmt.Errorf("offset %d: bad number or duration", i)
			}
			toks = append(toks, token{tNumber, m, i})
			i += len(m)
		case identRe.MatchString(src[i:]):
			m := identRe.FindString(src[i:])
			toks = append(toks, token{tIdent, m, i})
			i += len(m)
		case strings.IndexByte("(){}[],:@", c) >= 0:
			toks = append(toks, token{tPunct, string(c), i})
			i++
		default:
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "=~", "!~", "+", "-", "*", "/", "%", "^", "<", ">", "="} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("offset %d: unexpected character %q", i, c)
			}
			toks = append(toks, token{tOp, op, i})
			i += len(op)
		}
	}
	return append(toks, token{tEOF, "", len(src)}), nil
}

func isIdentChar(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// The syntax tree.
type (
	node interface{}

	numberLit struct{}
	stringLit struct{ val string }

	matcher struct{ label, op, value string }

	selector struct {
		name     string
		matchers []matcher
		ranged   bool // a range vector: name{...}[5m]
	}
	subquery struct{ expr node }
	call     struct {
		fn   string
		args []node
	}
	aggregation struct {
		op       string
		param    node // topk's k, quantile's φ, count_values' label
		expr     node
		without  bool
		grouping []string
		grouped  bool // by or without was given
	}
	vectorMatching struct {
		on, ignoring bool
		labels       []string
		card         string // "", "group_left", "group_right"
		include      []string
	}
	binaryExpr struct {
		op         string
		lhs, rhs   node
		returnBool bool
		matching   vectorMatching
	}
	unaryExpr struct{ expr node }
	parenExpr struct{ expr node }
)

var aggregators = map[string]bool{
	"sum": true, "avg": true, "count": true, "min": true, "max": true, "group": true, "stddev": true,
	"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true, "limitk": true,
	"limit_ratio": true,
}

// paramAggregators take a parameter before the vector.
var paramAggregators = map[string]vtype{
	"topk": scalarT, "bottomk": scalarT, "quantile": scalarT, "limitk": scalarT, "limit_ratio": scalarT,
	"count_values": stringT,
}

// binary operators and their precedence (higher binds tighter).
var binaryPrec = map[string]int{
	"or": 1, "and": 2, "unless": 2,
	"==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
	"+": 4, "-": 4,
	"*": 5, "/": 5, "%": 5, "atan2": 5,
	"^": 6,
}

func isComparison(op string) bool { return binaryPrec[op] == 3 }
func isSetOp(op string) bool      { return op == "and" || op == "or" || op == "unless" }

type parser struct {
	toks []token
	i    int
}

// parseExpr parses one whole PromQL expression.
func parseExpr(src string) (node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "unexpected %q after the expression", t.text)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", t.pos, fmt.Sprintf(format, args...))
}

func (p *parser) is(kind tokKind, text string) bool {
	t := p.peek()
	return t.kind == kind && t.text == text
}

func (p *parser) accept(kind tokKind, text string) bool {
	if p.is(kind, text) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(kind tokKind, text string) error {
	if t := p.peek(); !p.accept(kind, text) {
		return p.errorf(t, "expected %q, found %q", text, t.text)
	}
	return nil
}

// binaryOp reports the binary operator at the current token, if any.
func (p *parser) binaryOp() (string, int, bool) {
	t := p.peek()
	if t.kind != tOp && t.kind != tIdent {
		return "", 0, false
	}
	prec, ok := binaryPrec[t.text]
	if t.kind == tIdent && !isSetOp(t.text) && t.text != "atan2" {
		ok = false
	}
	return t.text, prec, ok
}

func (p *parser) expr(minPrec int) (node, error) {
	lhs, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec, ok := p.binaryOp()
		if !ok || prec < minPrec {
			return lhs, nil
		}
		opTok := p.next()
		b := &binaryExpr{op: op, lhs: lhs}
		if p.accept(tIdent, "bool") {
			if !isComparison(op) {
				return nil, p.errorf(opTok, "bool modifier on the non-comparison operator %s", op)
			}
			b.returnBool = true
		}
		if p.is(tIdent, "on") || p.is(tIdent, "ignoring") {
			b.matching.on = p.next().text == "on"
			b.matching.ignoring = !b.matching.on
			if b.matching.labels, err = p.labelList(); err != nil {
				return nil, err
			}
			if p.is(tIdent, "group_left") || p.is(tIdent, "group_right") {
				if isSetOp(op) {
					return nil, p.errorf(p.peek(), "%s with the set operator %s", p.peek().text, op)
				}
				b.matching.card = p.next().text
				if p.is(tPunct, "(") {
					if b.matching.include, err = p.labelList(); err != nil {
						return nil, err
					}
				}
			}
		}
		nextMin := prec + 1
		if op == "^" { // right-associative
			nextMin = prec
		}
		if b.rhs, err = p.expr(nextMin); err != nil {
			return nil, err
		}
		lhs = b
	}
}

func (p *parser) unary() (node, error) {
	if p.is(tOp, "-") || p.is(tOp, "+") {
		p.next()
		e, err := p.expr(binaryPrec["^"])
		if err != nil {
			return nil, err
		}
		return &unaryExpr{e}, nil
	}
	return p.postfix()
}

// postfix parses a primary expression and its range, subquery, offset and
// @ modifiers.
func (p *parser) postfix() (node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.is(tPunct, "["):
			open := p.next()
			if t := p.next(); t.kind != tDuration {
				return nil, p.errorf(t, "expected a duration in [], found %q", t.text)
			}
			if p.accept(tPunct, ":") {
				if p.peek().kind == tDuration {
					p.next()
				}
				if err := p.expect(tPunct, "]"); err != nil {
					return nil, err
				}
				n = &subquery{n}
				continue
			}
			if err := p.expect(tPunct, "]"); err != nil {
				return nil, err
			}
			sel, ok := n.(*selector)
			if !ok || sel.ranged {
				return nil, p.errorf(open, "a range is only allowed on a series selector (use a subquery [range:step])")
			}
			sel.ranged = true
		case p.is(tIdent, "offset"):
			p.next()
			p.accept(tOp, "-")
			if t := p.next(); t.kind != tDuration {
				return nil, p.errorf(t, "expected a duration after offset, found %q", t.text)
			}
		case p.is(tPunct, "@"):
			p.next()
			if p.is(tIdent, "start") || p.is(tIdent, "end") {
				p.next()
				if err := p.expect(tPunct, "("); err != nil {
					return nil, err
				}
				if err := p.expect(tPunct, ")"); err != nil {
					return nil, err
				}
			} else if t := p.next(); t.kind != tNumber {
				return nil, p.errorf(t, "expected a timestamp after @, found %q", t.text)
			}
		default:
			return n, nil
		}
	}
}

var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "and": true, "or": true, "unless": true, "atan2": true,
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		return &numberLit{}, nil
	case tString:
		return &stringLit{t.text}, nil
	case tPunct:
		switch t.text {
		case "(":
			e, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(tPunct, ")"); err != nil {
				return nil, err
			}
			return &parenExpr{e}, nil
		case "{":
			return nil, p.errorf(t, "a selector without a metric name")
		}
	case tIdent:
		switch {
		case strings.EqualFold(t.text, "inf") || strings.EqualFold(t.text, "nan"):
			return &numberLit{}, nil
		case aggregators[t.text] && (p.is(tPunct, "(") || p.is(tIdent, "by") || p.is(tIdent, "without")):
			return p.aggregation(t.text)
		case keywords[t.text]:
			return nil, p.errorf(t, "unexpected keyword %q", t.text)
		case p.is(tPunct, "("):
			return p.call(t)
		}
		sel := &selector{name: t.text}
		if p.accept(tPunct, "{") {
			for !p.accept(tPunct, "}") {
				l := p.next()
				if l.kind != tIdent || strings.Contains(l.text, ":") {
					return nil, p.errorf(l, "expected a label name, found %q", l.text)
				}
				op := p.next()
				if op.kind != tOp || op.text != "=" && op.text != "!=" && op.text != "=~" && op.text != "!~" {
					return nil, p.errorf(op, "expected a label matcher operator, found %q", op.text)
				}
				v := p.next()
				if v.kind != tString {
					return nil, p.errorf(v, "expected a quoted label value, found %q", v.text)
				}
				sel.matchers = append(sel.matchers, matcher{l.text, op.text, v.text})
				if !p.accept(tPunct, ",") && !p.is(tPunct, "}") {
					return nil, p.errorf(p.peek(), "expected , or } in a selector, found %q", p.peek().text)
				}
			}
		}
		return sel, nil
	}
	return nil, p.errorf(t, "unexpected %q", t.text)
}

func (p *parser) call(name token) (node, error) {
	if _, ok := functions[name.text]; !ok {
		return nil, p.errorf(name, "unknown function %s", name.text)
	}
	p.next() // (
	c := &call{fn: name.text}
	for !p.accept(tPunct, ")") {
		a, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
		if !p.accept(tPunct, ",") && !p.is(tPunct, ")") {
			return nil, p.errorf(p.peek(), "expected , or ) in the arguments of %s, found %q", name.text, p.peek().text)
		}
	}
	return c, nil
}

func (p *parser) aggregation(op string) (node, error) {
	a := &aggregation{op: op}
	grouping := func() error {
		a.grouped = true
		a.without = p.next().text == "without"
		var err error
		a.grouping, err = p.labelList()
		return err
	}
	if p.is(tIdent, "by") || p.is(tIdent, "without") {
		if err := grouping(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(tPunct, "("); err != nil {
		return nil, err
	}
	var err error
	if _, ok := paramAggregators[op]; ok {
		if a.param, err = p.expr(0); err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, ","); err != nil {
			return nil, err
		}
	}
	if a.expr, err = p.expr(0); err != nil {
		return nil, err
	}
	if err := p.expect(tPunct, ")"); err != nil {
		return nil, err
	}
	if !a.grouped && (p.is(tIdent, "by") || p.is(tIdent, "without")) {
		if err := grouping(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// labelList parses ( label, ... ).
func (p *parser) labelList() ([]string, error) {
	if err := p.expect(tPunct, "("); err != nil {
		return nil, err
	}
	var labels []string
	for !p.accept(tPunct, ")") {
		t := p.next()
		if t.kind != tIdent || strings.Contains(t.text, ":") {
			return nil, p.errorf(t, "expected a label name, found %q", t.text)
		}
		labels = append(labels, t.text)
		if !p.accept(tPunct, ",") && !p.is(tPunct, ")") {
			return nil, p.errorf(p.peek(), "expected , or ) in a label list, found %q", p.peek().text)
		}
	}
	return labels, nil
}

// vtype is a PromQL value type.
type vtype int

const (
	scalarT vtype = iota
	stringT
	vectorT
	matrixT
)

func (v vtype) String() string {
	return [...]string{"scalar", "string", "instant vector", "range vector"}[v]
}

// signature of a function: argument types, how many trailing ones are
// optional, whether the last repeats, and the result type.
type signature struct {
	args     []vtype
	optional int
	variadic bool
	ret      vtype
}

var functions = map[string]signature{}

func init() {
	for _, f := range []string{"rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes",
		"avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
		"last_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time", "absent_over_time"} {
		functions[f] = signature{args: []vtype{matrixT}, ret: vectorT}
	}
	for _, f := range []string{"abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "sort",
		"sort_desc", "timestamp", "absent"} {
		functions[f] = signature{args: []vtype{vectorT}, ret: vectorT}
	}
	functions["quantile_over_time"] = signature{args: []vtype{scalarT, matrixT}, ret: vectorT}
	functions["histogram_quantile"] = signature{args: []vtype{scalarT, vectorT}, ret: vectorT}
	functions["round"] = signature{args: []vtype{vectorT, scalarT}, optional: 1, ret: vectorT}
	functions["clamp"] = signature{args: []vtype{vectorT, scalarT, scalarT}, ret: vectorT}
	functions["clamp_min"] = signature{args: []vtype{vectorT, scalarT}, ret: vectorT}
	functions["clamp_max"] = signature{args: []vtype{vectorT, scalarT}, ret: vectorT}
	functions["label_replace"] = signature{args: []vtype{vectorT, stringT, stringT, stringT, stringT}, ret: vectorT}
	functions["label_join"] = signature{args: []vtype{vectorT, stringT, stringT, stringT}, variadic: true, optional: 1, ret: vectorT}
	functions["scalar"] = signature{args: []vtype{vectorT}, ret: scalarT}
	functions["vector"] = signature{args: []vtype{scalarT}, ret: vectorT}
	functions["time"] = signature{ret: scalarT}
}

// labelSet is the set of label names every series of a value carries.
type labelSet map[string]bool

func (s labelSet) String() string {
	return "{" + strings.Join(keysOf(s), ", ") + "}"
}

// minus is a copy of s without drop (minus(nil) is a copy to add to).
func (s labelSet) minus(drop []string) labelSet {
	out := labelSet{}
	maps.Copy(out, s)
	for _, n := range drop {
		delete(out, n)
	}
	return out
}

// value is what an expression evaluates to: its type and, for vectors,
// the labels on its series.
type value struct {
	typ    vtype
	labels labelSet
}

// checker type-checks an expression against what a Caddy exports.
type checker struct {
	metrics *exported
	vars    map[string]variable // the dashboard's template variables
	used    []string            // series names the expression selects
}

// variable is a dashboard template variable as a query uses it.
type variable struct{ multi bool }

// builtinRanges stand in for Grafana's interval variables, which are
// durations Grafana fills in before Prometheus sees the query.
var builtinRanges = strings.NewReplacer(
	"${__rate_interval}", "5m", "$__rate_interval", "5m",
	"${__interval}", "1m", "$__interval", "1m",
	"${__range}", "1h", "$__range", "1h",
)

// varRef finds template variable references in a string.
var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// check parses expr and returns the labels of its result.
func (c *checker) check(expr string) (value, error) {
	n, err := parseExpr(builtinRanges.Replace(expr))
	if err != nil {
		return value{}, err
	}
	return c.eval(n)
}

func (c *checker) eval(n node) (value, error) {
	switch n := n.(type) {
	case *numberLit:
		return value{typ: scalarT}, nil
	case *stringLit:
		return value{typ: stringT}, nil
	case *parenExpr:
		return c.eval(n.expr)
	case *unaryExpr:
		v, err := c.eval(n.expr)
		if err == nil && v.typ != scalarT && v.typ != vectorT {
			err = fmt.Errorf("unary minus on a %s", v.typ)
		}
		return v, err
	case *selector:
		return c.selector(n)
	case *subquery:
		v, err := c.eval(n.expr)
		if err == nil && v.typ != vectorT {
			err = fmt.Errorf("subquery of a %s", v.typ)
		}
		return value{typ: matrixT, labels: v.labels}, err
	case *call:
		return c.call(n)
	case *aggregation:
		return c.aggregation(n)
	case *binaryExpr:
		return c.binary(n)
	}
	return value{}, fmt.Errorf("unknown node %T", n)
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"instance", "job"}

func (c *checker) selector(s *selector) (value, error) {
	_, labels, err := c.metrics.resolve(s.name)
	if err != nil {
		return value{}, err
	}
	c.used = append(c.used, s.name)
	set := labelSet{}
	for l := range labels {
		set[l] = true
	}
	for _, l := range targetLabels {
		set[l] = true
	}
	for _, m := range s.matchers {
		if m.label == "__name__" {
			continue
		}
		if !set[m.label] {
			return value{}, fmt.Errorf("%s has no label %q (it has %s)", s.name, m.label, set)
		}
		if err := c.matcherValue(s.name, labels[m.label], m); err != nil {
			return value{}, err
		}
	}
	v := value{typ: vectorT, labels: set}
	if s.ranged {
		v.typ = matrixT
	}
	return v, nil
}

// matcherValue checks a matcher's value: template variables must exist
// (and multi-value ones need a regex matcher), regexes must compile, and a
// literal value must be one the metric has, so that a typo in a value
// cannot leave a panel silently empty.
func (c *checker) matcherValue(series string, seen map[string]bool, m matcher) error {
	refs := varRef.FindAllStringSubmatch(m.value, -1)
	for _, r := range refs {
		name := r[1] + r[2] + r[3]
		v, ok := c.vars[name]
		if !ok {
			return fmt.Errorf("%s{%s%s%q}: no template variable $%s", series, m.label, m.op, m.value, name)
		}
		if v.multi && (m.op == "=" || m.op == "!=") {
			return fmt.Errorf("%s{%s%s%q}: $%s can hold several values, so it needs =~ or !~", series, m.label, m.op, m.value, name)
		}
	}
	regex := m.op == "=~" || m.op == "!~"
	if regex {
		if _, err := regexp.Compile("^(?:" + m.value + ")$"); err != nil {
			return fmt.Errorf("%s{%s%s%q}: %v", series, m.label, m.op, m.value, err)
		}
	}
	if len(refs) > 0 || m.op == "!=" || m.op == "!~" || seen == nil {
		return nil // variables are filled in by Grafana; target labels' values are the deployment's
	}
	if !regex {
		if !seen[m.value] {
			return fmt.Errorf("%s{%s=%q}: no series has that value (seen: %v)", series, m.label, m.value, keysOf(seen))
		}
		return nil
	}
	// An alternation of plain values: each must exist; any other regex
	// must match at least one value.
	if alts := strings.Split(m.value, "|"); plainValues(alts) {
		for _, a := range alts {
			if !seen[a] {
				return fmt.Errorf("%s{%s=~%q}: no series has the value %q (seen: %v)", series, m.label, m.value, a, keysOf(seen))
			}
		}
		return nil
	}
	re := regexp.MustCompile("^(?:" + m.value + ")$")
	for v := range seen {
		if re.MatchString(v) {
			return nil
		}
	}
	return fmt.Errorf("%s{%s=~%q}: matches no value (seen: %v)", series, m.label, m.value, keysOf(seen))
}

func (c *checker) call(n *call) (value, error) {
	sig := functions[n.fn]
	least, most := len(sig.args)-sig.optional, len(sig.args)
	if len(n.args) < least || !sig.variadic && len(n.args) > most {
		return value{}, fmt.Errorf("%s takes %d to %d arguments, got %d", n.fn, least, most, len(n.args))
	}
	var first *value
	args := make([]value, len(n.args))
	for i, a := range n.args {
		v, err := c.eval(a)
		if err != nil {
			return value{}, err
		}
		want := sig.args[min(i, len(sig.args)-1)]
		if v.typ != want {
			return value{}, fmt.Errorf("argument %d of %s must be a %s, not a %s", i+1, n.fn, want, v.typ)
		}
		args[i] = v
		if first == nil && (v.typ == vectorT || v.typ == matrixT) {
			first = &args[i]
		}
	}
	out := value{typ: sig.ret}
	if sig.ret != vectorT {
		return out, nil
	}
	out.labels = labelSet{}
	if first != nil {
		out.labels = first.labels
	}
	switch n.fn {
	case "histogram_quantile":
		if !out.labels["le"] {
			return value{}, fmt.Errorf("histogram_quantile over series without an le label %s: aggregate by (le) or use a _bucket series", out.labels)
		}
		out.labels = out.labels.minus([]string{"le"})
	case "label_replace", "label_join":
		dst := stringValue(n.args[1])
		out.labels = out.labels.minus(nil)
		out.labels[dst] = true
	case "vector", "absent", "absent_over_time":
		out.labels = labelSet{}
	}
	return out, nil
}

func (c *checker) aggregation(n *aggregation) (value, error) {
	in, err := c.eval(n.expr)
	if err != nil {
		return value{}, err
	}
	if in.typ != vectorT {
		return value{}, fmt.Errorf("%s over a %s; it needs an instant vector", n.op, in.typ)
	}
	if want, ok := paramAggregators[n.op]; ok {
		pv, err := c.eval(n.param)
		if err != nil {
			return value{}, err
		}
		if pv.typ != want {
			return value{}, fmt.Errorf("the parameter of %s must be a %s", n.op, want)
		}
	}
	for _, l := range n.grouping {
		if !in.labels[l] {
			return value{}, fmt.Errorf("%s grouped by %q, which its input does not have (it has %s)", n.op, l, in.labels)
		}
	}
	out := labelSet{}
	switch {
	case n.op == "topk" || n.op == "bottomk" || n.op == "limitk" || n.op == "limit_ratio":
		out = in.labels // these select series, they keep their labels
	case n.without:
		out = in.labels.minus(n.grouping)
	default:
		for _, l := range n.grouping {
			out[l] = true
		}
	}
	if n.op == "count_values" {
		out = out.minus(nil)
		out[stringValue(n.param)] = true
	}
	return value{typ: vectorT, labels: out}, nil
}

func (c *checker) binary(n *binaryExpr) (value, error) {
	l, err := c.eval(n.lhs)
	if err != nil {
		return value{}, err
	}
	r, err := c.eval(n.rhs)
	if err != nil {
		return value{}, err
	}
	for _, v := range []value{l, r} {
		if v.typ != scalarT && v.typ != vectorT {
			return value{}, fmt.Errorf("operator %s on a %s", n.op, v.typ)
		}
	}
	if isSetOp(n.op) && (l.typ != vectorT || r.typ != vectorT) {
		return value{}, fmt.Errorf("set operator %s needs instant vectors on both sides", n.op)
	}
	if l.typ == scalarT && r.typ == scalarT {
		if isComparison(n.op) && !n.returnBool {
			return value{}, fmt.Errorf("comparison %s between scalars needs bool", n.op)
		}
		return value{typ: scalarT}, nil
	}
	if l.typ == scalarT || r.typ == scalarT {
		if n.matching.on || n.matching.ignoring {
			return value{}, fmt.Errorf("vector matching on %s between a scalar and a vector", n.op)
		}
		if l.typ == vectorT {
			return l, nil
		}
		return r, nil
	}
	m := n.matching
	both := labelSet{}
	for k := range l.labels {
		if r.labels[k] {
			both[k] = true
		}
	}
	for _, lb := range m.labels {
		switch {
		case m.on && !both[lb]:
			return value{}, fmt.Errorf("%s on(%s): the label is not on both sides (%s and %s)", n.op, lb, l.labels, r.labels)
		case m.ignoring && !l.labels[lb] && !r.labels[lb]:
			return value{}, fmt.Errorf("%s ignoring(%s): neither side has the label", n.op, lb)
		}
	}
	// Series pair up when their labels (all, the on() ones, or all but the
	// ignored ones) are equal, so both sides must have the same names.
	sigL, sigR := l.labels.minus(m.labels), r.labels.minus(m.labels)
	if m.on {
		sigL, sigR = labelSet{}, labelSet{}
		for _, lb := range m.labels {
			sigL[lb], sigR[lb] = true, true
		}
	}
	if n.op != "or" && n.op != "unless" && !maps.Equal(sigL, sigR) {
		return value{}, fmt.Errorf("%s never matches a pair of series: the left side has %s, the right %s (aggregate both alike, or use on/ignoring)", n.op, sigL, sigR)
	}
	switch m.card {
	case "group_left":
		out := l.labels.minus(nil)
		for _, lb := range m.include {
			if !r.labels[lb] {
				return value{}, fmt.Errorf("group_left(%s): the right side has no such label", lb)
			}
			out[lb] = true
		}
		return value{typ: vectorT, labels: out}, nil
	case "group_right":
		out := r.labels.minus(nil)
		for _, lb := range m.include {
			if !l.labels[lb] {
				return value{}, fmt.Errorf("group_right(%s): the left side has no such label", lb)
			}
			out[lb] = true
		}
		return value{typ: vectorT, labels: out}, nil
	}
	switch {
	case n.op == "or":
		return value{typ: vectorT, labels: both}, nil // only what every series is sure to have
	case isSetOp(n.op), isComparison(n.op) && !n.returnBool:
		return l, nil // filters keep the left side's series as they are
	}
	// Arithmetic keeps the matched labels: the on() ones, or all but the
	// ignored ones.
	return value{typ: vectorT, labels: sigL}, nil
}

// stringValue is the value of a string literal, in parentheses or not.
func stringValue(n node) string {
	for {
		switch v := n.(type) {
		case *parenExpr:
			n = v.expr
		case *stringLit:
			return v.val
		default:
			return ""
		}
	}
}

// plainValues reports whether every alternative is a literal value.
func plainValues(alts []string) bool {
	for _, a := range alts {
		if a == "" || regexp.QuoteMeta(a) != a {
			return false
		}
	}
	return true
}

func keysOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
