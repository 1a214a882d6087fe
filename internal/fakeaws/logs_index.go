package fakeaws

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file adds the CloudWatch Logs operations the field-index recommender
// reads (JSON 1.1, signing name "logs"): DescribeQueries (the account's
// Insights query history), DescribeIndexPolicies and DescribeAccountPolicies.
// Seed it through LogsIndexOf(f). The history is only what the test seeds;
// queries started against the fake are not added to it, so a test controls
// exactly what the recommender sees. The one exception is a status filter
// of Scheduled or Running: those also list the queries started against the
// fake that have that status now (the Insights poller watches them).

func init() {
	Register(func(f *Fake) {
		f.Handle("logs", "DescribeQueries", func(r *Request) (any, error) { return LogsIndexOf(r.Fake()).describeQueries(r) })
		f.Handle("logs", "DescribeIndexPolicies", func(r *Request) (any, error) { return LogsIndexOf(r.Fake()).describeIndexPolicies(r) })
		f.Handle("logs", "DescribeAccountPolicies", func(r *Request) (any, error) { return LogsIndexOf(r.Fake()).describeAccountPolicies(r) })
	})
}

// HistoricQuery is one entry of the Insights query history.
type HistoricQuery struct {
	ID          string // generated when empty
	QueryString string
	// Language: CWLI, SQL, PPL, or "" to leave queryLanguage out (old entries).
	Language     string
	LogGroupName string
	// Status defaults to Complete.
	Status string
	// CreateTime defaults to one hour before the fake clock at seeding.
	CreateTime time.Time
	// Region defaults to us-east-1.
	Region string
}

// IndexPolicy is a log-group level field index policy.
type IndexPolicy struct {
	LogGroup string // name
	Name     string // defaults to "default"
	Fields   []string
	Updated  time.Time
}

// AccountPolicy is an account-level policy (FIELD_INDEX_POLICY unless Type
// says otherwise).
type AccountPolicy struct {
	Name   string
	Type   string // defaults to FIELD_INDEX_POLICY
	Fields []string
	// Prefixes restricts the policy to log groups whose names start with one
	// of them (selectionCriteria LogGroupNamePrefix IN [...]); none = all.
	Prefixes []string
	// Document overrides the generated policy document (e.g. to serve
	// malformed JSON).
	Document string
	Updated  time.Time
}

// LogsIndex is the fake's index-related Logs state.
type LogsIndex struct {
	f *Fake

	mu        sync.Mutex
	history   []HistoricQuery
	policies  map[string]IndexPolicy // by log group name
	accountPs []AccountPolicy
	pageSize  int
	seq       int
}

// LogsIndexOf returns f's index-related Logs state.
func LogsIndexOf(f *Fake) *LogsIndex {
	return f.State("logs_index", func() any {
		return &LogsIndex{f: f, policies: map[string]IndexPolicy{}}
	}).(*LogsIndex)
}

// AddQueryHistory seeds the query history. DescribeQueries lists it newest
// first, as AWS does.
func (x *LogsIndex) AddQueryHistory(qs ...HistoricQuery) *LogsIndex {
	now := x.f.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, q := range qs {
		x.seq++
		if q.ID == "" {
			q.ID = "hq-" + randHex(4) + "-" + strconv.Itoa(x.seq)
		}
		if q.Status == "" {
			q.Status = "Complete"
		}
		if q.CreateTime.IsZero() {
			q.CreateTime = now.Add(-time.Hour)
		}
		if q.Region == "" {
			q.Region = "us-east-1"
		}
		x.history = append(x.history, q)
	}
	sort.SliceStable(x.history, func(i, j int) bool { return x.history[i].CreateTime.After(x.history[j].CreateTime) })
	return x
}

// SetIndexPolicy sets a log group's own field index policy.
func (x *LogsIndex) SetIndexPolicy(p IndexPolicy) *LogsIndex {
	if p.Name == "" {
		p.Name = "default"
	}
	if p.Updated.IsZero() {
		p.Updated = x.f.now().Add(-24 * time.Hour)
	}
	x.mu.Lock()
	x.policies[p.LogGroup] = p
	x.mu.Unlock()
	return x
}

// AddAccountPolicy seeds account-level policies.
func (x *LogsIndex) AddAccountPolicy(ps ...AccountPolicy) *LogsIndex {
	now := x.f.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range ps {
		if p.Type == "" {
			p.Type = "FIELD_INDEX_POLICY"
		}
		if p.Updated.IsZero() {
			p.Updated = now.Add(-48 * time.Hour)
		}
		x.accountPs = append(x.accountPs, p)
	}
	return x
}

// SetPageSize caps every page (0 = AWS defaults).
func (x *LogsIndex) SetPageSize(n int) *LogsIndex {
	x.mu.Lock()
	x.pageSize = n
	x.mu.Unlock()
	return x
}

func fieldsDoc(fields []string) string {
	b, _ := json.Marshal(map[string]any{"Fields": fields})
	return string(b)
}

var queryStatuses = map[string]bool{"Scheduled": true, "Running": true, "Complete": true, "Failed": true, "Cancelled": true, "Timeout": true, "Unknown": true}

