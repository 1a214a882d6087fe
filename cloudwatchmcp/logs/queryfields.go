package logs

import (
	"regexp"
	"strings"
)

// Query-field extraction for the index recommender. It reads the three
// languages Logs Insights accepts (CWLI, SQL, PPL) and says, per field, how
// the query used it. Field indexes only accelerate equality matches, so the
// classification is what the scoring cares about:
//
//	fieldEquality     filter f = v, filterIndex f = v, f in [...], SQL f = 'v' / f IN (...)
//	fieldNonEquality  like, =~, !=, <, >, <=, >=, not in, BETWEEN
//	fieldDisplay      fields / display / stats ... by / sort / dedup / SELECT / GROUP BY / ORDER BY
//
// A field keeps its strongest use within one query (equality > non-equality
// > display).
//
// Deliberate differences from awslabs 0.1.8 (listed in FIXES_batch_index.md):
//   - "@" fields are extracted everywhere. awslabs' token regex has an
//     alternation whose "@" branch has no capture group, so @requestId,
//     @duration, @xrayTraceId and custom @fields silently vanished, and its
//     filter patterns never matched "@" names at all.
//   - Names the query itself creates (parse ... as x, regex named captures in
//     parse, stats/fields ... as x, PPL eval x = / rename a as x) are aliases,
//     not log fields, and are never reported.
//   - "sort a, b" reports every key, "display" and "dedup" are read, "not in"
//     is a non-equality, and conditions inside parentheses are found.
//   - "/" is only a regex delimiter where a regex can start, so arithmetic
//     such as bytes/1024 does not swallow the rest of the query.

// fieldUse says how one query used a field. Larger is stronger.
type fieldUse int

const (
	fieldDisplay fieldUse = iota + 1
	fieldNonEquality
	fieldEquality
)

func (u fieldUse) String() string {
	switch u {
	case fieldEquality:
		return "filter_equality"
	case fieldNonEquality:
		return "filter_non_equality"
	case fieldDisplay:
		return "display"
	}
	return "unknown"
}

// Query languages as DescribeQueries reports them in queryLanguage.
const (
	langCWLI = "CWLI"
	langSQL  = "SQL"
	langPPL  = "PPL"
)

var (
	reStartsSelect = regexp.MustCompile(`(?i)^\s*SELECT\b`)
	reStartsSource = regexp.MustCompile(`(?i)^\s*SOURCE\b`)
	rePipeWhere    = regexp.MustCompile(`(?i)\|\s*where\b`)
	rePipeFilter   = regexp.MustCompile(`(?i)\|\s*filter\b`)
)

// detectQueryLanguage guesses the language of a query whose history entry
// has no queryLanguage, with awslabs' rules: SELECT starts SQL; a pipeline
// with "| where" and no "| filter" is PPL (a leading SOURCE is shared by
// CWLI and PPL, so it decides nothing by itself); everything else is CWLI.
func detectQueryLanguage(q string) string {
	switch {
	case strings.TrimSpace(q) == "":
		return langCWLI
	case reStartsSelect.MatchString(q):
		return langSQL
	case reStartsSource.MatchString(q) && rePipeWhere.MatchString(q):
		return langPPL
	case rePipeWhere.MatchString(q) && !rePipeFilter.MatchString(q):
		return langPPL
	}
	return langCWLI
}

// parseQueryFields returns the fields q uses and how. lang is the history
// entry's queryLanguage; anything but CWLI, SQL or PPL is detected.
func parseQueryFields(q, lang string) map[string]fieldUse {
	if strings.TrimSpace(q) == "" {
		return map[string]fieldUse{}
	}
	lang = strings.ToUpper(strings.TrimSpace(lang))
	if lang != langCWLI && lang != langSQL && lang != langPPL {
		lang = detectQueryLanguage(q)
	}
	p := &fieldParser{lang: lang, fields: map[string]fieldUse{}, aliases: map[string]bool{}}
	switch lang {
	case langSQL:
		p.sql(q)
	default:
		p.pipeline(q)
	}
	for a := range p.aliases {
		delete(p.fields, a)
	}
	return p.fields
}

