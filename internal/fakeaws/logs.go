package fakeaws

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file is CloudWatch Logs (JSON 1.1, signing name "logs"): log groups,
// saved Logs Insights queries, Insights queries with a clock-driven
// Scheduled → Running → Complete life cycle, and log anomaly detection.
// Seed it through LogsOf(f); every Fake has its own state.

func init() {
	Register(func(f *Fake) {
		for op, h := range map[string]func(*Logs, *Request) (any, error){
			"DescribeLogGroups":        (*Logs).describeLogGroups,
			"DescribeQueryDefinitions": (*Logs).describeQueryDefinitions,
			"StartQuery":               (*Logs).startQuery,
			"GetQueryResults":          (*Logs).getQueryResults,
			"StopQuery":                (*Logs).stopQuery,
			"ListLogAnomalyDetectors":  (*Logs).listLogAnomalyDetectors,
			"ListAnomalies":            (*Logs).listAnomalies,
		} {
			f.Handle("logs", op, func(r *Request) (any, error) { return h(LogsOf(r.Fake()), r) })
		}
	})
}

// DefaultAccountID is the account the fake's callers belong to. Log groups
// of other accounts are "linked source accounts" of this monitoring account.
const DefaultAccountID = "123456789012"

// LogGroup is a seeded log group. Zero values get realistic defaults.
type LogGroup struct {
	Name string
	// Region defaults to us-east-1; calls only see their region's groups.
	Region string
	// AccountID defaults to DefaultAccountID. Groups of other accounts are
	// returned only with includeLinkedAccounts.
	AccountID string
	// CreationTime defaults to 30 days before the fake clock at seeding.
	CreationTime      time.Time
	RetentionInDays   int // 0 = never expire (member omitted)
	StoredBytes       int64
	MetricFilterCount int
	KmsKeyID          string
	// DataProtectionStatus: ACTIVATED, DELETED, ARCHIVED, DISABLED or "".
	DataProtectionStatus string
	// InheritedProperties, e.g. ACCOUNT_DATA_PROTECTION.
	InheritedProperties []string
	// Class: STANDARD (default), INFREQUENT_ACCESS, DELIVERY.
	Class string
	// Omit lists response members to leave out, to mimic AWS omitting a
	// member a client wrongly treats as required (e.g. "storedBytes",
	// "metricFilterCount", "logGroupArn").
	Omit []string
	// MaskPatterns stand for the group's data protection policy: regular
	// expressions (e.g. MaskEmailAddress) whose matches are replaced by
	// asterisks wherever the group's events leave the fake
	// (FilterLogEvents, GetLogRecord, StartLiveTail, FromEvents Insights
	// rows) unless the call asks to unmask and its caller may (see
	// AllowUnmask). Setting them implies DataProtectionStatus ACTIVATED.
	MaskPatterns []string
	// Readers, when set, are the only key owners (see IssueCredentials)
	// allowed to read the group's events with FilterLogEvents,
	// GetLogRecord and StartLiveTail; anyone else gets
	// AccessDeniedException, as IAM would refuse them.
	Readers []string
	// Owners, when set, are the only key owners who see the group in
	// DescribeLogGroups: it stands for a group in those users' own
	// accounts, so two users can be given different resources.
	Owners []string
}

// ARN is the log group ARN without the trailing ":*" (logGroupArn).
func (g LogGroup) ARN() string {
	return "arn:aws:logs:" + g.Region + ":" + g.AccountID + ":log-group:" + g.Name
}

// QueryDefinition is a saved Logs Insights query.
type QueryDefinition struct {
	ID            string // generated when empty
	Name          string
	QueryString   string
	LogGroupNames []string
	// Language: CWLI (default), SQL or PPL.
	Language     string
	LastModified time.Time
}

// AnomalyDetector is a log anomaly detector.
type AnomalyDetector struct {
	ARN          string // generated from Region and Name when empty
	Name         string
	Region       string // default us-east-1
	LogGroupARNs []string
	// Status: INITIALIZING, TRAINING, ANALYZING (default), FAILED, DELETED, PAUSED.
	Status              string
	EvaluationFrequency string // default FIFTEEN_MIN
	FilterPattern       string
	Created             time.Time
}

// Anomaly is one anomaly a detector found.
type Anomaly struct {
	ID            string // generated when empty
	PatternID     string // generated when empty
	DetectorARN   string
	LogGroupARNs  []string
	FirstSeen     time.Time
	LastSeen      time.Time
	Description   string
	Priority      string // HIGH, MEDIUM, LOW
	PatternString string
	PatternRegex  string
	// Histogram counts occurrences per detector run.
	Histogram map[time.Time]int64
	Samples   []LogSample
	// Suppressed anomalies are listed only for suppressionState SUPPRESSED.
	Suppressed bool
	// SuppressedAt and SuppressedUntil (zero: omitted) say when and until
	// when a suppressed anomaly is suppressed; PatternLevelSuppression that
	// the whole pattern is.
	SuppressedAt, SuppressedUntil time.Time
	PatternLevelSuppression       bool
	// State: Active (default), Suppressed, Baseline.
	State string
}

// LogSample is one sample log event of an anomaly.
type LogSample struct {
	Time    time.Time
	Message string
}

// ResultField is one field of an Insights result row.
type ResultField struct{ Field, Value string }

// Row builds a result row from field, value pairs.
func Row(fieldValues ...string) []ResultField {
	out := make([]ResultField, 0, len(fieldValues)/2)
	for i := 0; i+1 < len(fieldValues); i += 2 {
		out = append(out, ResultField{fieldValues[i], fieldValues[i+1]})
	}
	return out
}

// QueryStats are the statistics GetQueryResults reports.
type QueryStats struct {
	RecordsMatched, RecordsScanned, BytesScanned   float64
	EstimatedRecordsSkipped, EstimatedBytesSkipped float64
	LogGroupsScanned                               float64
}

