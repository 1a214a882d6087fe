package metrics

import (
	"context"
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "metrics", Tool: getMetricMetadataTool, Handler: handleGetMetricMetadata})
}

var getMetricMetadataTool = mcp.NewTool("get_metric_metadata",
	mcp.WithDescription(getMetricMetadataDescription),
	mcp.WithRawInputSchema(json.RawMessage(getMetricMetadataInputSchema)),
	mcp.WithRawOutputSchema(json.RawMessage(getMetricMetadataOutputSchema)),
	mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(false),
)

// metricMetadataResult is awslabs' MetricMetadata.
type metricMetadataResult struct {
	Description           string `json:"description"`
	RecommendedStatistics string `json:"recommendedStatistics"`
	Unit                  string `json:"unit"`
}

func handleGetMetricMetadata(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	ns, err := a.RequiredStr("namespace")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	metric, err := a.RequiredStr("metric_name")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	md, ok := e.Catalog.Lookup(ns, metric)
	if !ok || md == nil {
		return metricsWrapped(nil), nil
	}
	return metricsWrapped(metricMetadataResult{Description: md.Description, RecommendedStatistics: md.RecommendedStatistics, Unit: md.UnitInfo}), nil
}