type fieldParser struct {
	lang    string
	fields  map[string]fieldUse
	aliases map[string]bool
}

func (p *fieldParser) use(name string, u fieldUse) {
	name = strings.Trim(name, "`")
	if name == "" || isDigit(name[0]) {
		return
	}
	if u > p.fields[name] {
		p.fields[name] = u
	}
}

// ---------------------------------------------------------------------------
// Lexing: comments and literals out, so names inside values never match.

// scrubbed is a query with comments removed and every string or regex
// literal replaced by "" (backtick identifiers are kept). parseRegexes holds
// the bodies of regexes given to parse, whose named groups create fields.
type scrubbed struct {
	text         string
	parseRegexes []string
}

func scrub(q, lang string) scrubbed {
	var out strings.Builder
	var res scrubbed
	rs := []rune(q)
	n := len(rs)
	for i := 0; i < n; i++ {
		c := rs[i]
		switch {
		case c == '/' && i+1 < n && rs[i+1] == '*':
			j := i + 2
			for j+1 < n && !(rs[j] == '*' && rs[j+1] == '/') {
				j++
			}
			i = j + 1
			out.WriteByte(' ')
		case c == '-' && i+1 < n && rs[i+1] == '-' && lang == langSQL,
			c == '#' && lang != langSQL:
			for i < n && rs[i] != '\n' {
				i++
			}
			out.WriteByte('\n')
		case c == '"' || c == '\'':
			j := i + 1
			for j < n && rs[j] != c {
				if rs[j] == '\\' {
					j++
				}
				j++
			}
			i = j
			out.WriteString(`""`)
		case c == '/' && lang != langSQL && regexCanStart(out.String()):
			j := i + 1
			for j < n && rs[j] != '/' {
				if rs[j] == '\\' {
					j++
				}
				j++
			}
			body := string(rs[i+1 : min(j, n)])
			if reParseSourceTail.MatchString(out.String()) {
				res.parseRegexes = append(res.parseRegexes, body)
			}
			i = j
			out.WriteString(`""`)
		default:
			out.WriteRune(c)
		}
	}
	res.text = out.String()
	return res
}

var (
	reRegexAfterWord  = regexp.MustCompile(`(?i)(?:\blike|\bparse\s+[@\w.]+|\bparse|=~|[(,=!~])\s*$`)
	reParseSourceTail = regexp.MustCompile(`(?i)\bparse\s+[@\w.` + "`" + `]+\s*$`)
)

// regexCanStart reports whether a "/" after prefix opens a regex literal
// rather than dividing.
func regexCanStart(prefix string) bool {
	if strings.TrimSpace(prefix) == "" {
		return true
	}
	return reRegexAfterWord.MatchString(prefix)
}

// ---------------------------------------------------------------------------
// CWLI and PPL: pipelines of commands.

const identRE = "`[^`]+`|@{0,2}[A-Za-z_][\\w.]*"

var (
	reCmdName = regexp.MustCompile(`^\s*([A-Za-z]+)\b`)
	// A condition: an identifier (optionally after "(" or "not"), then an
	// operator. Groups: 1 identifier, 2 operator.
	reCondition = regexp.MustCompile(`(?i)(?:^|[\s(,])(` + identRE + `)\s*(==|=~|!=|<>|<=|>=|=|<|>|\bnot\s+like\b|\bnot\s+in\b|\blike\b|\bin\b)`)
	reAsAlias   = regexp.MustCompile(`(?i)\bas\s+(` + identRE + `)`)
	reNamedCap  = regexp.MustCompile(`\(\?P?<([A-Za-z_]\w*)>`)
	reByClause  = regexp.MustCompile(`(?i)\bby\b(.*)$`)
	reEvalAlias = regexp.MustCompile(`(?i)(?:^|,)\s*(` + identRE + `)\s*=[^=]`)
	reFuncCall  = regexp.MustCompile(`(` + identRE + `)\s*\(`)
	reToken     = regexp.MustCompile(identRE)
)

