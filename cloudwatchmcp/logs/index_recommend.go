package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// The field-index recommender reads the last 30 days of completed Logs
// Insights queries, works out which fields they filter on, and scores the
// fields that are not indexed yet. Weights, result shapes and early-exit
// warnings are those of awslabs 0.1.8 so agents read both the same way;
// FIXES_batch_index.md lists where we deliberately differ.

const (
	indexHistoryDays        = 30
	indexHistoryCap         = 10000 // DescribeQueries entries read for one log group
	indexAccountDefaultMax  = 5000
	indexAccountUnlimited   = 10_000_000
	indexProbeChunk         = 50 // fields per existence probe; keeps the query string short
	indexProbeWindow        = time.Hour
	indexProbeBudget        = 30 * time.Second // summed poll sleeps per probe query
	indexCardinalityTopN    = 10
	indexCardinalityCeiling = 1000.0 // distinct values that earn the full cardinality score
	indexRecencyHalfLife    = 7.0    // days

	// Scoring weights of the per-log-group analysis (sum to 1).
	wFrequency   = 0.30
	wEquality    = 0.25
	wRecency     = 0.15
	wScanVolume  = 0.15
	wCardinality = 0.15

	// Weights of the account triage, which makes no per-group calls.
	wAcctFrequency = 0.40
	wAcctEquality  = 0.35
	wAcctRecency   = 0.25
)

// indexSystemFields are indexed by default or generated per event and never
// worth recommending (awslabs' list).
var indexSystemFields = wordSet(`@timestamp @message @logStream @log @ptr @ingestionTime
	@aws.region @aws.account @source.log @data_source_name @data_source_type @data_format
	traceId severityText attributes.session.id action logStatus flowDirection type query_type
	transport rcode httpRequest.country eventSource eventName awsRegion userAgent errorCode
	eventType managementEvent readOnly eventCategory requestId`)

// indexableGeneratedFields are the "@" fields Logs generates (Lambda) that an
// index policy names as-is. Any other "@" field is a custom one, which a
// policy must spell with a second "@" (@@userId).
var indexableGeneratedFields = wordSet(`@logStream @ingestionTime @requestId @type @initDuration
	@duration @billedDuration @memorySize @maxMemoryUsed @xrayTraceId @xraySegmentId`)

// --- result shapes (awslabs' pydantic models, snake_case) ---

type fieldScoreBreakdown struct {
	FrequencyScore      float64  `json:"frequency_score"`
	FilterEqualityScore float64  `json:"filter_equality_score"`
	RecencyScore        float64  `json:"recency_score"`
	ScanVolumeScore     float64  `json:"scan_volume_score"`
	CardinalityScore    *float64 `json:"cardinality_score"`
}

type indexRecommendation struct {
	FieldName           string              `json:"field_name"`
	Score               float64             `json:"score"`
	Action              string              `json:"action"`
	QueryCount          int                 `json:"query_count"`
	FilterEqualityCount int                 `json:"filter_equality_count"`
	ScoreBreakdown      fieldScoreBreakdown `json:"score_breakdown"`
}

type alreadyIndexedField struct {
	FieldName  string `json:"field_name"`
	QueryCount int    `json:"query_count"`
	Source     string `json:"source"`
}

type fieldNotFound struct {
	FieldName  string `json:"field_name"`
	QueryCount int    `json:"query_count"`
}

type indexRecommenderResult struct {
	Recommendations []indexRecommendation `json:"recommendations"`
	AlreadyIndexed  []alreadyIndexedField `json:"already_indexed"`
	FieldsNotFound  []fieldNotFound       `json:"fields_not_found"`
	QueriesAnalyzed int                   `json:"queries_analyzed"`
	UniqueQueries   int                   `json:"unique_queries"`
	TimeRangeDays   int                   `json:"time_range_days"`
	LogGroup        string                `json:"log_group"`
	Warnings        []string              `json:"warnings"`
}

func newIndexResult(logGroup string, queries, unique int, warnings ...string) *indexRecommenderResult {
	return &indexRecommenderResult{
		Recommendations: []indexRecommendation{},
		AlreadyIndexed:  []alreadyIndexedField{},
		FieldsNotFound:  []fieldNotFound{},
		QueriesAnalyzed: queries,
		UniqueQueries:   unique,
		TimeRangeDays:   indexHistoryDays,
		LogGroup:        logGroup,
		Warnings:        append([]string{}, warnings...),
	}
}

