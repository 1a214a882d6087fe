package metrics

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// The metric widget: the console's "Source" JSON of a graph, which
// GetMetricWidgetImage renders as the PNG the console would show
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Metric-Widget-Structure.html).
// get_metric_image builds one from its arguments; get_metric_data and
// analyze_metric build one from the GetMetricData queries they ran, so
// their `chart` shows exactly the data they returned.

const (
	defaultChartWidth, defaultChartHeight = 600, 300
	// minChartSide keeps a chart legible; AWS's own bound is 1–2000.
	minChartSide, maxChartSide = 100, 2000
	// maxWidgetMetrics and maxWidgetBytes are AWS's limits on one widget.
	maxWidgetMetrics = 100
	maxWidgetBytes   = 100 * 1024
	// maxAnnotations bounds the threshold lines of one chart.
	maxAnnotations = 20
	// chartTargetDatapoints is about how many points a chart draws when
	// no period is given: a point or so per pixel of a default chart.
	chartTargetDatapoints = 500
)

// metricWidget is the widget definition, its members in the order the
// console exports them.
type metricWidget struct {
	Metrics     [][]any            `json:"metrics"`
	View        string             `json:"view"`
	Stacked     bool               `json:"stacked"`
	Region      string             `json:"region"`
	Stat        string             `json:"stat"`
	Period      int32              `json:"period"`
	Title       string             `json:"title,omitempty"`
	Width       int                `json:"width"`
	Height      int                `json:"height"`
	Start       string             `json:"start"`
	End         string             `json:"end"`
	Annotations *widgetAnnotations `json:"annotations,omitempty"`
}

type widgetAnnotations struct {
	Horizontal []widgetAnnotation `json:"horizontal"`
}

// widgetAnnotation is a horizontal line at Value, e.g. an alarm threshold.
type widgetAnnotation struct {
	Label string    `json:"label,omitempty"`
	Value jsonFloat `json:"value"`
	Color string    `json:"color,omitempty"`
}

// chartOptions are what a chart adds to the queries it draws.
type chartOptions struct {
	title         string
	width, height int
	annotations   []widgetAnnotation
}

// widgetTime is the console's absolute time format.
func widgetTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// buildWidget renders GetMetricData queries as a widget over [start, end):
// a MetricStat is the console's compact ["Namespace", "MetricName",
// "DimName", "DimValue", ..., {options}] entry, an expression (metric math,
// SEARCH, Metrics Insights) is [{"expression": ..., "id": ...}]. Options
// appear only where they differ from the widget's own stat and period; ids
// only when an expression may refer to them or they are not the default
// m1, m2, ...; ReturnData false hides an entry, as it does in the console.
func buildWidget(queries []types.MetricDataQuery, region string, start, end time.Time, period int32, o chartOptions) (*metricWidget, error) {
	if len(queries) == 0 {
		return nil, toolkit.Errorf("a chart needs at least one metric or expression")
	}
	if len(queries) > maxWidgetMetrics {
		return nil, toolkit.Errorf("a chart holds at most %d metrics and expressions; this request has %d", maxWidgetMetrics, len(queries))
	}
	w := &metricWidget{
		View: "timeSeries", Region: region, Stat: "Average", Period: period, Title: o.title,
		Width: o.width, Height: o.height, Start: widgetTime(start), End: widgetTime(end),
	}
	hasExpr := false
	for _, q := range queries {
		if q.MetricStat == nil {
			hasExpr = true
		}
	}
	for _, q := range queries {
		if ms := q.MetricStat; ms != nil {
			w.Stat = aws.ToString(ms.Stat)
			break
		}
	}
	for i, q := range queries {
		opts := map[string]any{}
		id := aws.ToString(q.Id)
		if hasExpr || (id != "" && id != fmt.Sprintf("m%d", i+1)) {
			opts["id"] = id
		}
		if l := aws.ToString(q.Label); l != "" {
			opts["label"] = l
		}
		if q.ReturnData != nil && !*q.ReturnData {
			opts["visible"] = false
		}
		var entry []any
		if ms := q.MetricStat; ms != nil && ms.Metric != nil {
			entry = []any{aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName)}
			for _, d := range ms.Metric.Dimensions {
				entry = append(entry, aws.ToString(d.Name), aws.ToString(d.Value))
			}
			if s := aws.ToString(ms.Stat); s != w.Stat {
				opts["stat"] = s
			}
			if p := aws.ToInt32(ms.Period); p != 0 && p != period {
				opts["period"] = p
			}
		} else {
			opts["expression"] = aws.ToString(q.Expression)
			if p := aws.ToInt32(q.Period); p != 0 && p != period {
				opts["period"] = p
			}
		}
		if len(opts) > 0 {
			entry = append(entry, opts)
		}
		w.Metrics = append(w.Metrics, entry)
	}
	if len(o.annotations) > 0 {
		w.Annotations = &widgetAnnotations{Horizontal: o.annotations}
	}
	return w, nil
}

