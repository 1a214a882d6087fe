package metrics

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	// The shape has nothing to trim: it tells the cap where the `truncated`
	// note goes when it drops the chart.
	toolkit.Register(toolkit.Tool{Group: "metrics", Tool: analyzeMetricTool, Handler: handleAnalyzeMetric,
		Result: &toolkit.ResultShape{Root: "result", Hint: toolkit.Hint("")}})
}

var analyzeMetricTool = mcp.NewTool("analyze_metric",
	mcp.WithDescription(analyzeMetricDescription),
	mcp.WithRawInputSchema(json.RawMessage(analyzeMetricInputSchema)),
	mcp.WithRawOutputSchema(json.RawMessage(wrappedObjectOutputSchema("analyze_metricOutput"))),
	mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
)

// analysisWindowMinutes is analyze_metric's fixed look-back: two weeks at
// one-minute resolution (20,160 points, within one GetMetricData page).
const analysisWindowMinutes = 20160

type metricTimeRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type metricInfo struct {
	Namespace             string            `json:"namespace"`
	MetricName            string            `json:"metric_name"`
	Statistic             string            `json:"statistic"`
	Dimensions            []metricDimension `json:"dimensions"`
	AnalysisPeriodMinutes int               `json:"analysis_period_minutes"`
	TimeRange             metricTimeRange   `json:"time_range"`
}

// analyzeMetricResult is awslabs' analyze_metric dict, in its key order.
// Only message and metric_info are present when nothing could be analyzed.
type analyzeMetricResult struct {
	DataPointsFound    *int                     `json:"data_points_found,omitempty"`
	SeasonalitySeconds *int                     `json:"seasonality_seconds,omitempty"`
	Trend              string                   `json:"trend,omitempty"`
	Statistics         *metricStatisticsSummary `json:"statistics,omitempty"`
	DataQuality        *metricDataQuality       `json:"data_quality,omitempty"`
	Message            string                   `json:"message"`
	MetricInfo         metricInfo               `json:"metric_info"`
}

// pyISOTime formats like Python's aware datetime.isoformat(): microseconds
// only when non-zero, and +00:00 rather than Z.
func pyISOTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

func handleAnalyzeMetric(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	t, err := metricTargetArgs(a)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	chart, err := a.Bool("chart", false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	ns, metric, dims, stat, region, profile := t.namespace, t.metric, t.dims, t.stat, t.region, t.profile
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	mr := analysisRequest(e, ns, metric, dims, stat)
	out, _, err := analyzeMetric(ctx, cl, mr, ns, metric, dims, stat)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	res := metricsWrapped(out)
	if chart {
		// The analyzed window, drawn at a period a chart can show.
		q := *mr.queries[0].MetricStat
		mr.period = chartPeriod(mr.start, mr.end)
		q.Period = aws.Int32(mr.period)
		mr.queries[0].MetricStat = &q
		addChart(ctx, cl, res, mr, chartOptions{width: defaultChartWidth, height: defaultChartHeight})
	}
	return res, nil
}

// analysisRequest is the query behind analyze_metric: the last two weeks
// at one-minute resolution with the caller's statistic.
func analysisRequest(e *toolkit.Env, ns, metric string, dims []metricDimension, statistic string) *metricRequest {
	end := e.Now().UTC()
	start := end.Add(-analysisWindowMinutes * time.Minute)
	period := periodFor(start, end, analysisWindowMinutes)
	return &metricRequest{start: start, end: end, period: period, queries: []types.MetricDataQuery{{
		Id: aws.String("m1"),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: sdkDimensions(dims)},
			Period: aws.Int32(period),
			Stat:   aws.String(cloudWatchStat(statistic)),
		},
		ReturnData: aws.Bool(true),
	}}}
}

// analyzeMetric fetches mr (analysisRequest) with the caller's client and
// analyzes the first series.
func analyzeMetric(ctx context.Context, cl *cloudwatch.Client, mr *metricRequest, ns, metric string, dims []metricDimension, statistic string) (*analyzeMetricResult, metricAnalysis, error) {
	start, end := mr.start, mr.end
	resp, err := fetchMetricData(ctx, cl, mr.queries, start, end)
	if err != nil {
		return nil, metricAnalysis{}, err
	}
	var ts []int64
	var vals []float64
	if len(resp.MetricDataResults) > 0 {
		for _, p := range resp.MetricDataResults[0].Datapoints {
			ts = append(ts, p.Timestamp.UnixMilli())
			vals = append(vals, float64(p.Value))
		}
	}
	an := analyzeSeries(ts, vals)
	out := &analyzeMetricResult{
		Message: an.Message,
		MetricInfo: metricInfo{
			Namespace: ns, MetricName: metric, Statistic: statistic, Dimensions: dims,
			AnalysisPeriodMinutes: analysisWindowMinutes,
			TimeRange:             metricTimeRange{Start: pyISOTime(start), End: pyISOTime(end)},
		},
	}
	if an.Analyzed {
		found, season := an.DataPointsFound, int(an.Seasonality)
		stats, quality := an.Statistics, an.DataQuality
		out.DataPointsFound, out.SeasonalitySeconds, out.Trend = &found, &season, an.Trend
		out.Statistics, out.DataQuality = &stats, &quality
	}
	return out, an, nil
}
