package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The metrics tools of awslabs cloudwatch-mcp-server 0.1.8: get_metric_data,
// get_metric_metadata, get_recommended_metric_alarms and analyze_metric,
// with the same names, parameters and result shapes. Deliberate fixes are
// listed in FIXES_metrics.md.

func init() { registerTools("metrics", metricsTools) }

func metricsTools(e *Env) []server.ServerTool {
	return []server.ServerTool{
		{Tool: mcp.NewTool("get_metric_data",
			mcp.WithDescription(getMetricDataDescription),
			mcp.WithRawInputSchema(json.RawMessage(getMetricDataInputSchema)),
			mcp.WithRawOutputSchema(json.RawMessage(getMetricDataOutputSchema)),
			mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
		), Handler: e.handleGetMetricData},
		{Tool: mcp.NewTool("get_metric_metadata",
			mcp.WithDescription(getMetricMetadataDescription),
			mcp.WithRawInputSchema(json.RawMessage(getMetricMetadataInputSchema)),
			mcp.WithRawOutputSchema(json.RawMessage(getMetricMetadataOutputSchema)),
			mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(false),
		), Handler: e.handleGetMetricMetadata},
		{Tool: mcp.NewTool("get_recommended_metric_alarms",
			mcp.WithDescription(getRecommendedAlarmsDescription),
			mcp.WithRawInputSchema(json.RawMessage(getRecommendedAlarmsInputSchema)),
			mcp.WithRawOutputSchema(json.RawMessage(getRecommendedAlarmsOutputSchema)),
			mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
		), Handler: e.handleGetRecommendedMetricAlarms},
		{Tool: mcp.NewTool("analyze_metric",
			mcp.WithDescription(analyzeMetricDescription),
			mcp.WithRawInputSchema(json.RawMessage(analyzeMetricInputSchema)),
			mcp.WithRawOutputSchema(json.RawMessage(wrappedObjectOutputSchema("analyze_metricOutput"))),
			mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
		), Handler: e.handleAnalyzeMetric},
	}
}

// --- shared argument helpers ---------------------------------------------

// metricDimension is awslabs' Dimension model: {name, value}, both required.
// JSON field matching is case-insensitive, so {Name, Value} works too.
type metricDimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func dimensionsArg(a Args, name string) ([]metricDimension, error) {
	var dims []metricDimension
	if err := a.Object(name, &dims); err != nil {
		return nil, Errorf("%s must be a list of {\"name\": ..., \"value\": ...} objects: %v", name, err)
	}
	return validDimensions(name, dims)
}

func validDimensions(field string, dims []metricDimension) ([]metricDimension, error) {
	for i, d := range dims {
		if strings.TrimSpace(d.Name) == "" {
			return nil, Errorf("%s[%d].name is required (e.g. {\"name\": \"InstanceId\", \"value\": \"i-0123\"})", field, i)
		}
	}
	if dims == nil {
		dims = []metricDimension{}
	}
	return dims, nil
}