var cwliReserved = wordSet("as by asc desc limit like not in and or parse fields filter filterindex stats sort display dedup source true false null")
var pplReserved = wordSet("as by asc desc limit like not in and or where source fields stats sort head tail dedup eval rename top rare true false null")
var sqlReserved = wordSet("as by asc desc limit like not in and or from where group having order join inner left right outer full on distinct between case when then else end null true false is select all union")

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func (p *fieldParser) reserved() map[string]bool {
	switch p.lang {
	case langSQL:
		return sqlReserved
	case langPPL:
		return pplReserved
	}
	return cwliReserved
}

func (p *fieldParser) pipeline(q string) {
	s := scrub(q, p.lang)
	for _, rx := range s.parseRegexes {
		for _, m := range reNamedCap.FindAllStringSubmatch(rx, -1) {
			p.aliases[m[1]] = true
		}
	}
	for _, cmd := range strings.Split(s.text, "|") {
		m := reCmdName.FindStringSubmatch(cmd)
		if m == nil {
			continue
		}
		body := cmd[len(m[0]):]
		switch strings.ToLower(m[1]) {
		case "filter", "filterindex":
			p.conditions(body)
		case "where":
			if p.lang == langPPL {
				p.conditions(body)
			}
		case "fields", "display", "dedup":
			p.list(strings.TrimLeft(strings.TrimSpace(body), "+-"), fieldDisplay)
		case "sort":
			p.sortKeys(body)
		case "stats":
			p.statsLike(body)
		case "top", "rare":
			p.list(body, fieldDisplay)
		case "parse":
			// parse <source> <glob|regex> as a, b: the source is read, the
			// names after "as" are created by the query.
			if i := reAsAlias.FindStringIndex(body); i != nil {
				for _, a := range p.names(body[i[0]+2:]) {
					p.aliases[a] = true
				}
			}
		case "eval":
			for _, a := range reEvalAlias.FindAllStringSubmatch(body, -1) {
				p.aliases[strings.Trim(a[1], "`")] = true
			}
		case "rename":
			for _, a := range reAsAlias.FindAllStringSubmatch(body, -1) {
				p.aliases[strings.Trim(a[1], "`")] = true
			}
		}
	}
}

// conditions classifies every "<field> <op>" in a filter/where body.
func (p *fieldParser) conditions(body string) {
	res := p.reserved()
	for _, m := range reCondition.FindAllStringSubmatch(body, -1) {
		name := strings.Trim(m[1], "`")
		if res[strings.ToLower(name)] {
			continue
		}
		op := strings.ToLower(strings.Join(strings.Fields(m[2]), " "))
		switch op {
		case "=", "==", "in":
			p.use(name, fieldEquality)
		default:
			p.use(name, fieldNonEquality)
		}
	}
}

// statsLike reads "stats <aggs> [as x] by <keys>" (and PPL top/rare).
func (p *fieldParser) statsLike(body string) {
	for _, a := range reAsAlias.FindAllStringSubmatch(body, -1) {
		p.aliases[strings.Trim(a[1], "`")] = true
	}
	if m := reByClause.FindStringSubmatch(body); m != nil {
		p.list(m[1], fieldDisplay)
	}
}

func (p *fieldParser) sortKeys(body string) {
	for _, k := range strings.Split(body, ",") {
		k = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(k), "+-"))
		if t := reToken.FindString(k); t != "" && strings.HasPrefix(k, t) {
			if !p.reserved()[strings.ToLower(t)] {
				p.use(t, fieldDisplay)
			}
		}
	}
}