func (x *LogsIndex) describeQueries(r *Request) (any, error) {
	status := r.String("status")
	if status != "" && !queryStatuses[status] {
		return nil, invalidParam("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Scheduled, Running, Complete, Failed, Cancelled, Timeout, Unknown]", status)
	}
	lang := r.String("queryLanguage")
	group := r.String("logGroupName")
	n, ok := r.Int("maxResults")
	if !ok {
		n = 1000
	} else if n < 1 || n > 1000 {
		return nil, invalidParam("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", n)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pageSize > 0 && int64(x.pageSize) < n {
		n = int64(x.pageSize)
	}
	offset, err := pageOffset(r, "DescribeQueries")
	if err != nil {
		return nil, err
	}
	var match []HistoricQuery
	if status == "Scheduled" || status == "Running" {
		match = LogsOf(r.Fake()).inFlight(r.Region, status)
	}
	for _, q := range x.history {
		if q.Region != r.Region || (status != "" && q.Status != status) || (group != "" && q.LogGroupName != group) || (lang != "" && q.Language != lang) {
			continue
		}
		match = append(match, q)
	}
	pg, next := page(match, "DescribeQueries", offset, int(n))
	out := make([]any, 0, len(pg))
	for _, q := range pg {
		m := map[string]any{
			"queryId":     q.ID,
			"queryString": q.QueryString,
			"status":      q.Status,
			"createTime":  q.CreateTime.UnixMilli(),
		}
		if q.LogGroupName != "" {
			m["logGroupName"] = q.LogGroupName
		}
		if q.Language != "" {
			m["queryLanguage"] = q.Language
		}
		out = append(out, m)
	}
	res := map[string]any{"queries": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// prefixCriteria renders the selection criteria AWS reports for prefix-
// scoped field index policies.
func prefixCriteria(prefixes []string) string {
	q := make([]string, len(prefixes))
	for i, p := range prefixes {
		q[i] = `"` + p + `"`
	}
	return "LogGroupNamePrefix IN [" + strings.Join(q, ", ") + "]"
}

var arnGroupName = regexp.MustCompile(`:log-group:([^:]+)(?::\*)?$`)

func (x *LogsIndex) describeIndexPolicies(r *Request) (any, error) {
	ids := r.Strings("logGroupIdentifiers")
	if len(ids) != 1 {
		return nil, invalidParam("logGroupIdentifiers must contain exactly one log group name or ARN")
	}
	name := ids[0]
	if m := arnGroupName.FindStringSubmatch(name); m != nil && strings.HasPrefix(name, "arn:") {
		name = m[1]
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []any
	if p, ok := x.policies[name]; ok {
		out = append(out, map[string]any{
			"logGroupIdentifier": ids[0],
			"policyName":         p.Name,
			"policyDocument":     fieldsDoc(p.Fields),
			"lastUpdateTime":     p.Updated.UnixMilli(),
			"source":             "LOG_GROUP",
		})
	} else {
		// Without a policy of its own, the group reports the account policy
		// that applies to it.
		for _, p := range x.accountPs {
			if p.Type != "FIELD_INDEX_POLICY" || !prefixMatches(p.Prefixes, name) {
				continue
			}
			doc := p.Document
			if doc == "" {
				doc = fieldsDoc(p.Fields)
			}
			out = append(out, map[string]any{
				"logGroupIdentifier": ids[0],
				"policyName":         p.Name,
				"policyDocument":     doc,
				"lastUpdateTime":     p.Updated.UnixMilli(),
				"source":             "ACCOUNT",
			})
			break
		}
	}
	return map[string]any{"indexPolicies": out}, nil
}

func prefixMatches(prefixes []string, name string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (x *LogsIndex) describeAccountPolicies(r *Request) (any, error) {
	typ := r.String("policyType")
	switch typ {
	case "DATA_PROTECTION_POLICY", "SUBSCRIPTION_FILTER_POLICY", "FIELD_INDEX_POLICY", "TRANSFORMER_POLICY", "METRIC_EXTRACTION_POLICY":
	case "":
		return nil, invalidParam("1 validation error detected: Value null at 'policyType' failed to satisfy constraint: Member must not be null")
	default:
		return nil, invalidParam("1 validation error detected: Value '%s' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set", typ)
	}
	name := r.String("policyName")
	x.mu.Lock()
	defer x.mu.Unlock()
	offset, err := pageOffset(r, "DescribeAccountPolicies")
	if err != nil {
		return nil, err
	}
	var match []AccountPolicy
	for _, p := range x.accountPs {
		if p.Type == typ && (name == "" || p.Name == name) {
			match = append(match, p)
		}
	}
	size := 50
	if x.pageSize > 0 {
		size = x.pageSize
	}
	pg, next := page(match, "DescribeAccountPolicies", offset, size)
	out := make([]any, 0, len(pg))
	for _, p := range pg {
		doc := p.Document
		if doc == "" {
			doc = fieldsDoc(p.Fields)
		}
		m := map[string]any{
			"policyName":      p.Name,
			"policyType":      p.Type,
			"policyDocument":  doc,
			"lastUpdatedTime": p.Updated.UnixMilli(),
			"scope":           "ALL",
			"accountId":       DefaultAccountID,
		}
		if len(p.Prefixes) > 0 {
			m["selectionCriteria"] = prefixCriteria(p.Prefixes)
		}
		out = append(out, m)
	}
	res := map[string]any{"accountPolicies": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}
