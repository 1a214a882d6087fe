package promql

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestTruncatePromQL(t *testing.T) {
	te := mcptest.NewEnv(t)
	s := te.Fake.PromQL()
	for i := range 150 {
		var samples []fakeaws.PromQLSample
		for j := 0; j <= 60; j++ {
			samples = append(samples, fakeaws.PromQLSample{T: promT0.Add(time.Duration(j) * time.Minute), V: float64(i + j)})
		}
		s.AddSeries(map[string]string{"__name__": "up", "job": "api", "instance": fmt.Sprintf("10.0.%d.%d:9090", i/100, i%100),
			fmt.Sprintf("label_%03d", i): "x"}, samples...)
	}
	start, end := promT0.Format(time.RFC3339), promT0.Add(time.Hour).Format(time.RFC3339)
	for _, c := range []mcptest.CapCase{
		{Tool: "execute_promql_query", Args: map[string]any{"query": "up", "time": promT0.Add(30 * time.Minute).Format(time.RFC3339)}},
		{Tool: "get_promql_series", Args: map[string]any{"match": []any{"up"}, "start": start, "end": end}},
		{Tool: "get_promql_labels", Args: map[string]any{"start": start, "end": end}},
		{Tool: "get_promql_label_values", Args: map[string]any{"label_name": "instance", "start": start, "end": end}},
	} {
		t.Run(c.Tool, func(t *testing.T) { mcptest.RunCapCase(t, te, toolkit.MinMaxResultBytes, c) })
	}
	// One series with many samples: the oldest samples go first.
	v := mcptest.RunCapCase(t, te, 2048, mcptest.CapCase{Tool: "execute_promql_range_query", Args: map[string]any{
		"query": `up{instance="10.0.0.7:9090"}`, "start": start, "end": end, "step": "15s"}})
	values := v["result"].([]any)[0].(map[string]any)["values"].([]any)
	if lastTS := values[len(values)-1].([]any)[0].(float64); lastTS != float64(promT0.Add(time.Hour).Unix()) {
		t.Fatalf("the newest sample must be kept, last is %v", lastTS)
	}
}