// QueryPlan says when a query finishes. A query is terminal once both
// conditions hold; with neither set it is terminal at the first poll.
type QueryPlan struct {
	// Polls: the query reports its final status on the Polls-th
	// GetQueryResults (the first poll reports Scheduled, later ones Running).
	Polls int
	// Duration: the query finishes when the fake clock passes its start time
	// plus Duration (Scheduled for the first fifth, then Running).
	Duration time.Duration
}

// QueryResult is what a started query produces.
type QueryResult struct {
	// Status is the final status: Complete (default), Failed, Timeout, Unknown.
	Status string
	Rows   [][]ResultField
	// Stats defaults to figures derived from the rows.
	Stats *QueryStats
	// Plan overrides the default plan for queries this result applies to.
	Plan *QueryPlan
	// FromEvents replaces Rows with the stored events (AppendEvents) of the
	// query's log groups in its time range, newest first, as rows of
	// @timestamp, @message, @logStream, @log and a @ptr that GetLogRecord
	// resolves, masked as the groups' data protection says. The query's
	// `filter @message like /re/` (or "text", or not like) clauses filter
	// them, its `| limit N` caps them (default 1000), then StartQuery's
	// limit.
	FromEvents bool
	// MessageLimit cuts @message of FromEvents rows to this many bytes, as
	// Insights shortens very long messages (0 = whole); GetLogRecord still
	// returns them whole.
	MessageLimit int
}

// StartedQuery is a snapshot of a query the fake accepted.
type StartedQuery struct {
	ID          string
	QueryString string
	// LogGroups as sent, in LogGroupsParam ("logGroupNames",
	// "logGroupIdentifiers" or "logGroupName"; "" for SOURCE queries).
	LogGroups      []string
	LogGroupsParam string
	Start, End     time.Time
	Limit          int
	Region, Owner  string
	StartedAt      time.Time
	// Status is the status the last GetQueryResults/StopQuery reported
	// (Scheduled until the first poll).
	Status string
	Polls  int
	// CompleteAt is when a Duration plan makes the query terminal (zero for
	// poll-only plans).
	CompleteAt time.Time
	// ReportedDoneAt is when a poll first reported a terminal status.
	ReportedDoneAt time.Time
	Stopped        bool
}

type query struct {
	StartedQuery
	plan   QueryPlan
	result QueryResult
}

type resultRule struct {
	match string
	res   QueryResult
}

// Logs is the fake's CloudWatch Logs state. All methods are safe for
// concurrent use.
type Logs struct {
	f *Fake

	mu            sync.Mutex
	groups        []LogGroup
	defs          []QueryDefinition
	detectors     []AnomalyDetector
	anomalies     []Anomaly
	queries       map[string]*query
	order         []string
	plan          QueryPlan
	rules         []resultRule
	resolver      func(StartedQuery) (QueryResult, bool)
	pageSize      int
	maxConcurrent int
	seq           int

	// Log events (logs_events.go) and Live Tail (logs_livetail.go).
	events   map[string][]storedEvent // by group ARN, in append order
	masks    map[string][]*regexp.Regexp
	unmask   map[string]bool // owners with logs:Unmask
	eventSeq int64
	live     liveTail
}

// LogsOf returns f's CloudWatch Logs state.
func LogsOf(f *Fake) *Logs {
	return f.State("logs", func() any {
		return &Logs{f: f, queries: map[string]*query{}, plan: QueryPlan{Polls: 2},
			events: map[string][]storedEvent{}, masks: map[string][]*regexp.Regexp{}, unmask: map[string]bool{}}
	}).(*Logs)
}

// AddLogGroup seeds log groups.
func (l *Logs) AddLogGroup(groups ...LogGroup) *Logs {
	now := l.f.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, g := range groups {
		if g.Region == "" {
			g.Region = "us-east-1"
		}
		if g.AccountID == "" {
			g.AccountID = DefaultAccountID
		}
		if g.CreationTime.IsZero() {
			g.CreationTime = now.Add(-30 * 24 * time.Hour)
		}
		if g.Class == "" {
			g.Class = "STANDARD"
		}
		if len(g.MaskPatterns) > 0 {
			if g.DataProtectionStatus == "" {
				g.DataProtectionStatus = "ACTIVATED"
			}
			res := make([]*regexp.Regexp, len(g.MaskPatterns))
			for i, p := range g.MaskPatterns {
				res[i] = regexp.MustCompile(p)
			}
			l.masks[g.ARN()] = res
		}
		l.groups = append(l.groups, g)
	}
	sort.SliceStable(l.groups, func(i, j int) bool { return l.groups[i].Name < l.groups[j].Name })
	return l
}

// AddQueryDefinition seeds saved queries.
func (l *Logs) AddQueryDefinition(defs ...QueryDefinition) *Logs {
	now := l.f.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range defs {
		l.seq++
		if d.ID == "" {
			d.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", l.seq, l.seq)
		}
		if d.Language == "" {
			d.Language = "CWLI"
		}
		if d.LastModified.IsZero() {
			d.LastModified = now.Add(-24 * time.Hour)
		}
		l.defs = append(l.defs, d)
	}
	return l
}

// AddAnomalyDetector seeds anomaly detectors and returns the last one's ARN.
func (l *Logs) AddAnomalyDetector(ds ...AnomalyDetector) string {
	now := l.f.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	arn := ""
	for _, d := range ds {
		l.seq++
		if d.Region == "" {
			d.Region = "us-east-1"
		}
		if d.ARN == "" {
			d.ARN = fmt.Sprintf("arn:aws:logs:%s:%s:anomaly-detector:%08x-%s", d.Region, DefaultAccountID, l.seq, randHex(4))
		}
		if d.Status == "" {
			d.Status = "ANALYZING"
		}
		if d.EvaluationFrequency == "" {
			d.EvaluationFrequency = "FIFTEEN_MIN"
		}
		if d.Created.IsZero() {
			d.Created = now.Add(-7 * 24 * time.Hour)
		}
		l.detectors = append(l.detectors, d)
		arn = d.ARN
	}
	return arn
}