func sdkDimensions(dims []metricDimension) []types.Dimension {
	out := make([]types.Dimension, 0, len(dims))
	for _, d := range dims {
		out = append(out, types.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
	}
	return out
}

// metricStatistics is the awslabs statistic enum of the simple paths.
var metricStatistics = []string{"AVG", "COUNT", "MAX", "MIN", "SUM", "Average", "Sum", "Maximum", "Minimum", "SampleCount"}

// metricTarget is the metric a metrics tool is about and where to read it.
type metricTarget struct {
	namespace, metric string
	dims              []metricDimension
	stat              string
	region, profile   string
}

// metricTargetArgs reads the parameters analyze_metric and
// get_recommended_metric_alarms share.
func metricTargetArgs(a Args) (metricTarget, error) {
	var t metricTarget
	var err error
	if t.namespace, err = a.RequiredStr("namespace"); err != nil {
		return t, err
	}
	if t.metric, err = a.RequiredStr("metric_name"); err != nil {
		return t, err
	}
	if t.dims, err = dimensionsArg(a, "dimensions"); err != nil {
		return t, err
	}
	if t.stat, err = statisticArg(a); err != nil {
		return t, err
	}
	if t.region, err = a.Str("region", ""); err != nil {
		return t, err
	}
	t.profile, err = a.Str("profile_name", "")
	return t, err
}

func statisticArg(a Args) (string, error) {
	s, err := a.Str("statistic", "AVG")
	if err != nil {
		return "", err
	}
	for _, v := range metricStatistics {
		if s == v {
			return s, nil
		}
	}
	return "", Errorf("statistic must be one of %s (got %q); percentiles such as p99 are available through the queries parameter of get_metric_data", strings.Join(metricStatistics, ", "), s)
}

// cloudWatchStat maps the tool's statistic to a GetMetricData Stat; others
// (p99, Average, ...) pass through, as in awslabs.
func cloudWatchStat(s string) string {
	switch s {
	case "AVG":
		return "Average"
	case "SUM":
		return "Sum"
	case "MAX":
		return "Maximum"
	case "MIN":
		return "Minimum"
	case "COUNT":
		return "SampleCount"
	}
	return s
}

var insightsFunctions = []string{"AVG", "COUNT", "MAX", "MIN", "SUM"}

// insightsFunction maps a statistic to a Metrics Insights function.
func insightsFunction(s string) (string, error) {
	var f string
	switch s {
	case "Average":
		f = "AVG"
	case "Sum":
		f = "SUM"
	case "Maximum":
		f = "MAX"
	case "Minimum":
		f = "MIN"
	case "SampleCount":
		f = "COUNT"
	default:
		f = strings.ToUpper(s)
	}
	for _, v := range insightsFunctions {
		if f == v {
			return f, nil
		}
	}
	return "", Errorf("Invalid statistic for Metrics Insights: %s. Must be one of AVG, COUNT, MAX, MIN, SUM", s)
}

// metricWindow resolves start_time/end_time (end defaults to now, start to
// three hours before end, as the console does) and the period that yields
// about target datapoints: max(60, window/target) rounded up to a minute.
func (e *Env) metricWindow(a Args, target int) (start, end time.Time, period int32, err error) {
	if target <= 0 {
		return start, end, 0, Errorf("target_datapoints must be a positive integer (got %d)", target)
	}
	end, hasEnd, err := a.Time("end_time")
	if err != nil {
		return start, end, 0, err
	}
	if !hasEnd {
		end = e.Now().UTC()
	}
	start, hasStart, err := a.Time("start_time")
	if err != nil {
		return start, end, 0, err
	}
	if !hasStart {
		start = end.Add(-3 * time.Hour)
	}
	if !start.Before(end) {
		return start, end, 0, Errorf("start_time (%s) must be before end_time (%s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return start, end, periodFor(start, end, target), nil
}

func periodFor(start, end time.Time, target int) int32 {
	p := int64(end.Sub(start).Seconds()) / int64(target)
	if p < 60 {
		p = 60
	}
	if p%60 != 0 {
		p += 60 - p%60
	}
	if p > math.MaxInt32 {
		p = math.MaxInt32 / 60 * 60
	}
	return int32(p)
}

// pyStrList renders names as a Python list repr, as awslabs' messages do.
func pyStrList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// --- result shapes --------------------------------------------------------

// jsonFloat encodes non-finite values as null, as pydantic does, instead of
// failing the whole result.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

type metricDataPoint struct {
	Timestamp time.Time `json:"timestamp"`
	Value     jsonFloat `json:"value"`
}

type metricDataResult struct {
	ID         string            `json:"id"`
	Label      string            `json:"label"`
	StatusCode string            `json:"statusCode"`
	Datapoints []metricDataPoint `json:"datapoints"`
	Messages   []map[string]any  `json:"messages"`
}

type getMetricDataResponse struct {
	MetricDataResults []metricDataResult `json:"metricDataResults"`
	Messages          []map[string]any   `json:"messages"`
}

func messageDicts(ms []types.MessageData) []map[string]any {
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		d := map[string]any{}
		if m.Code != nil {
			d["Code"] = *m.Code
		}
		if m.Value != nil {
			d["Value"] = *m.Value
		}
		out = append(out, d)
	}
	return out
}

// metricsWrapped returns v the way FastMCP returns Dict/Optional results:
// structuredContent {"result": v} and the bare JSON as text; nil gives an
// empty content list and {"result": null}.
func metricsWrapped(v any) *mcp.CallToolResult {
	if v == nil {
		return &mcp.CallToolResult{Content: []mcp.Content{}, StructuredContent: map[string]any{"result": nil}}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return EncodingFailed(err)
	}
	return mcp.NewToolResultStructured(map[string]any{"result": json.RawMessage(b)}, string(b))
}

// maxMetricPages bounds NextToken paging; at 100,800 datapoints a page it
// is far beyond any real response, and it stops a service that never
// stops returning tokens.
const maxMetricPages = 500

// fetchMetricData runs GetMetricData with NextToken paging on every path
// (awslabs pages only the queries path) and merges the pages: results with
// the same Id and Label are concatenated, keeping the latest StatusCode and
// every message. Merging on Id alone, as awslabs does, would fuse the
// distinct series one expression returns (Metrics Insights GROUP BY,
// SEARCH), which share an Id. Datapoints come back sorted ascending.
func fetchMetricData(ctx context.Context, cl *cloudwatch.Client, queries []types.MetricDataQuery, start, end time.Time) (*getMetricDataResponse, error) {
	in := &cloudwatch.GetMetricDataInput{MetricDataQueries: queries, StartTime: aws.Time(start), EndTime: aws.Time(end)}
	type merged struct {
		id, label, status string
		ts                []time.Time
		vals              []float64
		msgs              []map[string]any
	}
	var order []*merged
	byKey := map[string]*merged{}
	resp := &getMetricDataResponse{MetricDataResults: []metricDataResult{}, Messages: []map[string]any{}}
	seenTokens := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxMetricPages {
			return nil, Errorf("GetMetricData returned more than %d pages; narrow the time range or raise the period", maxMetricPages)
		}
		out, err := cl.GetMetricData(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range out.MetricDataResults {
			id, label := aws.ToString(r.Id), aws.ToString(r.Label)
			k := id + "\x00" + label
			m, ok := byKey[k]
			if !ok {
				m = &merged{id: id, label: label}
				byKey[k] = m
				order = append(order, m)
			}
			n := min(len(r.Timestamps), len(r.Values))
			m.ts = append(m.ts, r.Timestamps[:n]...)
			m.vals = append(m.vals, r.Values[:n]...)
			if r.StatusCode != "" {
				m.status = string(r.StatusCode)
			}
			m.msgs = append(m.msgs, messageDicts(r.Messages)...)
		}
		resp.Messages = append(resp.Messages, messageDicts(out.Messages)...)
		tok := aws.ToString(out.NextToken)
		if tok == "" {
			break
		}
		if seenTokens[tok] {
			return nil, Errorf("GetMetricData repeated a NextToken; the result would never complete")
		}
		seenTokens[tok] = true
		in.NextToken = aws.String(tok)
	}
	for _, m := range order {
		r := metricDataResult{ID: m.id, Label: m.label, StatusCode: m.status, Datapoints: make([]metricDataPoint, len(m.ts)), Messages: m.msgs}
		if r.StatusCode == "" {
			r.StatusCode = "Complete"
		}
		if r.Messages == nil {
			r.Messages = []map[string]any{}
		}
		for i := range m.ts {
			r.Datapoints[i] = metricDataPoint{Timestamp: m.ts[i].UTC(), Value: jsonFloat(m.vals[i])}
		}
		sort.SliceStable(r.Datapoints, func(i, j int) bool { return r.Datapoints[i].Timestamp.Before(r.Datapoints[j].Timestamp) })
		resp.MetricDataResults = append(resp.MetricDataResults, r)
	}
	return resp, nil
}

// --- get_metric_data ------------------------------------------------------

// metricStatInput and metricDataQueryInput are awslabs' MetricStatInput and
// MetricDataQueryInput (the `queries` parameter).
type metricStatInput struct {
	Namespace  string            `json:"namespace"`
	MetricName string            `json:"metric_name"`
	Dimensions []metricDimension `json:"dimensions"`
	Statistic  string            `json:"statistic"`
	Period     *int              `json:"period"`
}

type metricDataQueryInput struct {
	ID         string           `json:"id"`
	MetricStat *metricStatInput `json:"metric_stat"`
	Expression *string          `json:"expression"`
	Label      *string          `json:"label"`
	ReturnData *bool            `json:"return_data"`
	Period     *int             `json:"period"`
}

func (e *Env) handleGetMetricData(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	resp, err := e.getMetricData(ctx, ArgsOf(req))
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	return JSONResult(resp), nil
}

func (e *Env) getMetricData(ctx context.Context, a Args) (*getMetricDataResponse, error) {
	target, err := a.Int("target_datapoints", 60)
	if err != nil {
		return nil, err
	}
	start, end, period, err := e.metricWindow(a, target)
	if err != nil {
		return nil, err
	}
	var queries []metricDataQueryInput
	if err := a.Object("queries", &queries); err != nil {
		return nil, err
	}
	var mdq []types.MetricDataQuery
	if len(queries) > 0 {
		if mdq, err = buildQueriesBatch(queries, period); err != nil {
			return nil, err
		}
	} else {
		if mdq, err = buildSingleQuery(a, period); err != nil {
			return nil, err
		}
	}
	region, _ := a.Str("region", "")
	profile, _ := a.Str("profile_name", "")
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return nil, err
	}
	return fetchMetricData(ctx, cl, mdq, start, end)
}

// buildQueriesBatch converts the `queries` parameter. Period precedence:
// query.period, then metric_stat.period, then the computed default. A
// MetricStat carries its Period inside; an expression carries it on top.
func buildQueriesBatch(queries []metricDataQueryInput, defPeriod int32) ([]types.MetricDataQuery, error) {
	if len(queries) > 500 {
		return nil, Errorf("queries holds %d entries; GetMetricData accepts at most 500", len(queries))
	}
	out := make([]types.MetricDataQuery, 0, len(queries))
	for i, q := range queries {
		where := fmt.Sprintf("queries[%d]", i)
		if strings.TrimSpace(q.ID) == "" {
			return nil, Errorf("%s.id is required (a short name starting with a lowercase letter, e.g. \"m1\")", where)
		}
		where += fmt.Sprintf(" (id %q)", q.ID)
		hasExpr := q.Expression != nil && strings.TrimSpace(*q.Expression) != ""
		if q.MetricStat == nil && !hasExpr {
			return nil, Errorf("%s: Either metric_stat or expression must be provided", where)
		}
		if q.MetricStat != nil && hasExpr {
			return nil, Errorf("%s: Cannot specify both metric_stat and expression", where)
		}
		period := defPeriod
		if q.MetricStat != nil && q.MetricStat.Period != nil {
			period = int32(*q.MetricStat.Period)
		}
		if q.Period != nil {
			period = int32(*q.Period)
		}
		if period <= 0 {
			return nil, Errorf("%s: period must be a positive number of seconds (1, 5, 10, 30 or a multiple of 60)", where)
		}
		d := types.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(q.ReturnData == nil || *q.ReturnData)}
		if q.Label != nil {
			d.Label = aws.String(*q.Label)
		}
		if ms := q.MetricStat; ms != nil {
			if ms.Namespace == "" || ms.MetricName == "" || ms.Statistic == "" {
				return nil, Errorf("%s: metric_stat needs namespace, metric_name and statistic (e.g. \"Average\" or \"p99\")", where)
			}
			dims, err := validDimensions(where+".metric_stat.dimensions", ms.Dimensions)
			if err != nil {
				return nil, err
			}
			d.MetricStat = &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(ms.Namespace), MetricName: aws.String(ms.MetricName), Dimensions: sdkDimensions(dims)},
				Period: aws.Int32(period),
				Stat:   aws.String(cloudWatchStat(ms.Statistic)),
			}
		} else {
			d.Expression = aws.String(*q.Expression)
			d.Period = aws.Int32(period)
		}
		out = append(out, d)
	}
	return out, nil
}