// list marks the field names of a comma-separated list, recording
// "as alias" names as aliases.
func (p *fieldParser) list(text string, u fieldUse) {
	for _, a := range reAsAlias.FindAllStringSubmatch(text, -1) {
		p.aliases[strings.Trim(a[1], "`")] = true
	}
	for _, n := range p.names(reAsAlias.ReplaceAllString(text, " ")) {
		p.use(n, u)
	}
}

// names extracts identifiers from an expression list, dropping reserved
// words, numbers and duration literals (5m), and function names.
func (p *fieldParser) names(text string) []string {
	res := p.reserved()
	funcs := map[int]bool{}
	for _, m := range reFuncCall.FindAllStringSubmatchIndex(text, -1) {
		funcs[m[2]] = true
	}
	var out []string
	for _, loc := range reToken.FindAllStringIndex(text, -1) {
		t := text[loc[0]:loc[1]]
		if funcs[loc[0]] || res[strings.ToLower(t)] {
			continue
		}
		// A token glued to a preceding digit is part of a literal (5m, 1.5).
		if loc[0] > 0 && (isDigit(text[loc[0]-1]) || text[loc[0]-1] == '.') {
			continue
		}
		out = append(out, strings.Trim(t, "`"))
	}
	return out
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// ---------------------------------------------------------------------------
// SQL.

var (
	reSQLFilterIndex = regexp.MustCompile(`(?i)\bfilterIndex\s*\(\s*'([^']+)'\s*=`)
	reSQLWhere       = regexp.MustCompile(`(?is)\bWHERE\b(.*?)(?:\bGROUP\s+BY\b|\bORDER\s+BY\b|\bLIMIT\b|\bHAVING\b|$)`)
	reSQLSelect      = regexp.MustCompile(`(?is)\bSELECT\s+(?:DISTINCT\s+)?(.*?)\s+FROM\b`)
	reSQLGroupBy     = regexp.MustCompile(`(?is)\bGROUP\s+BY\s+(.*?)(?:\bHAVING\b|\bORDER\s+BY\b|\bLIMIT\b|$)`)
	reSQLOrderBy     = regexp.MustCompile(`(?is)\bORDER\s+BY\s+(.*?)(?:\bLIMIT\b|\)|$)`)
	reSQLCondition   = regexp.MustCompile(`(?i)(?:^|[\s(,])(` + identRE + `)\s*(=\s*(?:""|-?\d[\w.]*|true\b|false\b)|!=|<>|<=|>=|<|>|\bnot\s+like\b|\bnot\s+in\b|\blike\b|\bin\s*\(|\bbetween\b|=)`)
)

func (p *fieldParser) sql(q string) {
	// filterIndex('field' = ...) names its field in a string literal, so it
	// is read before literals are scrubbed.
	for _, m := range reSQLFilterIndex.FindAllStringSubmatch(q, -1) {
		p.use(m[1], fieldEquality)
	}
	text := scrub(q, langSQL).text
	for _, m := range reSQLWhere.FindAllStringSubmatch(text, -1) {
		for _, c := range reSQLCondition.FindAllStringSubmatch(m[1], -1) {
			name := strings.Trim(c[1], "`")
			if sqlReserved[strings.ToLower(name)] || strings.EqualFold(name, "filterIndex") {
				continue
			}
			op := strings.ToLower(strings.Join(strings.Fields(c[2]), " "))
			switch {
			case op == "=":
				// field = other_field compares two columns; not indexable.
			case strings.HasPrefix(op, "="), strings.HasPrefix(op, "in"):
				p.use(name, fieldEquality)
			default:
				p.use(name, fieldNonEquality)
			}
		}
	}
	for _, m := range reSQLSelect.FindAllStringSubmatch(text, -1) {
		if strings.TrimSpace(m[1]) != "*" {
			p.list(m[1], fieldDisplay)
		}
	}
	for _, m := range reSQLGroupBy.FindAllStringSubmatch(text, -1) {
		p.list(m[1], fieldDisplay)
	}
	for _, m := range reSQLOrderBy.FindAllStringSubmatch(text, -1) {
		p.list(m[1], fieldDisplay)
	}
}
