package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// CloudWatch Logs filter patterns, as FilterLogEvents and StartLiveTail
// take them. fakeaws understands this subset of the syntax
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html);
// anything else is refused with InvalidParameterException, never silently
// matched:
//
//   - "" (or `""`): every event.
//   - Terms: `ERROR timeout` matches events that contain both terms
//     (case-sensitive substrings); `"connection reset"` quotes a phrase
//     (and any term with characters other than letters, digits, _ . : / @ -).
//   - `?ERROR ?WARN`: at least one of the ?-terms must occur; plain terms
//     next to them are still all required.
//   - `-DEBUG`, `-"health check"`: the term must not occur.
//   - `%regex%`: a regular expression (Go RE2 syntax) found anywhere in
//     the message.
//   - JSON: `{ $.level = "ERROR" }`, `{ $.latency > 500 }`,
//     `{ $.user.name != "svc-*" }`, `{ $.items[0].sku = ABC }`,
//     `{ ($.status >= 500) && ($.path = "/api/*" || $.retry IS TRUE) }`,
//     `{ $.error IS NULL }`, `{ $.trace NOT EXISTS }`,
//     `{ $.message = %time(d)? ?out% }`. Strings compare with = and !=
//     (* is a wildcard), numbers with = != < <= > >=; a message that is
//     not a JSON object never matches.
//   - Space-delimited: `[ip, user, ..., status = 5*, bytes > 1000]`:
//     fields split at spaces ("quoted" and [bracketed] runs are one field,
//     without their quotes or brackets), `...` stands for any number of
//     fields, conditions as for JSON and joined with && or ||.
type filterPattern struct {
	match func(msg string) bool
}

// compileFilterPattern parses pattern; the error says what is wrong.
func compileFilterPattern(pattern string) (*filterPattern, error) {
	p := strings.TrimSpace(pattern)
	switch {
	case p == "" || p == `""`:
		return &filterPattern{match: func(string) bool { return true }}, nil
	case strings.HasPrefix(p, "{"):
		if !strings.HasSuffix(p, "}") {
			return nil, fmt.Errorf("a JSON pattern must end with }")
		}
		e, err := parseJSONCond(p[1 : len(p)-1])
		if err != nil {
			return nil, err
		}
		return &filterPattern{match: func(msg string) bool {
			doc, ok := jsonMessage(msg)
			return ok && e.eval(doc)
		}}, nil
	case strings.HasPrefix(p, "["):
		if !strings.HasSuffix(p, "]") {
			return nil, fmt.Errorf("a space-delimited pattern must end with ]")
		}
		fields, err := parseDelimited(p[1 : len(p)-1])
		if err != nil {
			return nil, err
		}
		return &filterPattern{match: func(msg string) bool { return matchDelimited(fields, splitLogFields(msg)) }}, nil
	case len(p) >= 2 && strings.HasPrefix(p, "%") && strings.HasSuffix(p, "%"):
		re, err := regexp.Compile(p[1 : len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression: %v", err)
		}
		return &filterPattern{match: re.MatchString}, nil
	}
	return compileTerms(p)
}

// matches reports whether msg matches; a nil pattern matches everything.
func (fp *filterPattern) matches(msg string) bool { return fp == nil || fp.match(msg) }

func compileTerms(p string) (*filterPattern, error) {
	var all, any, none []string
	for i := 0; i < len(p); {
		if p[i] == ' ' || p[i] == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if p[i] == '?' || p[i] == '-' {
			kind = p[i]
			i++
		}
		var term string
		if i < len(p) && p[i] == '"' {
			s, n, err := quoted(p[i:])
			if err != nil {
				return nil, err
			}
			term, i = s, i+n
		} else {
			j := i
			for j < len(p) && p[j] != ' ' && p[j] != '\t' {
				j++
			}
			term = p[i:j]
			for _, c := range term {
				if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("_.:/@-", c) {
					return nil, fmt.Errorf("invalid character(s) in term '%s': quote terms that contain %q", term, c)
				}
			}
			i = j
		}
		if term == "" {
			return nil, fmt.Errorf("empty term after %q", string(kind))
		}
		switch kind {
		case '?':
			any = append(any, term)
		case '-':
			none = append(none, term)
		default:
			all = append(all, term)
		}
	}
	return &filterPattern{match: func(msg string) bool {
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		if len(any) == 0 {
			return true
		}
		for _, t := range any {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}}, nil
}

// quoted reads a "..." string at the start of s (\" and \\ escape) and
// returns its text and the bytes consumed.
func quoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted string %s", s)
}

// --- conditions (JSON and space-delimited) ---------------------------------

type condValue struct {
	str     string
	num     float64
	isNum   bool
	re      *regexp.Regexp
	glob    bool // str has * wildcards
	literal bool // quoted: never numeric
}

type cond struct {
	selector string // JSON: $.a.b[0]; space-delimited: the field name
	op       string // = != < <= > >= ISTRUE ISFALSE ISNULL NOTEXISTS
	val      condValue
}

// condExpr is a tree of conditions joined by && and ||.
type condExpr struct {
	and, or []*condExpr // at most one of them is set
	leaf    *cond
}

func (e *condExpr) eval(doc any) bool {
	switch {
	case e.leaf != nil:
		return e.leaf.evalJSON(doc)
	case len(e.and) > 0:
		for _, c := range e.and {
			if !c.eval(doc) {
				return false
			}
		}
		return true
	default:
		for _, c := range e.or {
			if c.eval(doc) {
				return true
			}
		}
		return false
	}
}

// condParser reads conditions from text: selectors, operators, values,
// &&, || and parentheses.
type condParser struct {
	s    string
	pos  int
	json bool // selectors must start with $.
}

func (p *condParser) skip() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *condParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *condParser) eatWord(w string) bool {
	p.skip()
	rest := p.s[p.pos:]
	if len(rest) >= len(w) && strings.EqualFold(rest[:len(w)], w) && (len(rest) == len(w) || !isWordByte(rest[len(w)])) {
		p.pos += len(w)
		return true
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *condParser) or() (*condExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	if p.skip(); !strings.HasPrefix(p.s[p.pos:], "||") {
		return l, nil
	}
	e := &condExpr{or: []*condExpr{l}}
	for p.eat("||") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		e.or = append(e.or, r)
	}
	return e, nil
}