// buildSingleQuery builds the Metrics Insights query when any of its
// parameters is set, else the standard MetricStat query.
func buildSingleQuery(a Args, period int32) ([]types.MetricDataQuery, error) {
	ns, err := a.Str("namespace", "")
	if err != nil {
		return nil, err
	}
	metric, err := a.Str("metric_name", "")
	if err != nil {
		return nil, err
	}
	if ns == "" || metric == "" {
		return nil, Errorf("namespace and metric_name are required when queries parameter is not provided")
	}
	dims, err := dimensionsArg(a, "dimensions")
	if err != nil {
		return nil, err
	}
	stat, err := statisticArg(a)
	if err != nil {
		return nil, err
	}
	groupBy, err := a.Str("group_by_dimension", "")
	if err != nil {
		return nil, err
	}
	schemaKeys, err := a.StrList("schema_dimension_keys")
	if err != nil {
		return nil, err
	}
	sortOrder, err := a.Str("sort_order", "")
	if err != nil {
		return nil, err
	}
	orderBy, err := a.Str("order_by_statistic", "")
	if err != nil {
		return nil, err
	}
	if !(groupBy != "" || len(schemaKeys) > 0 || a.Has("limit") || sortOrder != "" || orderBy != "") {
		return []types.MetricDataQuery{{
			Id: aws.String("m1"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: sdkDimensions(dims)},
				Period: aws.Int32(period),
				Stat:   aws.String(cloudWatchStat(stat)),
			},
			ReturnData: aws.Bool(true),
		}}, nil
	}
	limit, err := a.Int("limit", 0)
	if err != nil {
		return nil, err
	}
	q, err := buildInsightsQuery(insightsParams{
		namespace: ns, metric: metric, dims: dims, statistic: stat, groupBy: groupBy,
		schemaKeys: schemaKeys, limit: limit, sortOrder: sortOrder, orderBy: orderBy,
	})
	if err != nil {
		return nil, err
	}
	return []types.MetricDataQuery{{Id: aws.String("m1"), Expression: aws.String(q), Period: aws.Int32(period), ReturnData: aws.Bool(true)}}, nil
}

