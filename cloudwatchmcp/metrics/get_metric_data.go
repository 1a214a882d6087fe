package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "metrics", Tool: getMetricDataTool, Handler: handleGetMetricData, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{
			{toolkit.TrimOldest("metricDataResults", "*", "datapoints")},
			{toolkit.TrimEnd("metricDataResults")},
		},
		Hint: toolkit.Hint("The oldest datapoints (or the last series) were dropped. Narrow the time range (start_time/end_time), lower target_datapoints, or return fewer series (limit) to get the rest."),
	}})
}

var getMetricDataTool = mcp.NewTool("get_metric_data",
	mcp.WithDescription(getMetricDataDescription),
	mcp.WithRawInputSchema(json.RawMessage(getMetricDataInputSchema)),
	mcp.WithRawOutputSchema(json.RawMessage(getMetricDataOutputSchema)),
	mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
)

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

func handleGetMetricData(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	chart, err := a.Bool("chart", false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	mr, err := getMetricDataRequest(e, a)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.CloudWatchClient(ctx, mr.region, mr.profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	resp, err := fetchMetricData(ctx, cl, mr.queries, mr.start, mr.end)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	res := toolkit.JSONResult(resp)
	if chart {
		addChart(ctx, cl, res, mr, chartOptions{width: defaultChartWidth, height: defaultChartHeight})
	}
	return res, nil
}

// metricRequest is one GetMetricData request of a tool: what it asks, and
// what its chart draws.
type metricRequest struct {
	queries         []types.MetricDataQuery
	start, end      time.Time
	period          int32
	region, profile string
}

// getMetricDataRequest reads get_metric_data's arguments.
func getMetricDataRequest(e *toolkit.Env, a toolkit.Args) (*metricRequest, error) {
	target, err := a.Int("target_datapoints", 60)
	if err != nil {
		return nil, err
	}
	mr := &metricRequest{}
	if mr.start, mr.end, mr.period, err = metricWindow(e, a, target); err != nil {
		return nil, err
	}
	if mr.queries, err = metricQueriesArgs(a, mr.period); err != nil {
		return nil, err
	}
	if mr.region, err = a.Str("region", ""); err != nil {
		return nil, err
	}
	mr.profile, err = a.Str("profile_name", "")
	return mr, err
}

// metricQueriesArgs builds the GetMetricData queries from the `queries`
// parameter or, without it, from the single-metric parameters.
func metricQueriesArgs(a toolkit.Args, period int32) ([]types.MetricDataQuery, error) {
	var queries []metricDataQueryInput
	if err := a.Object("queries", &queries); err != nil {
		return nil, err
	}
	if len(queries) > 0 {
		return buildQueriesBatch(queries, period)
	}
	return buildSingleQuery(a, period)
}

// buildQueriesBatch converts the `queries` parameter. Period precedence:
// query.period, then metric_stat.period, then the computed default. A
// MetricStat carries its Period inside; an expression carries it on top.
func buildQueriesBatch(queries []metricDataQueryInput, defPeriod int32) ([]types.MetricDataQuery, error) {
	if len(queries) > 500 {
		return nil, toolkit.Errorf("queries holds %d entries; GetMetricData accepts at most 500", len(queries))
	}
	out := make([]types.MetricDataQuery, 0, len(queries))
	for i, q := range queries {
		where := fmt.Sprintf("queries[%d]", i)
		if strings.TrimSpace(q.ID) == "" {
			return nil, toolkit.Errorf("%s.id is required (a short name starting with a lowercase letter, e.g. \"m1\")", where)
		}
		where += fmt.Sprintf(" (id %q)", q.ID)
		hasExpr := q.Expression != nil && strings.TrimSpace(*q.Expression) != ""
		if q.MetricStat == nil && !hasExpr {
			return nil, toolkit.Errorf("%s: Either metric_stat or expression must be provided", where)
		}
		if q.MetricStat != nil && hasExpr {
			return nil, toolkit.Errorf("%s: Cannot specify both metric_stat and expression", where)
		}
		period := defPeriod
		if q.MetricStat != nil && q.MetricStat.Period != nil {
			period = int32(*q.MetricStat.Period)
		}
		if q.Period != nil {
			period = int32(*q.Period)
		}
		if period <= 0 {
			return nil, toolkit.Errorf("%s: period must be a positive number of seconds (1, 5, 10, 30 or a multiple of 60)", where)
		}
		d := types.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(q.ReturnData == nil || *q.ReturnData)}
		if q.Label != nil {
			d.Label = aws.String(*q.Label)
		}
		if ms := q.MetricStat; ms != nil {
			if ms.Namespace == "" || ms.MetricName == "" || ms.Statistic == "" {
				return nil, toolkit.Errorf("%s: metric_stat needs namespace, metric_name and statistic (e.g. \"Average\" or \"p99\")", where)
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
func buildSingleQuery(a toolkit.Args, period int32) ([]types.MetricDataQuery, error) {
	ns, err := a.Str("namespace", "")
	if err != nil {
		return nil, err
	}
	metric, err := a.Str("metric_name", "")
	if err != nil {
		return nil, err
	}
	if ns == "" || metric == "" {
		return nil, toolkit.Errorf("namespace and metric_name are required when queries parameter is not provided")
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
		return "", toolkit.Errorf("group_by_dimension '%s' must be included in schema_dimension_keys: %s", p.groupBy, pyStrList(p.schemaKeys))
	}
	sortOrder := strings.ToUpper(p.sortOrder)
	if sortOrder != "" && sortOrder != "ASC" && sortOrder != "DESC" {
		return "", toolkit.Errorf("sort_order must be ASC or DESC (got %q)", p.sortOrder)
	}
	orderBy := strings.ToUpper(p.orderBy)
	if orderBy != "" && !containsStr(insightsFunctions, orderBy) {
		return "", toolkit.Errorf("order_by_statistic must be one of AVG, COUNT, MAX, MIN, SUM (got %q)", p.orderBy)
	}
	if sortOrder != "" && orderBy == "" {
		return "", toolkit.Errorf("sort_order requires order_by_statistic to be set (one of AVG, COUNT, MAX, MIN, SUM)")
	}
	if p.limit < 0 || p.limit > 500 {
		return "", toolkit.Errorf("limit must be between 1 and 500 (Metrics Insights returns at most 500 time series)")
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