// AddAnomaly seeds anomalies.
func (l *Logs) AddAnomaly(as ...Anomaly) *Logs {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range as {
		l.seq++
		if a.ID == "" {
			a.ID = fmt.Sprintf("anomaly-%04d-%s", l.seq, randHex(4))
		}
		if a.PatternID == "" {
			a.PatternID = randHex(16)
		}
		if a.State == "" {
			a.State = "Active"
			if a.Suppressed {
				a.State = "Suppressed"
			}
		}
		l.anomalies = append(l.anomalies, a)
	}
	return l
}

// SetQueryPlan sets when queries without a plan of their own finish. The
// default is QueryPlan{Polls: 2}: Scheduled at the first poll, Complete at
// the second.
func (l *Logs) SetQueryPlan(p QueryPlan) *Logs {
	l.mu.Lock()
	l.plan = p
	l.mu.Unlock()
	return l
}

// SetQueryResults makes queries whose query string contains match ("" =
// any query) produce res. Later rules win over earlier ones.
func (l *Logs) SetQueryResults(match string, res QueryResult) *Logs {
	l.mu.Lock()
	l.rules = append(l.rules, resultRule{match, res})
	l.mu.Unlock()
	return l
}

// SetQueryResolver decides results per query, before the SetQueryResults
// rules (return false to fall through to them), e.g. per log group or time
// range.
func (l *Logs) SetQueryResolver(fn func(StartedQuery) (QueryResult, bool)) *Logs {
	l.mu.Lock()
	l.resolver = fn
	l.mu.Unlock()
	return l
}

// SetPageSize caps every page of the paginated operations (0 = AWS
// defaults), so tests exercise paging without seeding thousands of items.
func (l *Logs) SetPageSize(n int) *Logs {
	l.mu.Lock()
	l.pageSize = n
	l.mu.Unlock()
	return l
}

// SetMaxConcurrentQueries makes StartQuery fail with LimitExceededException
// while n queries are still running (0 = unlimited; AWS allows 30).
func (l *Logs) SetMaxConcurrentQueries(n int) *Logs {
	l.mu.Lock()
	l.maxConcurrent = n
	l.mu.Unlock()
	return l
}

// Queries returns snapshots of every started query, oldest first.
func (l *Logs) Queries() []StartedQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]StartedQuery, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, l.queries[id].StartedQuery)
	}
	return out
}

// inFlight lists the started queries in region whose status is status
// now, newest first, as DescribeQueries entries. Looking does not count as
// a poll.
func (l *Logs) inFlight(region, status string) []HistoricQuery {
	now := l.f.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []HistoricQuery
	for i := len(l.order) - 1; i >= 0; i-- {
		q := l.queries[l.order[i]]
		if q.Region == region && l.statusAt(q, now, false) == status {
			out = append(out, HistoricQuery{ID: q.ID, QueryString: q.QueryString, Language: "CWLI", Status: status, CreateTime: q.StartedAt, Region: region})
		}
	}
	return out
}

// Query returns a snapshot of one query.
func (l *Logs) Query(id string) (StartedQuery, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.queries[id]
	if !ok {
		return StartedQuery{}, false
	}
	return q.StartedQuery, true
}

// --- operations ---

func invalidParam(format string, args ...any) *Error {
	return Errorf("InvalidParameterException", format, args...)
}

// pageLimit reads a limit member with AWS's bounds and applies the page-size
// override.
func (l *Logs) pageLimit(r *Request, member string, def, max int64) (int, error) {
	n, ok := r.Int(member)
	if !ok {
		n = def
	} else if n < 1 || n > max {
		return 0, invalidParam("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between 1 and %d", n, member, max)
	}
	if l.pageSize > 0 && int64(l.pageSize) < n {
		n = int64(l.pageSize)
	}
	return int(n), nil
}

func pageToken(op string, offset int) string { return encodePageToken(op, offset) }

func pageOffset(r *Request, op string) (int, error) {
	tok := r.String("nextToken")
	if tok == "" {
		return 0, nil
	}
	if n, ok := decodePageToken(tok, op); ok {
		return n, nil
	}
	return 0, invalidParam("The specified nextToken is invalid.")
}

// page slices items[offset:offset+limit] and returns the next token.
func page[T any](items []T, op string, offset, limit int) ([]T, string) {
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+limit, len(items))
	next := ""
	if end < len(items) {
		next = pageToken(op, end)
	}
	return items[offset:end], next
}

