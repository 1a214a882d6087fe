package metrics

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestTruncateGetMetricDataKeepsNewestDatapoints(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).PutSeries("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": "i-1"},
		everyMinute(metricsNow.Add(-3*time.Hour), metricsNow, func(_ time.Time, i int) float64 { return float64(i) }))
	v := mcptest.RunCapCase(t, te, 2048, mcptest.CapCase{Tool: "get_metric_data", Args: map[string]any{
		"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "target_datapoints": 180,
		"dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-1"}},
	}})
	series := v["metricDataResults"].([]any)
	points := series[0].(map[string]any)["datapoints"].([]any)
	last := points[len(points)-1].(map[string]any)["timestamp"].(string)
	if len(series) != 1 || len(points) == 0 || last != metricsNow.Add(-time.Minute).Format(time.RFC3339) {
		t.Fatalf("%d series, %d points, last %s: the newest datapoints must be kept", len(series), len(points), last)
	}
}

// Many series with few points each: dropping points would leave empty
// series, so whole series go instead.
func TestTruncateMetricSeriesFallback(t *testing.T) {
	var series []map[string]any
	for i := range 100 {
		series = append(series, map[string]any{"id": fmt.Sprintf("m%d", i), "label": fmt.Sprintf("instance-%03d-with-a-long-label", i), "statusCode": "Complete",
			"datapoints": []map[string]any{{"timestamp": "2025-06-02T09:00:00Z", "value": i}}, "messages": []any{}})
	}
	res := toolkit.JSONResult(map[string]any{"metricDataResults": series, "messages": []any{}})
	rt, _ := toolkit.Lookup("get_metric_data")
	out, dropped, err := rt.Result.Limit(res, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out.StructuredContent)
	var v struct {
		Results []struct {
			Datapoints []any `json:"datapoints"`
		} `json:"metricDataResults"`
		Truncated struct{ Dropped int } `json:"truncated"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(b) > 2048 || len(v.Results) == 0 || len(v.Results)+dropped != 100 || v.Truncated.Dropped != dropped {
		t.Fatalf("%d bytes, %d series kept, %d dropped", len(b), len(v.Results), dropped)
	}
	for _, r := range v.Results {
		if len(r.Datapoints) != 1 {
			t.Fatal("kept series must keep their datapoints")
		}
	}
}