type accountIndexRecommenderResult struct {
	LogGroupResults        []*indexRecommenderResult `json:"log_group_results"`
	TotalLogGroupsAnalyzed int                       `json:"total_log_groups_analyzed"`
	TotalQueriesAnalyzed   int                       `json:"total_queries_analyzed"`
	TimeRangeDays          int                       `json:"time_range_days"`
	Warnings               []string                  `json:"warnings"`
}

// Early-exit warnings, verbatim from awslabs so prompts keyed on them work.
const (
	warnNoHistoryGroup   = "No completed queries found in the last 30 days for this log group."
	warnNoHistoryAccount = "No completed queries found in the last 30 days."
	warnOnlySystem       = "No indexable fields found in query history (only system fields used)."
	warnOnlySystemLight  = "No indexable fields found (only system fields used)."
	warnAllIndexed       = "All queried fields are already indexed."
	warnNoCandidates     = "No candidate fields found in log data."
)

// --- history ---

type historicQuery struct {
	queryString string
	language    string
	logGroup    string
	created     time.Time
}

// describeQueryHistory pages DescribeQueries (status Complete) up to max
// entries. truncated says whether more history was left unread.
func describeQueryHistory(ctx context.Context, cl *cloudwatchlogs.Client, logGroup string, max int) (qs []historicQuery, truncated bool, err error) {
	var token *string
	for {
		size := min(1000, max-len(qs))
		if size <= 0 {
			return qs, true, nil
		}
		in := &cloudwatchlogs.DescribeQueriesInput{Status: types.QueryStatusComplete, MaxResults: aws.Int32(int32(size)), NextToken: token}
		if logGroup != "" {
			in.LogGroupName = aws.String(logGroup)
		}
		out, err := cl.DescribeQueries(ctx, in)
		if err != nil {
			return nil, false, err
		}
		for _, q := range out.Queries {
			qs = append(qs, historicQuery{
				queryString: aws.ToString(q.QueryString),
				language:    string(q.QueryLanguage),
				logGroup:    aws.ToString(q.LogGroupName),
				created:     time.UnixMilli(aws.ToInt64(q.CreateTime)),
			})
		}
		token = out.NextToken
		if token == nil || *token == "" {
			return qs, false, nil
		}
		if len(qs) >= max {
			return qs, true, nil
		}
	}
}

func recentQueries(qs []historicQuery, now time.Time) []historicQuery {
	cutoff := now.Add(-indexHistoryDays * 24 * time.Hour)
	var out []historicQuery
	for _, q := range qs {
		if !q.created.Before(cutoff) {
			out = append(out, q)
		}
	}
	return out
}

// --- usage ---

type fieldUsage struct {
	name                         string
	total, equality, nonEquality int
	displayOnly                  int
	mostRecent                   time.Time
}

// buildFieldUsage tallies, per field, how many queries used it and how.
// Fields keep the order in which the history first mentions them, so ties
// in score sort the same way every time.
func buildFieldUsage(qs []historicQuery) (usage []*fieldUsage, unique int) {
	byName := map[string]*fieldUsage{}
	uniq := map[string]bool{}
	for _, q := range qs {
		uniq[q.queryString] = true
		parsed := parseQueryFields(q.queryString, q.language)
		names := make([]string, 0, len(parsed))
		for n := range parsed {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if indexSystemFields[n] {
				continue
			}
			fu := byName[n]
			if fu == nil {
				fu = &fieldUsage{name: n}
				byName[n] = fu
				usage = append(usage, fu)
			}
			fu.total++
			if q.created.After(fu.mostRecent) {
				fu.mostRecent = q.created
			}
			switch parsed[n] {
			case fieldEquality:
				fu.equality++
			case fieldNonEquality:
				fu.nonEquality++
			default:
				fu.displayOnly++
			}
		}
	}
	return usage, len(uniq)
}

// --- scoring ---

