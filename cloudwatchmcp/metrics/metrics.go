// Package metrics is the CloudWatch Metrics tool group ("metrics"):
// get_metric_data, get_metric_metadata, get_recommended_metric_alarms and
// analyze_metric, with the names, parameters and result shapes of awslabs
// cloudwatch-mcp-server 0.1.8 (PARITY.md lists the deliberate fixes).
//
// Each tool is one file named after it, which registers the tool with
// toolkit from its init func. metrics.go holds the argument helpers and
// result shapes they share, schemas.go their schemas, metric_analysis.go
// the analysis behind analyze_metric and the anomaly alarm recommendation.
package metrics

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// --- shared argument helpers ---------------------------------------------

// metricDimension is awslabs' Dimension model: {name, value}, both required.
// JSON field matching is case-insensitive, so {Name, Value} works too.
type metricDimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func dimensionsArg(a toolkit.Args, name string) ([]metricDimension, error) {
	var dims []metricDimension
	if err := a.Object(name, &dims); err != nil {
		return nil, toolkit.Errorf("%s must be a list of {\"name\": ..., \"value\": ...} objects: %v", name, err)
	}
	return validDimensions(name, dims)
}

func validDimensions(field string, dims []metricDimension) ([]metricDimension, error) {
	for i, d := range dims {
		if strings.TrimSpace(d.Name) == "" {
			return nil, toolkit.Errorf("%s[%d].name is required (e.g. {\"name\": \"InstanceId\", \"value\": \"i-0123\"})", field, i)
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
func metricTargetArgs(a toolkit.Args) (metricTarget, error) {
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

func statisticArg(a toolkit.Args) (string, error) {
	s, err := a.Str("statistic", "AVG")
	if err != nil {
		return "", err
	}
	for _, v := range metricStatistics {
		if s == v {
			return s, nil
		}
	}
	return "", toolkit.Errorf("statistic must be one of %s (got %q); percentiles such as p99 are available through the queries parameter of get_metric_data", strings.Join(metricStatistics, ", "), s)
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
	return "", toolkit.Errorf("Invalid statistic for Metrics Insights: %s. Must be one of AVG, COUNT, MAX, MIN, SUM", s)
}

// metricWindow resolves start_time/end_time (end defaults to now, start to
// three hours before end, as the console does) and the period that yields
// about target datapoints: max(60, window/target) rounded up to a minute.
func metricWindow(e *toolkit.Env, a toolkit.Args, target int) (start, end time.Time, period int32, err error) {
	if target <= 0 {
		return start, end, 0, toolkit.Errorf("target_datapoints must be a positive integer (got %d)", target)
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
		return start, end, 0, toolkit.Errorf("start_time (%s) must be before end_time (%s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
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
		return toolkit.EncodingFailed(err)
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
			return nil, toolkit.Errorf("GetMetricData returned more than %d pages; narrow the time range or raise the period", maxMetricPages)
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
			return nil, toolkit.Errorf("GetMetricData repeated a NextToken; the result would never complete")
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