type insightsParams struct {
	namespace, metric string
	dims              []metricDimension
	statistic         string
	groupBy           string
	schemaKeys        []string
	limit             int
	sortOrder         string
	orderBy           string
}

// buildInsightsQuery renders awslabs' Metrics Insights query, with every
// identifier and label value escaped (awslabs interpolates them raw, so a
// quote in a name breaks the query or changes its meaning).
func buildInsightsQuery(p insightsParams) (string, error) {
	if p.groupBy != "" && !containsStr(p.schemaKeys, p.groupBy) {
		return "", Errorf("group_by_dimension '%s' must be included in schema_dimension_keys: %s", p.groupBy, pyStrList(p.schemaKeys))
	}
	sortOrder := strings.ToUpper(p.sortOrder)
	if sortOrder != "" && sortOrder != "ASC" && sortOrder != "DESC" {
		return "", Errorf("sort_order must be ASC or DESC (got %q)", p.sortOrder)
	}
	orderBy := strings.ToUpper(p.orderBy)
	if orderBy != "" && !containsStr(insightsFunctions, orderBy) {
		return "", Errorf("order_by_statistic must be one of AVG, COUNT, MAX, MIN, SUM (got %q)", p.orderBy)
	}
	if sortOrder != "" && orderBy == "" {
		return "", Errorf("sort_order requires order_by_statistic to be set (one of AVG, COUNT, MAX, MIN, SUM)")
	}
	if p.limit < 0 || p.limit > 500 {
		return "", Errorf("limit must be between 1 and 500 (Metrics Insights returns at most 500 time series)")
	}
	fn, err := insightsFunction(p.statistic)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s(%s) FROM SCHEMA(%s", fn, insightsIdent(p.metric), insightsIdent(p.namespace))
	for _, k := range p.schemaKeys {
		b.WriteString(", " + insightsIdent(k))
	}
	b.WriteString(")")
	for i, d := range p.dims {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(insightsIdent(d.Name) + "=" + insightsString(d.Value))
	}
	if p.groupBy != "" {
		b.WriteString(" GROUP BY " + insightsIdent(p.groupBy))
	}
	if orderBy != "" {
		b.WriteString(" ORDER BY " + orderBy + "()")
		if sortOrder != "" {
			b.WriteString(" " + sortOrder)
		}
	}
	if p.limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", p.limit)
	}
	return b.String(), nil
}