func recencyScore(last, now time.Time) float64 {
	age := math.Max(0, now.Sub(last).Hours()/24)
	return math.Exp(-0.693 * age / indexRecencyHalfLife)
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// scoreParts computes the frequency, equality and recency parts. awslabs
// also halves eq_ratio for fields used only in non-equality filters, but
// that ratio is already 0 there, so the "penalty" never changes a score; we
// leave it out rather than pretend (see FIXES_batch_index.md).
func scoreParts(fu *fieldUsage, maxCount int, now time.Time) fieldScoreBreakdown {
	b := fieldScoreBreakdown{RecencyScore: recencyScore(fu.mostRecent, now)}
	if maxCount > 0 {
		b.FrequencyScore = math.Min(float64(fu.total)/float64(maxCount), 1)
	}
	if fu.total > 0 {
		b.FilterEqualityScore = float64(fu.equality) / float64(fu.total)
	}
	return b
}

func fullScore(b fieldScoreBreakdown) float64 {
	s := wFrequency*b.FrequencyScore + wEquality*b.FilterEqualityScore + wRecency*b.RecencyScore + wScanVolume*b.ScanVolumeScore
	if b.CardinalityScore != nil {
		s += wCardinality * *b.CardinalityScore
	}
	return s
}

func lightScore(b fieldScoreBreakdown) float64 {
	return wAcctFrequency*b.FrequencyScore + wAcctEquality*b.FilterEqualityScore + wAcctRecency*b.RecencyScore
}

func maxTotal(us []*fieldUsage) int {
	m := 0
	for _, u := range us {
		m = max(m, u.total)
	}
	return m
}

func sortRecommendations(rs []indexRecommendation) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Score > rs[j].Score })
}

// --- index policies ---

// policyFields reads the Fields of a field index policy document. A custom
// field that starts with "@" is written "@@name" in a policy; it is mapped
// back to the name queries use.
func policyFields(doc string) ([]string, error) {
	var d struct {
		Fields []string `json:"Fields"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("unreadable policy document: %v", err)
	}
	out := make([]string, 0, len(d.Fields))
	for _, f := range d.Fields {
		out = append(out, unescapePolicyField(f))
	}
	return out, nil
}

func unescapePolicyField(f string) string {
	if strings.HasPrefix(f, "@@") {
		return f[1:]
	}
	return f
}

var rePrefixCriteria = regexp.MustCompile(`(?i)^\s*LogGroupNamePrefix\s+IN\s*\[(.*)\]\s*$`)
var reQuoted = regexp.MustCompile(`"([^"]*)"|'([^']*)'`)

// accountPolicyScope returns the log group name prefixes an account policy
// is restricted to, or nil when it applies to every log group.
func accountPolicyScope(criteria string) []string {
	m := rePrefixCriteria.FindStringSubmatch(criteria)
	if m == nil {
		return nil
	}
	var out []string
	for _, q := range reQuoted.FindAllStringSubmatch(m[1], -1) {
		out = append(out, q[1]+q[2])
	}
	return out
}

// --- ARNs ---

// logGroupNameOf returns the name in a log group ARN (after ":log-group:",
// without a trailing ":*"), or the identifier when it is a name.
func logGroupNameOf(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if _, name, ok := strings.Cut(id, ":log-group:"); ok {
			return strings.TrimSuffix(strings.TrimSuffix(name, ":*"), ":")
		}
	}
	return id
}

// logGroupIdentifierOf returns the form StartQuery and DescribeIndexPolicies
// accept: the name, or the ARN without ":*".
func logGroupIdentifierOf(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return strings.TrimSuffix(strings.TrimSuffix(id, ":*"), ":")
	}
	return id
}

// --- probe queries ---

var plainFieldName = regexp.MustCompile(`^@?[A-Za-z_][\w.]*$`)

// quoteField writes a field name so Insights reads it as one name.
func quoteField(f string) string {
	if plainFieldName.MatchString(f) {
		return f
	}
	return "`" + strings.ReplaceAll(f, "`", "") + "`"
}

// probeQuery runs a short Insights query (limit 1) over the last hour of one
// log group and returns its rows. It gives up after 30 s, stopping the
// query, as awslabs does.
func probeQuery(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, group, query string) ([]map[string]string, error) {
	now := e.Now()
	out, err := cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupIdentifiers: []string{group},
		StartTime:           aws.Int64(now.Add(-indexProbeWindow).Unix()),
		EndTime:             aws.Int64(now.Unix()),
		QueryString:         aws.String(query),
		Limit:               aws.Int32(1),
	})
	if err != nil {
		return nil, err
	}
	id := aws.ToString(out.QueryId)
	w, err := waitInsightsQuery(ctx, e, cl, id, insightsWait{Timeout: indexProbeBudget, StopOnTimeout: true})
	switch {
	case err != nil:
		return nil, err
	case w.TimedOut:
		return nil, fmt.Errorf("probe query %s did not complete within %s", id, w.Timeout)
	case w.Output.Status != types.QueryStatusComplete:
		return nil, fmt.Errorf("probe query %s ended with status %s", id, w.Output.Status)
	}
	return flattenRows(w.Output.Results), nil
}