func (p *condParser) and() (*condExpr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	if p.skip(); !strings.HasPrefix(p.s[p.pos:], "&&") {
		return l, nil
	}
	e := &condExpr{and: []*condExpr{l}}
	for p.eat("&&") {
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		e.and = append(e.and, r)
	}
	return e, nil
}

func (p *condParser) primary() (*condExpr, error) {
	if p.eat("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, fmt.Errorf("missing ) at position %d", p.pos)
		}
		return e, nil
	}
	c, err := p.cond()
	if err != nil {
		return nil, err
	}
	return &condExpr{leaf: c}, nil
}

func (p *condParser) cond() (*cond, error) {
	p.skip()
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" \t\n=!<>()&|", rune(p.s[p.pos])) {
		p.pos++
	}
	c := &cond{selector: p.s[start:p.pos]}
	if c.selector == "" {
		return nil, fmt.Errorf("expected a selector at position %d", start)
	}
	if p.json && (c.selector != "$" && !strings.HasPrefix(c.selector, "$.") && !strings.HasPrefix(c.selector, "$[")) {
		return nil, fmt.Errorf("selector %q must start with \"$.\"", c.selector)
	}
	switch {
	case p.eatWord("IS"):
		switch {
		case p.eatWord("TRUE"):
			c.op = "ISTRUE"
		case p.eatWord("FALSE"):
			c.op = "ISFALSE"
		case p.eatWord("NULL"):
			c.op = "ISNULL"
		default:
			return nil, fmt.Errorf("expected TRUE, FALSE or NULL after IS (selector %s)", c.selector)
		}
		return c, nil
	case p.eatWord("NOT"):
		if !p.eatWord("EXISTS") {
			return nil, fmt.Errorf("expected EXISTS after NOT (selector %s)", c.selector)
		}
		c.op = "NOTEXISTS"
		return c, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.eat(op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		return nil, fmt.Errorf("expected an operator after %s", c.selector)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if c.op != "=" && c.op != "!=" && !v.isNum {
		return nil, fmt.Errorf("operator %s needs a number (selector %s)", c.op, c.selector)
	}
	c.val = v
	return c, nil
}

func (p *condParser) value() (condValue, error) {
	p.skip()
	if p.pos >= len(p.s) {
		return condValue{}, fmt.Errorf("missing value at the end of the pattern")
	}
	switch p.s[p.pos] {
	case '"':
		s, n, err := quoted(p.s[p.pos:])
		if err != nil {
			return condValue{}, err
		}
		p.pos += n
		return condValue{str: s, glob: strings.Contains(s, "*"), literal: true}, nil
	case '%':
		end := strings.IndexByte(p.s[p.pos+1:], '%')
		if end < 0 {
			return condValue{}, fmt.Errorf("unterminated %%regex%%")
		}
		re, err := regexp.Compile(p.s[p.pos+1 : p.pos+1+end])
		if err != nil {
			return condValue{}, fmt.Errorf("invalid regular expression: %v", err)
		}
		p.pos += end + 2
		return condValue{re: re}, nil
	}
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" \t\n()&|", rune(p.s[p.pos])) {
		p.pos++
	}
	w := p.s[start:p.pos]
	if w == "" {
		return condValue{}, fmt.Errorf("missing value at position %d", start)
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil {
		return condValue{str: w, num: f, isNum: true}, nil
	}
	return condValue{str: w, glob: strings.Contains(w, "*")}, nil
}

func parseJSONCond(body string) (*condExpr, error) {
	p := &condParser{s: body, json: true}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.skip(); p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.pos:], p.pos)
	}
	return e, nil
}

