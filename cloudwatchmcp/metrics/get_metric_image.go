package metrics

import (
	"context"
	"encoding/json"
	"math"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	// The shape has nothing to trim: it gives the result the `truncated`
	// note the cap adds when it drops the image.
	toolkit.Register(toolkit.Tool{Group: "metrics", Tool: getMetricImageTool, Handler: handleGetMetricImage,
		Result: &toolkit.ResultShape{Hint: toolkit.Hint("")}})
}

var getMetricImageTool = mcp.NewTool("get_metric_image",
	mcp.WithDescription(getMetricImageDescription),
	mcp.WithRawInputSchema(json.RawMessage(getMetricImageInputSchema)),
	mcp.WithRawOutputSchema(json.RawMessage(getMetricImageOutputSchema)),
	mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
)

// metricImage is get_metric_image's structured content.
type metricImage struct {
	Description string         `json:"description"`
	Widget      any            `json:"widget"`
	Image       metricImageRef `json:"image"`
}

type metricImageRef struct {
	MIMEType string `json:"mimeType"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Bytes    int    `json:"bytes"`
}

func handleGetMetricImage(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	res, err := getMetricImage(ctx, e, toolkit.ArgsOf(req))
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	return res, nil
}

func getMetricImage(ctx context.Context, e *toolkit.Env, a toolkit.Args) (*mcp.CallToolResult, error) {
	o, err := chartOptionsArgs(a)
	if err != nil {
		return nil, err
	}
	region, err := a.Str("region", "")
	if err != nil {
		return nil, err
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return nil, err
	}
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return nil, err
	}
	var widget any
	var desc *metricWidget
	var src string
	if a.Has("widget") {
		var m map[string]any
		if m, desc, src, err = givenWidget(a, o); err != nil {
			return nil, err
		}
		widget = m
	} else {
		mr, err := imageRequest(e, a)
		if err != nil {
			return nil, err
		}
		if desc, err = buildWidget(mr.queries, cl.Options().Region, mr.start, mr.end, mr.period, o); err != nil {
			return nil, err
		}
		if src, err = encodeWidget(desc); err != nil {
			return nil, err
		}
		widget = desc
	}
	img, err := renderWidget(ctx, cl, src)
	if err != nil {
		return nil, err
	}
	text := describeChart(desc, len(img.png))
	out := metricImage{Description: text, Widget: widget, Image: metricImageRef{MIMEType: "image/png", Width: desc.Width, Height: desc.Height, Bytes: len(img.png)}}
	b, err := json.Marshal(out)
	if err != nil {
		return toolkit.EncodingFailed(err), nil
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(text), img.content()},
		StructuredContent: json.RawMessage(b),
	}, nil
}

// imageRequest reads what to draw: one expression, the `queries`, or one
// metric (or Metrics Insights query) as get_metric_data reads it.
func imageRequest(e *toolkit.Env, a toolkit.Args) (*metricRequest, error) {
	mr := &metricRequest{}
	var err error
	if mr.start, mr.end, _, err = metricWindow(e, a, chartTargetDatapoints); err != nil {
		return nil, err
	}
	mr.period = chartPeriod(mr.start, mr.end)
	if a.Has("period") {
		p, err := a.Int("period", 0)
		if err != nil {
			return nil, err
		}
		if !validPeriod(p) {
			return nil, toolkit.Errorf("period must be 1, 5, 10, 30 or a multiple of 60 seconds (got %d)", p)
		}
		mr.period = int32(p)
	}
	label, err := a.Str("label", "")
	if err != nil {
		return nil, err
	}
	expr, err := a.Str("expression", "")
	if err != nil {
		return nil, err
	}
	if expr != "" {
		if a.Has("queries") || a.Has("namespace") || a.Has("metric_name") {
			return nil, toolkit.Errorf("give either expression, or queries, or namespace and metric_name, not several")
		}
		q := types.MetricDataQuery{Id: aws.String("e1"), Expression: aws.String(expr), Period: aws.Int32(mr.period), ReturnData: aws.Bool(true)}
		if label != "" {
			q.Label = aws.String(label)
		}
		mr.queries = []types.MetricDataQuery{q}
		return mr, nil
	}
	if mr.queries, err = metricQueriesArgs(a, mr.period); err != nil {
		return nil, err
	}
	if label != "" && !a.Has("queries") {
		mr.queries[0].Label = aws.String(label)
	}
	return mr, nil
}

func validPeriod(p int) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p >= 60 && p%60 == 0 && p <= math.MaxInt32)
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// chartOptionsArgs reads title, width, height and annotations.
func chartOptionsArgs(a toolkit.Args) (chartOptions, error) {
	o := chartOptions{}
	var err error
	if o.title, err = a.Str("title", ""); err != nil {
		return o, err
	}
	if o.width, err = chartSideArg(a, "width", defaultChartWidth); err != nil {
		return o, err
	}
	if o.height, err = chartSideArg(a, "height", defaultChartHeight); err != nil {
		return o, err
	}
	var anns []struct {
		Value *float64 `json:"value"`
		Label string   `json:"label"`
		Color string   `json:"color"`
	}
	if err := a.Object("annotations", &anns); err != nil {
		return o, toolkit.Errorf("annotations must be a list of {\"value\": 80, \"label\": \"threshold\"} objects: %v", err)
	}
	if len(anns) > maxAnnotations {
		return o, toolkit.Errorf("annotations holds %d lines; a chart takes at most %d", len(anns), maxAnnotations)
	}
	for i, an := range anns {
		if an.Value == nil || math.IsNaN(*an.Value) || math.IsInf(*an.Value, 0) {
			return o, toolkit.Errorf("annotations[%d].value must be a number", i)
		}
		if an.Color != "" && !hexColor.MatchString(an.Color) {
			return o, toolkit.Errorf("annotations[%d].color must be a hex colour such as #d62728 (got %q)", i, an.Color)
		}
		o.annotations = append(o.annotations, widgetAnnotation{Label: an.Label, Value: jsonFloat(*an.Value), Color: an.Color})
	}
	return o, nil
}

func chartSideArg(a toolkit.Args, name string, def int) (int, error) {
	n, err := a.Int(name, def)
	if err != nil {
		return 0, err
	}
	if n < minChartSide || n > maxChartSide {
		return 0, toolkit.Errorf("%s must be between %d and %d pixels (got %d)", name, minChartSide, maxChartSide, n)
	}
	return n, nil
}

// selectionArgs are the arguments a given widget replaces.
var selectionArgs = []string{"namespace", "metric_name", "dimensions", "statistic", "queries", "expression", "label",
	"period", "start_time", "end_time", "title", "annotations", "group_by_dimension", "schema_dimension_keys",
	"limit", "sort_order", "order_by_statistic"}

// givenWidget checks a widget passed as is: an object with metrics, within
// AWS's limits, at the size asked for (width and height arguments, else
// its own, else the defaults). It returns the widget, the view of it the
// description reads, and its encoding.
func givenWidget(a toolkit.Args, o chartOptions) (map[string]any, *metricWidget, string, error) {
	for _, n := range selectionArgs {
		if a.Has(n) {
			if v, ok := a[n].([]any); ok && len(v) == 0 {
				continue // an empty list is what the schema defaults to
			}
			return nil, nil, "", toolkit.Errorf("widget is drawn as given: leave %s out (change it inside the widget instead)", n)
		}
	}
	var m map[string]any
	if err := a.Object("widget", &m); err != nil || m == nil {
		return nil, nil, "", toolkit.Errorf("widget must be a JSON object, the metric widget definition (with a metrics array)")
	}
	if ms, ok := m["metrics"].([]any); !ok || len(ms) == 0 || len(ms) > maxWidgetMetrics {
		return nil, nil, "", toolkit.Errorf("widget.metrics must be an array of 1 to %d metric or expression entries", maxWidgetMetrics)
	}
	for _, side := range []struct {
		name string
		v    int
	}{{"width", o.width}, {"height", o.height}} {
		if _, own := m[side.name]; !own || a.Has(side.name) {
			m[side.name] = side.v
			continue
		}
		f, ok := m[side.name].(float64)
		if !ok || f != math.Trunc(f) || f < minChartSide || f > maxChartSide {
			return nil, nil, "", toolkit.Errorf("widget.%s must be a whole number of pixels between %d and %d", side.name, minChartSide, maxChartSide)
		}
	}
	s, err := encodeWidget(m)
	if err != nil {
		return nil, nil, "", err
	}
	// Only the description reads this view; members it does not know, or
	// of other types, just go undescribed.
	var desc metricWidget
	_ = json.Unmarshal([]byte(s), &desc)
	var ms struct {
		Metrics [][]any `json:"metrics"`
	}
	_ = json.Unmarshal([]byte(s), &ms)
	desc.Metrics = ms.Metrics
	if desc.Stat == "" {
		desc.Stat = "Average"
	}
	if desc.Period == 0 {
		desc.Period = 300 // GetMetricWidgetImage's default
	}
	return m, &desc, s, nil
}