func flattenRows(rows [][]types.ResultField) []map[string]string {
	out := make([]map[string]string, 0, len(rows))
	for _, r := range rows {
		m := make(map[string]string, len(r))
		for _, f := range r {
			m[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		out = append(out, m)
	}
	return out
}

// --- the per-log-group pipeline ---

func recommendForLogGroup(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, identifier string) *indexRecommenderResult {
	now := e.Now()
	name := logGroupNameOf(identifier)
	ident := logGroupIdentifierOf(identifier)

	all, truncated, err := describeQueryHistory(ctx, cl, name, indexHistoryCap)
	if err != nil {
		return newIndexResult(identifier, 0, 0, "Error fetching query history: "+toolkit.ErrorMessage(err))
	}
	recent := recentQueries(all, now)
	if len(recent) == 0 {
		return newIndexResult(identifier, 0, 0, warnNoHistoryGroup)
	}
	usage, unique := buildFieldUsage(recent)
	if len(usage) == 0 {
		return newIndexResult(identifier, len(recent), unique, warnOnlySystem)
	}
	res := newIndexResult(identifier, len(recent), unique)
	if truncated {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Query history was capped at %d queries; older queries in the window were not analyzed.", indexHistoryCap))
	}

	indexed := map[string]string{}
	if ip, err := cl.DescribeIndexPolicies(ctx, &cloudwatchlogs.DescribeIndexPoliciesInput{LogGroupIdentifiers: []string{ident}}); err != nil {
		res.Warnings = append(res.Warnings, "Could not fetch index policies: "+toolkit.ErrorMessage(err))
	} else {
		for _, p := range ip.IndexPolicies {
			fields, err := policyFields(aws.ToString(p.PolicyDocument))
			if err != nil {
				res.Warnings = append(res.Warnings, "Could not read index policy "+aws.ToString(p.PolicyName)+": "+err.Error())
				continue
			}
			src := string(p.Source)
			if src == "" {
				src = "UNKNOWN"
			}
			for _, f := range fields {
				indexed[f] = src
			}
		}
	}
	var candidates []*fieldUsage
	for _, fu := range usage {
		if src, ok := indexed[fu.name]; ok {
			res.AlreadyIndexed = append(res.AlreadyIndexed, alreadyIndexedField{FieldName: fu.name, QueryCount: fu.total, Source: src})
		} else {
			candidates = append(candidates, fu)
		}
	}
	if len(candidates) == 0 {
		if len(res.Warnings) == 0 {
			res.Warnings = append(res.Warnings, warnAllIndexed)
		}
		return res
	}

	exists, unverified := probeExistence(ctx, e, cl, ident, candidates)
	if unverified > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Could not check whether %d field(s) exist in the last hour of log data; they are scored without that check.", unverified))
	}
	var scorable []*fieldUsage
	for _, fu := range candidates {
		if exists[fu.name] {
			scorable = append(scorable, fu)
		} else {
			res.FieldsNotFound = append(res.FieldsNotFound, fieldNotFound{FieldName: fu.name, QueryCount: fu.total})
		}
	}
	if len(scorable) == 0 {
		res.Warnings = append(res.Warnings, warnNoCandidates)
		return res
	}

	scan := 0.0
	if storedBytes(ctx, cl, identifier) > 0 {
		scan = 1
	}
	maxCount := maxTotal(scorable)
	for _, fu := range scorable {
		b := scoreParts(fu, maxCount, now)
		b.ScanVolumeScore = scan
		res.Recommendations = append(res.Recommendations, indexRecommendation{
			FieldName: fu.name, Score: fullScore(b), Action: "CREATE_INDEX",
			QueryCount: fu.total, FilterEqualityCount: fu.equality, ScoreBreakdown: b,
		})
	}
	sortRecommendations(res.Recommendations)

	// Cardinality of the top candidates, in one query.
	top := res.Recommendations[:min(indexCardinalityTopN, len(res.Recommendations))]
	clauses := make([]string, len(top))
	for i, r := range top {
		clauses[i] = fmt.Sprintf("count_distinct(%s) as card_%d", quoteField(r.FieldName), i)
	}
	if rows, err := probeQuery(ctx, e, cl, ident, "stats "+strings.Join(clauses, ", ")+" | limit 1"); err == nil && len(rows) > 0 {
		for i := range top {
			card := 0.0
			if v, err := strconv.ParseFloat(strings.TrimSpace(rows[0][fmt.Sprintf("card_%d", i)]), 64); err == nil && !math.IsNaN(v) {
				card = math.Max(0, math.Min(v/indexCardinalityCeiling, 1))
			}
			top[i].ScoreBreakdown.CardinalityScore = &card
		}
	} else if err != nil {
		res.Warnings = append(res.Warnings, "Cardinality check failed; scores exclude cardinality: "+toolkit.ErrorMessage(err))
	}
	for i := range res.Recommendations {
		r := &res.Recommendations[i]
		r.Score = round4(fullScore(r.ScoreBreakdown))
	}
	sortRecommendations(res.Recommendations)
	if custom := customAtFields(res.Recommendations); len(custom) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s begin(s) with @: write an extra @ in the index policy (e.g. @%s).", strings.Join(custom, ", "), custom[0]))
	}
	return res
}