func (l *Logs) describeLogGroups(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prefix, pattern := r.String("logGroupNamePrefix"), r.String("logGroupNamePattern")
	ids := r.Strings("logGroupIdentifiers")
	accounts := r.Strings("accountIdentifiers")
	linked := r.Bool("includeLinkedAccounts")
	class := r.String("logGroupClass")
	if prefix != "" && pattern != "" {
		return nil, invalidParam("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive. Only one of these parameters can be passed.")
	}
	if len(ids) > 0 && (prefix != "" || pattern != "" || class != "") {
		return nil, invalidParam("If you specify logGroupIdentifiers, the only other filter that you can specify is includeLinkedAccounts.")
	}
	if len(accounts) > 20 {
		return nil, invalidParam("accountIdentifiers can contain at most 20 account IDs")
	}
	switch class {
	case "", "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
	default:
		return nil, invalidParam("1 validation error detected: Value '%s' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]", class)
	}
	limit, err := l.pageLimit(r, "limit", 50, 50)
	if err != nil {
		return nil, err
	}
	offset, err := pageOffset(r, "DescribeLogGroups")
	if err != nil {
		return nil, err
	}
	var match []LogGroup
	for _, g := range l.groups {
		if g.Region != r.Region || len(g.Owners) > 0 && !slices.Contains(g.Owners, r.Owner) {
			continue
		}
		// Source accounts' groups show only in monitoring-account mode, and
		// then only for the listed accounts (all when none are listed).
		if g.AccountID != DefaultAccountID && (!linked || (len(accounts) > 0 && !slices.Contains(accounts, g.AccountID))) {
			continue
		}
		if !strings.HasPrefix(g.Name, prefix) || (pattern != "" && !strings.Contains(g.Name, pattern)) {
			continue
		}
		if class != "" && g.Class != class {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, g.Name) && !slices.Contains(ids, g.ARN()) {
			continue
		}
		match = append(match, g)
	}
	pg, next := page(match, "DescribeLogGroups", offset, limit)
	out := make([]any, 0, len(pg))
	for _, g := range pg {
		m := map[string]any{
			"logGroupName": g.Name,
			"creationTime": g.CreationTime.UnixMilli(),
			"arn":          g.ARN() + ":*",
		}
		if pattern == "" { // AWS returns only these three members for pattern searches
			m["logGroupArn"] = g.ARN()
			m["metricFilterCount"] = g.MetricFilterCount
			m["storedBytes"] = g.StoredBytes
			m["logGroupClass"] = g.Class
			m["deletionProtectionEnabled"] = false
			if g.RetentionInDays > 0 {
				m["retentionInDays"] = g.RetentionInDays
			}
			if g.KmsKeyID != "" {
				m["kmsKeyId"] = g.KmsKeyID
			}
			if g.DataProtectionStatus != "" {
				m["dataProtectionStatus"] = g.DataProtectionStatus
			}
			if len(g.InheritedProperties) > 0 {
				m["inheritedProperties"] = g.InheritedProperties
			}
		}
		for _, k := range g.Omit {
			delete(m, k)
		}
		out = append(out, m)
	}
	res := map[string]any{"logGroups": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func (l *Logs) describeQueryDefinitions(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lang := r.String("queryLanguage")
	switch lang {
	case "", "CWLI", "SQL", "PPL":
	default:
		return nil, invalidParam("1 validation error detected: Value '%s' at 'queryLanguage' failed to satisfy constraint: Member must satisfy enum value set: [CWLI, SQL, PPL]", lang)
	}
	prefix := r.String("queryDefinitionNamePrefix")
	limit, err := l.pageLimit(r, "maxResults", 1000, 1000)
	if err != nil {
		return nil, err
	}
	offset, err := pageOffset(r, "DescribeQueryDefinitions")
	if err != nil {
		return nil, err
	}
	var match []QueryDefinition
	for _, d := range l.defs {
		if (lang == "" || d.Language == lang) && strings.HasPrefix(d.Name, prefix) {
			match = append(match, d)
		}
	}
	pg, next := page(match, "DescribeQueryDefinitions", offset, limit)
	out := make([]any, 0, len(pg))
	for _, d := range pg {
		m := map[string]any{
			"queryDefinitionId": d.ID,
			"name":              d.Name,
			"queryString":       d.QueryString,
			"lastModified":      d.LastModified.UnixMilli(),
			"queryLanguage":     d.Language,
		}
		if len(d.LogGroupNames) > 0 {
			m["logGroupNames"] = d.LogGroupNames
		}
		out = append(out, m)
	}
	res := map[string]any{"queryDefinitions": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// sourceCommand starts a query that names its log groups itself.
var sourceCommand = regexp.MustCompile(`^\s*SOURCE\s`)

var logGroupNamePattern = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// resolveGroup finds the log group a name or ARN identifies in region;
// param names the input member in error messages.
func (l *Logs) resolveGroup(id, region, param string, arnAllowed bool) (*LogGroup, *Error) {
	if strings.HasPrefix(id, "arn:") {
		if !arnAllowed {
			return nil, invalidParam("1 validation error detected: Value '[%s]' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", id, param)
		}
		if strings.HasSuffix(id, ":*") {
			return nil, invalidParam("Log group ARN %q must not end with ':*'; use the logGroupArn form", id)
		}
		for i := range l.groups {
			if l.groups[i].ARN() == id {
				if l.groups[i].Region != region {
					return nil, invalidParam("Cross-region requests are not supported: %s is not in %s", id, region)
				}
				return &l.groups[i], nil
			}
		}
		return nil, Errorf("ResourceNotFoundException", "Log group '%s' does not exist", id)
	}
	if !logGroupNamePattern.MatchString(id) {
		return nil, invalidParam("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", id, param)
	}
	for i := range l.groups {
		g := &l.groups[i]
		if g.Name == id && g.Region == region && g.AccountID == DefaultAccountID {
			return g, nil
		}
	}
	return nil, Errorf("ResourceNotFoundException", "Log group '%s' does not exist for account ID '%s'", id, DefaultAccountID)
}

func (l *Logs) startQuery(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	qs := r.String("queryString")
	if strings.TrimSpace(qs) == "" {
		return nil, invalidParam("Query string cannot be empty")
	}
	start, okS := r.Int("startTime")
	end, okE := r.Int("endTime")
	if !okS || !okE {
		return nil, invalidParam("startTime and endTime are required")
	}
	if end < start {
		return nil, invalidParam("End time must be greater than or equal to start time")
	}
	limit, hasLimit := r.Int("limit")
	if hasLimit && (limit < 1 || limit > 100000) {
		return nil, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100000", limit)
	}
	given := map[string][]string{}
	if n := r.String("logGroupName"); n != "" {
		given["logGroupName"] = []string{n}
	}
	if v := r.Strings("logGroupNames"); len(v) > 0 {
		given["logGroupNames"] = v
	}
	if v := r.Strings("logGroupIdentifiers"); len(v) > 0 {
		given["logGroupIdentifiers"] = v
	}
	source := sourceCommand.MatchString(qs) || r.String("queryLanguage") == "SQL"
	if len(given) > 1 {
		return nil, invalidParam("LogGroupName, LogGroupNames and LogGroupIdentifiers are mutually exclusive; specify exactly one of them")
	}
	if len(given) == 0 && !source {
		return nil, invalidParam("Specify exactly one of logGroupName, logGroupNames or logGroupIdentifiers")
	}
	var param string
	var groups []string
	for k, v := range given {
		param, groups = k, v
	}
	if len(groups) > 50 {
		return nil, invalidParam("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to 50", param)
	}
	for _, id := range groups {
		if _, err := l.resolveGroup(id, r.Region, param, param == "logGroupIdentifiers"); err != nil {
			return nil, err
		}
	}
	if l.maxConcurrent > 0 {
		running := 0
		for _, q := range l.queries {
			if !terminal(l.statusAt(q, r.Now(), false)) {
				running++
			}
		}
		if running >= l.maxConcurrent {
			return nil, Errorf("LimitExceededException", "Account maximum query concurrency limit of [%d] reached", l.maxConcurrent)
		}
	}
	l.seq++
	q := &query{StartedQuery: StartedQuery{
		ID:             fmt.Sprintf("%08x-%s-%s-%s-%s", l.seq, randHex(2), randHex(2), randHex(2), randHex(6)),
		QueryString:    qs,
		LogGroups:      groups,
		LogGroupsParam: param,
		Start:          time.Unix(start, 0).UTC(),
		End:            time.Unix(end, 0).UTC(),
		Limit:          int(limit),
		Region:         r.Region,
		Owner:          r.Owner,
		StartedAt:      r.Now(),
		Status:         "Scheduled",
	}}
	q.result, q.plan = l.resolve(q.StartedQuery)
	if q.plan.Duration > 0 {
		q.CompleteAt = q.StartedAt.Add(q.plan.Duration)
	}
	l.queries[q.ID] = q
	l.order = append(l.order, q.ID)
	return map[string]any{"queryId": q.ID}, nil
}

// resolve picks the result and plan of a new query.
func (l *Logs) resolve(sq StartedQuery) (QueryResult, QueryPlan) {
	res, ok := QueryResult{}, false
	if l.resolver != nil {
		res, ok = l.resolver(sq)
	}
	for i := len(l.rules) - 1; !ok && i >= 0; i-- {
		if strings.Contains(sq.QueryString, l.rules[i].match) {
			res, ok = l.rules[i].res, true
		}
	}
	plan := l.plan
	if res.Plan != nil {
		plan = *res.Plan
	}
	if res.Status == "" {
		res.Status = "Complete"
	}
	if res.FromEvents {
		res.Rows = l.eventRows(sq, res)
	}
	if sq.Limit > 0 && len(res.Rows) > sq.Limit {
		res.Rows = res.Rows[:sq.Limit]
	}
	return res, plan
}

func terminal(status string) bool {
	switch status {
	case "Scheduled", "Running":
		return false
	}
	return true
}

// statusAt is the query's status at now; poll says whether this is a
// GetQueryResults call, which advances poll-driven plans.
func (l *Logs) statusAt(q *query, now time.Time, poll bool) string {
	if q.Stopped {
		return "Cancelled"
	}
	if !q.ReportedDoneAt.IsZero() {
		return q.result.Status
	}
	polls := q.Polls
	if poll {
		polls++
	}
	elapsed := now.Sub(q.StartedAt)
	if (q.plan.Polls == 0 || polls >= q.plan.Polls) && (q.plan.Duration == 0 || elapsed >= q.plan.Duration) {
		return q.result.Status
	}
	if (q.plan.Duration > 0 && elapsed >= q.plan.Duration/5) || (q.plan.Duration == 0 && polls > 1) {
		return "Running"
	}
	return "Scheduled"
}

func (q *query) stats(status string) map[string]any {
	s := QueryStats{}
	if q.result.Stats != nil {
		s = *q.result.Stats
	} else {
		n := float64(len(q.result.Rows))
		s = QueryStats{RecordsMatched: n, RecordsScanned: n*37 + 112, BytesScanned: (n*37 + 112) * 214, LogGroupsScanned: float64(max(1, len(q.LogGroups)))}
	}
	if !terminal(status) { // still running: partial figures
		s = QueryStats{RecordsMatched: float64(int(s.RecordsMatched / 3)), RecordsScanned: float64(int(s.RecordsScanned / 3)), BytesScanned: float64(int(s.BytesScanned / 3))}
	}
	m := map[string]any{"recordsMatched": s.RecordsMatched, "recordsScanned": s.RecordsScanned, "bytesScanned": s.BytesScanned}
	for k, v := range map[string]float64{"estimatedRecordsSkipped": s.EstimatedRecordsSkipped, "estimatedBytesSkipped": s.EstimatedBytesSkipped, "logGroupsScanned": s.LogGroupsScanned} {
		if v != 0 {
			m[k] = v
		}
	}
	return m
}

func (l *Logs) getQueryResults(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := r.String("queryId")
	q, ok := l.queries[id]
	if !ok || q.Region != r.Region {
		return nil, Errorf("ResourceNotFoundException", "Query does not exist: %s", id)
	}
	now := r.Now()
	status := l.statusAt(q, now, true)
	q.Polls++
	q.Status = status
	if terminal(status) && q.ReportedDoneAt.IsZero() && !q.Stopped {
		q.ReportedDoneAt = now
	}
	res := map[string]any{"status": status, "statistics": q.stats(status), "queryLanguage": "CWLI"}
	var rows [][]ResultField
	if status == "Complete" {
		rows = q.result.Rows
	}
	size := 10000
	if n, ok := r.Int("maxItems"); ok {
		if n < 1 || n > 10000 {
			return nil, invalidParam("maxItems must be between 1 and 10000")
		}
		size = int(n)
	}
	if l.pageSize > 0 && l.pageSize < size {
		size = l.pageSize
	}
	offset, err := pageOffset(r, "GetQueryResults/"+id)
	if err != nil {
		return nil, err
	}
	pg, next := page(rows, "GetQueryResults/"+id, offset, size)
	out := make([]any, 0, len(pg))
	for _, row := range pg {
		fs := make([]any, 0, len(row))
		for _, f := range row {
			fs = append(fs, map[string]any{"field": f.Field, "value": f.Value})
		}
		out = append(out, fs)
	}
	res["results"] = out
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func (l *Logs) stopQuery(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := r.String("queryId")
	q, ok := l.queries[id]
	if !ok || q.Region != r.Region {
		return nil, Errorf("ResourceNotFoundException", "Query does not exist: %s", id)
	}
	if st := l.statusAt(q, r.Now(), false); terminal(st) {
		return nil, invalidParam("Query %s is not running (status %s) and cannot be stopped", id, st)
	}
	q.Status, q.Stopped = "Cancelled", true
	return map[string]any{"success": true}, nil
}

func normalizeLogGroupARN(arn string) string { return strings.TrimSuffix(arn, ":*") }

var logGroupARNPattern = regexp.MustCompile(`^arn:aws[a-z\-]*:logs:[a-z0-9\-]+:\d{12}:log-group:[^:]+(:\*)?$`)

func (l *Logs) listLogAnomalyDetectors(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	filter := r.String("filterLogGroupArn")
	if filter != "" && !logGroupARNPattern.MatchString(filter) {
		return nil, invalidParam("1 validation error detected: Value '%s' at 'filterLogGroupArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w#+=/:,.@-]*", filter)
	}
	limit, err := l.pageLimit(r, "limit", 50, 50)
	if err != nil {
		return nil, err
	}
	offset, err := pageOffset(r, "ListLogAnomalyDetectors")
	if err != nil {
		return nil, err
	}
	var match []AnomalyDetector
	for _, d := range l.detectors {
		if d.Region != r.Region {
			continue
		}
		if filter != "" && !slices.ContainsFunc(d.LogGroupARNs, func(a string) bool { return normalizeLogGroupARN(a) == normalizeLogGroupARN(filter) }) {
			continue
		}
		match = append(match, d)
	}
	pg, next := page(match, "ListLogAnomalyDetectors", offset, limit)
	out := make([]any, 0, len(pg))
	for _, d := range pg {
		m := map[string]any{
			"anomalyDetectorArn":    d.ARN,
			"detectorName":          d.Name,
			"logGroupArnList":       d.LogGroupARNs,
			"evaluationFrequency":   d.EvaluationFrequency,
			"anomalyDetectorStatus": d.Status,
			"creationTimeStamp":     d.Created.UnixMilli(),
			"lastModifiedTimeStamp": d.Created.UnixMilli(),
			"anomalyVisibilityTime": 21,
		}
		if d.FilterPattern != "" {
			m["filterPattern"] = d.FilterPattern
		}
		out = append(out, m)
	}
	res := map[string]any{"anomalyDetectors": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// anomalyDetectorARNPattern is the member's constraint in the API model.
var anomalyDetectorARNPattern = regexp.MustCompile(`^[\w#+=/:,.@-]+$`)

// detectorRegion is the region of a detector ARN: the seeded detector's,
// or the ARN's own region field. Callers hold l.mu.
func (l *Logs) detectorRegion(arn string) string {
	for _, d := range l.detectors {
		if d.ARN == arn {
			return d.Region
		}
	}
	if parts := strings.Split(arn, ":"); len(parts) > 3 {
		return parts[3]
	}
	return ""
}

func (l *Logs) listAnomalies(r *Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	det := r.String("anomalyDetectorArn")
	state := r.String("suppressionState")
	switch state {
	case "", "SUPPRESSED", "UNSUPPRESSED":
	default:
		return nil, invalidParam("1 validation error detected: Value '%s' at 'suppressionState' failed to satisfy constraint: Member must satisfy enum value set: [SUPPRESSED, UNSUPPRESSED]", state)
	}
	if det != "" && !anomalyDetectorARNPattern.MatchString(det) {
		return nil, invalidParam("1 validation error detected: Value '%s' at 'anomalyDetectorArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w#+=/:,.@-]*", det)
	}
	if det != "" && !slices.ContainsFunc(l.detectors, func(d AnomalyDetector) bool { return d.ARN == det && d.Region == r.Region }) {
		return nil, Errorf("ResourceNotFoundException", "Anomaly detector %s does not exist", det)
	}
	limit, err := l.pageLimit(r, "limit", 50, 50)
	if err != nil {
		return nil, err
	}
	// A token continues only the listing (detector and state) it came from.
	listing := "ListAnomalies/" + det + "/" + state
	offset, err := pageOffset(r, listing)
	if err != nil {
		return nil, err
	}
	var match []Anomaly
	for _, a := range l.anomalies {
		if det != "" && a.DetectorARN != det || l.detectorRegion(a.DetectorARN) != r.Region {
			continue
		}
		if (state == "SUPPRESSED" && !a.Suppressed) || (state == "UNSUPPRESSED" && a.Suppressed) {
			continue
		}
		match = append(match, a)
	}
	pg, next := page(match, listing, offset, limit)
	out := make([]any, 0, len(pg))
	for _, a := range pg {
		hist := map[string]any{}
		for t, n := range a.Histogram {
			hist[strconv.FormatInt(t.UnixMilli(), 10)] = n
		}
		samples := make([]any, 0, len(a.Samples))
		for _, s := range a.Samples {
			samples = append(samples, map[string]any{"timestamp": s.Time.UnixMilli(), "message": s.Message})
		}
		// dynamicTokenPosition numbers the dynamic tokens 1, 2, ...; static
		// tokens have none.
		var tokens []any
		dyn := 0
		for _, tok := range strings.Fields(a.PatternString) {
			t := map[string]any{"isDynamic": strings.HasPrefix(tok, "<*"), "tokenString": tok}
			if strings.HasPrefix(tok, "<*") {
				dyn++
				t["dynamicTokenPosition"] = dyn
			}
			tokens = append(tokens, t)
		}
		m := map[string]any{
			"anomalyId":          a.ID,
			"patternId":          a.PatternID,
			"anomalyDetectorArn": a.DetectorARN,
			"patternString":      a.PatternString,
			"firstSeen":          a.FirstSeen.UnixMilli(),
			"lastSeen":           a.LastSeen.UnixMilli(),
			"description":        a.Description,
			"active":             a.State == "Active",
			"state":              a.State,
			"histogram":          hist,
			"logSamples":         samples,
			"patternTokens":      tokens,
			"logGroupArnList":    a.LogGroupARNs,
			"suppressed":         a.Suppressed,
		}
		if a.PatternRegex != "" {
			m["patternRegex"] = a.PatternRegex
		}
		if a.Priority != "" {
			m["priority"] = a.Priority
		}
		if !a.SuppressedAt.IsZero() {
			m["suppressedDate"] = a.SuppressedAt.UnixMilli()
		}
		if !a.SuppressedUntil.IsZero() {
			m["suppressedUntil"] = a.SuppressedUntil.UnixMilli()
		}
		if a.PatternLevelSuppression {
			m["isPatternLevelSuppression"] = true
		}
		out = append(out, m)
	}
	res := map[string]any{"anomalies": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// SeedDemo fills the state with a small, realistic account: Lambda, ECS, API
// Gateway and VPC log groups (one in a linked source account), log events
// in four of them (see seedDemoEvents; /ecs/orders-service masks e-mail
// addresses and card numbers, DemoLiveTailGroup is the one to tail), saved
// queries, two anomaly detectors with active and suppressed anomalies,
// Insights results drawn from the events (with @ptr for GetLogRecord) and
// canned ones for pattern, error and count queries, all finishing after
// about a second of fake-clock time.
func (l *Logs) SeedDemo() *Logs {
	now := l.f.now().UTC().Truncate(time.Minute)
	day := 24 * time.Hour
	l.AddLogGroup(
		LogGroup{Name: "/aws/lambda/checkout-api", RetentionInDays: 30, StoredBytes: 48_213_377, MetricFilterCount: 2, CreationTime: now.Add(-400 * day)},
		LogGroup{Name: "/aws/lambda/payment-processor", RetentionInDays: 90, StoredBytes: 912_004_551, MetricFilterCount: 1, CreationTime: now.Add(-380 * day), KmsKeyID: "arn:aws:kms:us-east-1:123456789012:key/6f1e2c3a-8d7b-4e55-9a0c-2b1d4e6f8a90"},
		LogGroup{Name: "/aws/lambda/image-resizer", RetentionInDays: 14, StoredBytes: 3_200_118, CreationTime: now.Add(-90 * day)},
		LogGroup{Name: "/ecs/orders-service", RetentionInDays: 30, StoredBytes: 7_402_337_812, MetricFilterCount: 3, CreationTime: now.Add(-200 * day), MaskPatterns: []string{MaskEmailAddress, MaskCreditCardNumber}},
		LogGroup{Name: DemoLiveTailGroup, RetentionInDays: 14, StoredBytes: 2_118_409_776, MetricFilterCount: 1, CreationTime: now.Add(-150 * day)},
		LogGroup{Name: "API-Gateway-Execution-Logs_a1b2c3d4e5/prod", RetentionInDays: 7, StoredBytes: 150_993_201, CreationTime: now.Add(-300 * day)},
		LogGroup{Name: "/vpc/flow-logs/prod", RetentionInDays: 365, StoredBytes: 88_120_554_001, Class: "INFREQUENT_ACCESS", CreationTime: now.Add(-500 * day)},
		LogGroup{Name: "/aws/lambda/ledger-sync", AccountID: "210987654321", RetentionInDays: 30, StoredBytes: 12_554_902, CreationTime: now.Add(-60 * day)},
	)
	l.AddQueryDefinition(
		QueryDefinition{Name: "checkout/errors-last-hour", QueryString: "fields @timestamp, @message, @requestId\n| filter @message like /ERROR/\n| sort @timestamp desc\n| limit 50", LogGroupNames: []string{"/aws/lambda/checkout-api"}},
		QueryDefinition{Name: "lambda/cold-starts", QueryString: "SOURCE logGroups(namePrefix: [\"/aws/lambda/\"], class: \"STANDARD\") START=-1h\n| filter @type = \"REPORT\" and ispresent(@initDuration)\n| stats count(*) as coldStarts, avg(@initDuration) by bin(5m)"},
		QueryDefinition{Name: "orders/slow-requests", QueryString: "fields @timestamp, path, latency_ms\n| filter latency_ms > 1000\n| sort latency_ms desc\n| limit 20", LogGroupNames: []string{"/ecs/orders-service"}},
	)
	groupARN := LogGroup{Name: "/aws/lambda/payment-processor", Region: "us-east-1", AccountID: DefaultAccountID}.ARN()
	det := l.AddAnomalyDetector(AnomalyDetector{Name: "payment-processor-anomalies", LogGroupARNs: []string{groupARN}})
	h := func(ago ...int) map[time.Time]int64 {
		m := map[time.Time]int64{}
		for i, a := range ago {
			m[now.Add(-time.Duration(a)*time.Minute)] = int64(3 + 5*i)
		}
		return m
	}
	l.AddAnomaly(
		Anomaly{DetectorARN: det, LogGroupARNs: []string{groupARN}, FirstSeen: now.Add(-95 * time.Minute), LastSeen: now.Add(-5 * time.Minute),
			Description: "50 occurrences of a new pattern were found", Priority: "HIGH",
			PatternString: "ERROR PaymentDeclined: card issuer <*> timed out after <*> ms", PatternRegex: `ERROR PaymentDeclined: card issuer \S+ timed out after \d+ ms`,
			Histogram: h(90, 60, 30, 5),
			Samples:   []LogSample{{now.Add(-5 * time.Minute), "ERROR PaymentDeclined: card issuer visa-gw-2 timed out after 3004 ms"}, {now.Add(-31 * time.Minute), "ERROR PaymentDeclined: card issuer mc-gw-1 timed out after 3001 ms"}}},
		Anomaly{DetectorARN: det, LogGroupARNs: []string{groupARN}, FirstSeen: now.Add(-3 * day), LastSeen: now.Add(-2 * day),
			Description: "Occurrences of a known pattern increased by 400%", Priority: "LOW",
			PatternString: "WARN retrying ledger write attempt=<*>", Histogram: h(4320, 2880),
			Samples: []LogSample{{now.Add(-2 * day), "WARN retrying ledger write attempt=3"}}},
	)
	webARN := LogGroup{Name: DemoLiveTailGroup, Region: "us-east-1", AccountID: DefaultAccountID}.ARN()
	webDet := l.AddAnomalyDetector(AnomalyDetector{Name: "checkout-web-anomalies", LogGroupARNs: []string{webARN}, EvaluationFrequency: "FIVE_MIN"})
	l.AddAnomaly(
		Anomaly{DetectorARN: webDet, LogGroupARNs: []string{webARN}, FirstSeen: now.Add(-40 * time.Minute), LastSeen: now.Add(-2 * time.Minute),
			Description: "24 occurrences of a new pattern were found", Priority: "HIGH",
			PatternString: `{"level":"ERROR","method":"POST","path":"/api/checkout","status":502,"latency":<*>,"requestId":<*>,"msg":"upstream payment-processor timed out"}`,
			Histogram:     h(40, 25, 10, 2),
			Samples:       []LogSample{{now.Add(-2 * time.Minute), demoAccessLine(16, now.Add(-2*time.Minute), true).Message}}},
		Anomaly{DetectorARN: webDet, LogGroupARNs: []string{webARN}, FirstSeen: now.Add(-6 * day), LastSeen: now.Add(-5 * day),
			Description: "Occurrences of a known pattern increased by 250%", Priority: "MEDIUM",
			PatternString: `{"level":"WARN","method":"GET","path":<*>,"status":200,"latency":<*>,"requestId":<*>,"msg":"slow request"}`,
			Histogram:     h(8640, 7200), Suppressed: true, SuppressedAt: now.Add(-5 * day), SuppressedUntil: now.Add(2 * day)},
	)
	l.seedDemoEvents(now)

	ts := func(ago time.Duration) string { return now.Add(-ago).Format("2006-01-02 15:04:05.000") }
	second := QueryPlan{Duration: 1200 * time.Millisecond}
	l.SetQueryPlan(second)
	l.SetQueryResults("", QueryResult{FromEvents: true})
	l.SetQueryResults("stats count(*)", QueryResult{Rows: [][]ResultField{
		Row("bin(5m)", ts(10*time.Minute), "count(*)", "412"),
		Row("bin(5m)", ts(5*time.Minute), "count(*)", "389"),
		Row("bin(5m)", ts(0), "count(*)", "455"),
	}, Stats: &QueryStats{RecordsMatched: 1256, RecordsScanned: 1256, BytesScanned: 301_442}})
	l.SetQueryResults("pattern @message", QueryResult{Rows: [][]ResultField{
		Row("@pattern", "INFO order <*> accepted total=<*> currency=<*>", "@sampleCount", "1893", "@ratio", "0.61",
			"@logSamples", `[{"timestamp":"`+ts(time.Minute)+`","message":"INFO order 58211 accepted total=129.90 currency=EUR"},{"timestamp":"`+ts(2*time.Minute)+`","message":"INFO order 58209 accepted total=19.00 currency=EUR"}]`,
			"@tokens", `[{"dynamicTokenPosition":2,"isDynamic":true,"tokenString":"<*>"}]`, "@visualization", `{"type":"bar","counts":[612,640,641]}`),
		Row("@pattern", "REPORT RequestId: <*> Duration: <*> ms Billed Duration: <*> ms", "@sampleCount", "1201", "@ratio", "0.39",
			"@logSamples", `[{"timestamp":"`+ts(time.Minute)+`","message":"REPORT RequestId: 8f2c0b9e Duration: 212.41 ms Billed Duration: 213 ms"}]`,
			"@tokens", `[]`, "@visualization", `{"type":"bar","counts":[400,401,400]}`),
	}})
	l.SetQueryResults("(?i)(error|exception|fail|timeout|fatal)", QueryResult{Rows: [][]ResultField{
		Row("@pattern", "ERROR PaymentDeclined: card issuer <*> timed out after <*> ms", "@sampleCount", "50", "@ratio", "0.86",
			"@logSamples", `[{"timestamp":"`+ts(5*time.Minute)+`","message":"ERROR PaymentDeclined: card issuer visa-gw-2 timed out after 3004 ms"}]`,
			"@tokens", `[]`, "@visualization", `{"type":"bar","counts":[10,15,25]}`),
	}})
	return l
}
