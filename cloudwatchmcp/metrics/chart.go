package metrics

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// addChart appends to res the chart of what mr queried (the `chart: true`
// option): the image, after the text, so clients that read the first text
// content still find the JSON there. The data is the answer; a chart that
// cannot be drawn (no permission for GetMetricWidgetImage, more than 100
// series) adds a text line saying why instead of failing the call.
func addChart(ctx context.Context, cl *cloudwatch.Client, res *mcp.CallToolResult, mr *metricRequest, o chartOptions) {
	if res.IsError {
		return
	}
	_, img, err := drawChart(ctx, cl, mr, o)
	if err != nil {
		res.Content = append(res.Content, mcp.NewTextContent("No chart: "+toolkit.ErrorMessage(err)))
		return
	}
	res.Content = append(res.Content, img.content())
}

// drawChart builds the widget of mr and has CloudWatch draw it.
// The widget names the client's region (the account's, with account), as
// the console's Source does.
func drawChart(ctx context.Context, cl *cloudwatch.Client, mr *metricRequest, o chartOptions) (*metricWidget, *renderedChart, error) {
	w, err := buildWidget(mr.queries, cl.Options().Region, mr.start, mr.end, mr.period, o)
	if err != nil {
		return nil, nil, err
	}
	s, err := encodeWidget(w)
	if err != nil {
		return nil, nil, err
	}
	img, err := renderWidget(ctx, cl, s)
	return w, img, err
}