func customAtFields(rs []indexRecommendation) []string {
	var out []string
	for _, r := range rs {
		if strings.HasPrefix(r.FieldName, "@") && !indexableGeneratedFields[r.FieldName] {
			out = append(out, r.FieldName)
		}
	}
	return out
}

// probeExistence runs "fields a, b | limit 1" over the last hour, 50 fields
// per query, concurrently. A field exists if the sampled row has it. When a
// probe itself fails, its fields are counted as existing (unverified) rather
// than reported as missing: awslabs turned a denied StartQuery into "No
// candidate fields found in log data".
func probeExistence(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, group string, cands []*fieldUsage) (exists map[string]bool, unverified int) {
	exists = map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < len(cands); i += indexProbeChunk {
		chunk := cands[i:min(i+indexProbeChunk, len(cands))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			names := make([]string, len(chunk))
			for j, fu := range chunk {
				names[j] = quoteField(fu.name)
			}
			rows, err := probeQuery(ctx, e, cl, group, "fields "+strings.Join(names, ", ")+" | limit 1")
			mu.Lock()
			defer mu.Unlock()
			for _, fu := range chunk {
				switch {
				case err != nil:
					exists[fu.name] = true
					unverified++
				case len(rows) > 0:
					if _, ok := rows[0][fu.name]; ok {
						exists[fu.name] = true
					}
				}
			}
		}()
	}
	wg.Wait()
	return exists, unverified
}

// storedBytes finds the log group's storedBytes (0 when unknown). awslabs
// read only the first DescribeLogGroups page of the name prefix, so a group
// with many prefix siblings looked empty; we page until the exact name, and
// ask by ARN for groups of linked accounts.
func storedBytes(ctx context.Context, cl *cloudwatchlogs.Client, identifier string) int64 {
	name := logGroupNameOf(identifier)
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)}
	if strings.HasPrefix(identifier, "arn:") {
		in = &cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{logGroupIdentifierOf(identifier)}, IncludeLinkedAccounts: aws.Bool(true)}
	}
	for range 20 {
		out, err := cl.DescribeLogGroups(ctx, in)
		if err != nil {
			return 0
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				return aws.ToInt64(g.StoredBytes)
			}
		}
		if out.NextToken == nil {
			return 0
		}
		in.NextToken = out.NextToken
	}
	return 0
}

// --- the account triage ---

type accountIndexPolicy struct {
	fields   []string
	prefixes []string // nil = every log group
}