// jsonMessage decodes msg when it is a JSON object.
func jsonMessage(msg string) (any, bool) {
	t := strings.TrimSpace(msg)
	if !strings.HasPrefix(t, "{") {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader([]byte(t)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// selectJSON follows a $.a.b[0] selector; ok is false when a step is absent.
func selectJSON(doc any, sel string) (any, bool) {
	rest := strings.TrimPrefix(sel, "$")
	cur := doc
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			rest = rest[end:]
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[key]; !ok {
				return nil, false
			}
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			i, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			l, ok := cur.([]any)
			if err != nil || !ok || i < 0 || i >= len(l) {
				return nil, false
			}
			cur = l[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func (c *cond) evalJSON(doc any) bool {
	v, ok := selectJSON(doc, c.selector)
	switch c.op {
	case "NOTEXISTS":
		return !ok
	case "ISNULL":
		return ok && v == nil
	case "ISTRUE", "ISFALSE":
		b, isBool := v.(bool)
		return ok && isBool && b == (c.op == "ISTRUE")
	}
	if !ok || v == nil {
		return false
	}
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return c.compare(x.String(), f, true)
	case string:
		return c.compare(x, 0, false)
	case bool:
		return c.compare(strconv.FormatBool(x), 0, false)
	}
	return false // objects and arrays match no value
}

// compare applies the condition to a field whose text is s (and, when
// isNum, whose numeric value is f).
func (c *cond) compare(s string, f float64, isNum bool) bool {
	v := c.val
	if v.isNum && (isNum || c.op != "=" && c.op != "!=") {
		if !isNum {
			n, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return false
			}
			f = n
		}
		switch c.op {
		case "=":
			return f == v.num
		case "!=":
			return f != v.num
		case "<":
			return f < v.num
		case "<=":
			return f <= v.num
		case ">":
			return f > v.num
		case ">=":
			return f >= v.num
		}
		return false
	}
	var eq bool
	switch {
	case v.re != nil:
		eq = v.re.MatchString(s)
	case v.glob:
		eq = globMatch(v.str, s)
	default:
		eq = s == v.str
	}
	return eq == (c.op == "=")
}

// globMatch reports whether s matches g, where * stands for any run of
// characters ("/" included, as in CloudWatch) and nothing else is special.
func globMatch(g, s string) bool {
	parts := strings.Split(g, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(parts) > 1 && strings.HasSuffix(s, last) || len(parts) == 1 && s == ""
}

// --- space-delimited ------------------------------------------------------

type delimField struct {
	ellipsis bool
	expr     *condExpr // nil: any value
}

func parseDelimited(body string) ([]delimField, error) {
	var out []delimField
	for _, part := range splitTopLevel(body, ',') {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, fmt.Errorf("empty field in a space-delimited pattern")
		case part == "...":
			out = append(out, delimField{ellipsis: true})
		case !strings.ContainsAny(part, "=<>!") && !strings.Contains(strings.ToUpper(part), " IS ") && !strings.Contains(strings.ToUpper(part), " NOT "):
			out = append(out, delimField{})
		default:
			p := &condParser{s: part}
			e, err := p.or()
			if err != nil {
				return nil, err
			}
			if p.skip(); p.pos != len(p.s) {
				return nil, fmt.Errorf("unexpected %q in field %q", p.s[p.pos:], part)
			}
			out = append(out, delimField{expr: e})
		}
	}
	return out, nil
}

func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, inQuote, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// splitLogFields splits a message at spaces; "quoted" and [bracketed] runs
// are single fields, given without their delimiters.
func splitLogFields(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		switch c := msg[i]; c {
		case ' ', '\t':
			i++
		case '"', '[':
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			end := strings.IndexByte(msg[i+1:], closer)
			if end < 0 {
				out = append(out, msg[i+1:])
				return out
			}
			out = append(out, msg[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' {
				j++
			}
			out = append(out, msg[i:j])
			i = j
		}
	}
	return out
}

func matchDelimited(pat []delimField, fields []string) bool {
	if len(pat) == 0 {
		return len(fields) == 0
	}
	if pat[0].ellipsis {
		for k := 0; k <= len(fields); k++ {
			if matchDelimited(pat[1:], fields[k:]) {
				return true
			}
		}
		return false
	}
	if len(fields) == 0 {
		return false
	}
	if pat[0].expr != nil && !pat[0].expr.evalField(fields[0]) {
		return false
	}
	return matchDelimited(pat[1:], fields[1:])
}

func (e *condExpr) evalField(s string) bool {
	switch {
	case e.leaf != nil:
		switch e.leaf.op {
		case "NOTEXISTS", "ISNULL", "ISTRUE", "ISFALSE":
			return false
		}
		f, err := strconv.ParseFloat(s, 64)
		return e.leaf.compare(s, f, err == nil && !e.leaf.val.literal)
	case len(e.and) > 0:
		for _, c := range e.and {
			if !c.evalField(s) {
				return false
			}
		}
		return true
	default:
		for _, c := range e.or {
			if c.evalField(s) {
				return true
			}
		}
		return false
	}
}