// encodeWidget is the MetricWidget string, checked against AWS's size limit.
func encodeWidget(w any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" in a label or expression stays readable
	if err := enc.Encode(w); err != nil {
		return "", err
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if len(s) > maxWidgetBytes {
		return "", toolkit.Errorf("the chart definition is %d bytes; CloudWatch accepts at most %d (fewer metrics or shorter expressions)", len(s), maxWidgetBytes)
	}
	return s, nil
}

// renderedChart is a PNG CloudWatch drew.
type renderedChart struct {
	png []byte
}

// renderWidget calls GetMetricWidgetImage with the caller's client.
func renderWidget(ctx context.Context, cl *cloudwatch.Client, widget string) (*renderedChart, error) {
	out, err := cl.GetMetricWidgetImage(ctx, &cloudwatch.GetMetricWidgetImageInput{
		MetricWidget: aws.String(widget),
		// "png", not "image/png": the latter returns a bare image that is
		// not the API's response shape.
		OutputFormat: aws.String("png"),
	})
	if err != nil {
		return nil, err
	}
	if len(out.MetricWidgetImage) == 0 {
		return nil, toolkit.Errorf("CloudWatch returned an empty image")
	}
	return &renderedChart{png: out.MetricWidgetImage}, nil
}

// content is the chart as MCP image content.
func (c *renderedChart) content() mcp.ImageContent {
	return mcp.NewImageContent(base64.StdEncoding.EncodeToString(c.png), "image/png")
}

// chartPeriod is the period of a chart over [start, end) with no period
// given: the smallest of the console's usual periods that draws at most
// about chartTargetDatapoints points.
func chartPeriod(start, end time.Time) int32 {
	want := end.Sub(start).Seconds() / chartTargetDatapoints
	for _, p := range []int32{60, 300, 900, 3600, 21600, 86400} {
		if float64(p) >= want {
			return p
		}
	}
	return periodFor(start, end, chartTargetDatapoints)
}

// describeChart is the text line that says what a chart shows, for
// clients that display no images and for the agent itself.
func describeChart(w *metricWidget, size int) string {
	var series []string
	for _, e := range w.Metrics {
		if len(e) == 0 {
			continue
		}
		opts, _ := e[len(e)-1].(map[string]any)
		if v, ok := opts["visible"].(bool); ok && !v {
			continue
		}
		series = append(series, seriesName(e, opts))
	}
	shown := series
	if len(shown) > 3 {
		shown = append(shown[:3:3], fmt.Sprintf("%d more", len(series)-3))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Chart of %s (%s, %d s period) from %s to %s", strings.Join(shown, "; "), w.Stat, w.Period, w.Start, w.End)
	if w.Region != "" {
		fmt.Fprintf(&b, " in %s", w.Region)
	}
	if w.Annotations != nil {
		var ls []string
		for _, a := range w.Annotations.Horizontal {
			l := fmt.Sprintf("%g", float64(a.Value))
			if a.Label != "" {
				l = a.Label + " " + l
			}
			ls = append(ls, l)
		}
		fmt.Fprintf(&b, ", with lines at %s", strings.Join(ls, ", "))
	}
	fmt.Fprintf(&b, ": a %d×%d PNG of %d bytes.", w.Width, w.Height, size)
	return b.String()
}

// seriesName names one metrics entry for describeChart.
func seriesName(e []any, opts map[string]any) string {
	if l, _ := opts["label"].(string); l != "" {
		return l
	}
	if x, _ := opts["expression"].(string); x != "" {
		return x
	}
	var parts []string
	var dims []string
	for i, p := range e {
		s, ok := p.(string)
		if !ok {
			break
		}
		switch {
		case i < 2:
			parts = append(parts, s)
		case i%2 == 0:
			dims = append(dims, s)
		default:
			dims[len(dims)-1] += "=" + s
		}
	}
	name := strings.Join(parts, " ")
	if len(dims) > 0 {
		name += " " + strings.Join(dims, ",")
	}
	return name
}