// insightsEscaper backslash-escapes what would end or corrupt a quoted
// Metrics Insights token. CloudWatch documents that a quotation mark inside
// a quoted name is escaped with a backslash; the backslash itself must then
// be escaped too.
var insightsEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`)

// insightsIdent quotes a namespace, metric name or label key. Always
// quoting also covers reserved words, dots, slashes and spaces.
func insightsIdent(s string) string { return `"` + insightsEscaper.Replace(s) + `"` }

// insightsString quotes a label value.
func insightsString(s string) string { return `'` + insightsEscaper.Replace(s) + `'` }

func containsStr(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// --- get_metric_metadata --------------------------------------------------

// metricMetadataResult is awslabs' MetricMetadata.
type metricMetadataResult struct {
	Description           string `json:"description"`
	RecommendedStatistics string `json:"recommendedStatistics"`
	Unit                  string `json:"unit"`
}

func (e *Env) handleGetMetricMetadata(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	ns, err := a.RequiredStr("namespace")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	metric, err := a.RequiredStr("metric_name")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	md, ok := e.Catalog.Lookup(ns, metric)
	if !ok || md == nil {
		return metricsWrapped(nil), nil
	}
	return metricsWrapped(metricMetadataResult{Description: md.Description, RecommendedStatistics: md.RecommendedStatistics, Unit: md.UnitInfo}), nil
}