func recommendForAccount(ctx context.Context, e *toolkit.Env, cl *cloudwatchlogs.Client, maxQueries int) *accountIndexRecommenderResult {
	now := e.Now()
	res := &accountIndexRecommenderResult{LogGroupResults: []*indexRecommenderResult{}, TimeRangeDays: indexHistoryDays, Warnings: []string{}}
	limit := maxQueries
	if limit == 0 {
		limit = indexAccountUnlimited
	}
	all, truncated, err := describeQueryHistory(ctx, cl, "", limit)
	if err != nil {
		res.Warnings = append(res.Warnings, "Error fetching query history: "+toolkit.ErrorMessage(err))
		return res
	}
	if maxQueries > 0 && truncated {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Query history was capped at %d queries. Results may not cover all activity. Use recommend_indexes_loggroup for specific log groups or increase max_queries for more complete results.", maxQueries))
	}
	recent := recentQueries(all, now)
	if len(recent) == 0 {
		res.Warnings = append(res.Warnings, warnNoHistoryAccount)
		return res
	}
	var order []string
	byGroup := map[string][]historicQuery{}
	for _, q := range recent {
		if q.logGroup == "" {
			continue
		}
		if _, ok := byGroup[q.logGroup]; !ok {
			order = append(order, q.logGroup)
		}
		byGroup[q.logGroup] = append(byGroup[q.logGroup], q)
	}

	var policies []accountIndexPolicy
	var token *string
	for range 100 {
		out, err := cl.DescribeAccountPolicies(ctx, &cloudwatchlogs.DescribeAccountPoliciesInput{PolicyType: types.PolicyTypeFieldIndexPolicy, NextToken: token})
		if err != nil {
			// awslabs ignores this failure silently; say so instead.
			res.Warnings = append(res.Warnings, "Could not fetch account-level index policies; already-indexed fields may be recommended: "+toolkit.ErrorMessage(err))
			break
		}
		for _, p := range out.AccountPolicies {
			fields, err := policyFields(aws.ToString(p.PolicyDocument))
			if err != nil {
				continue
			}
			policies = append(policies, accountIndexPolicy{fields: fields, prefixes: accountPolicyScope(aws.ToString(p.SelectionCriteria))})
		}
		if token = out.NextToken; token == nil {
			break
		}
	}

	for _, g := range order {
		qs := byGroup[g]
		res.TotalQueriesAnalyzed += len(qs)
		r := lightweightAnalysis(g, qs, now, indexedForGroup(policies, g))
		if len(r.Recommendations) > 0 || len(r.AlreadyIndexed) > 0 {
			res.LogGroupResults = append(res.LogGroupResults, r)
		}
	}
	res.TotalLogGroupsAnalyzed = len(byGroup)
	sort.SliceStable(res.LogGroupResults, func(i, j int) bool {
		return topScore(res.LogGroupResults[i]) > topScore(res.LogGroupResults[j])
	})
	return res
}

func topScore(r *indexRecommenderResult) float64 {
	if len(r.Recommendations) == 0 {
		return 0
	}
	return r.Recommendations[0].Score
}

// indexedForGroup returns the fields account policies index for group. A
// policy scoped by LogGroupNamePrefix applies only to matching groups
// (awslabs applied every account policy to every group).
func indexedForGroup(ps []accountIndexPolicy, group string) map[string]string {
	out := map[string]string{}
	for _, p := range ps {
		applies := p.prefixes == nil
		for _, pre := range p.prefixes {
			if strings.HasPrefix(group, pre) {
				applies = true
			}
		}
		if applies {
			for _, f := range p.fields {
				out[f] = "ACCOUNT"
			}
		}
	}
	return out
}

// lightweightAnalysis scores one group's fields from history alone.
func lightweightAnalysis(group string, qs []historicQuery, now time.Time, indexed map[string]string) *indexRecommenderResult {
	usage, unique := buildFieldUsage(qs)
	if len(usage) == 0 {
		return newIndexResult(group, len(qs), unique, warnOnlySystemLight)
	}
	res := newIndexResult(group, len(qs), unique)
	var cands []*fieldUsage
	for _, fu := range usage {
		if src, ok := indexed[fu.name]; ok {
			res.AlreadyIndexed = append(res.AlreadyIndexed, alreadyIndexedField{FieldName: fu.name, QueryCount: fu.total, Source: src})
		} else {
			cands = append(cands, fu)
		}
	}
	if len(cands) == 0 {
		res.Warnings = append(res.Warnings, warnAllIndexed)
		return res
	}
	maxCount := maxTotal(cands)
	for _, fu := range cands {
		b := scoreParts(fu, maxCount, now)
		res.Recommendations = append(res.Recommendations, indexRecommendation{
			FieldName: fu.name, Score: round4(lightScore(b)), Action: "CREATE_INDEX",
			QueryCount: fu.total, FilterEqualityCount: fu.equality, ScoreBreakdown: b,
		})
	}
	sortRecommendations(res.Recommendations)
	return res
}
