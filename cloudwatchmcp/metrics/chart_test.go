package metrics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// seedCPU puts three hours of one-minute CPU datapoints before metricsNow.
func seedCPU(te *mcptest.Env) {
	fakeaws.MetricsOf(te.Fake).PutSeries("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": "i-0abc123def4567890"},
		everyMinute(metricsNow.Add(-3*time.Hour), metricsNow, func(_ time.Time, i int) float64 { return float64(40 + i%20) }))
}

// chart: true on get_metric_data adds exactly one image, of the data it
// returned (same metric, window and period), after the JSON text.
func TestGetMetricDataChart(t *testing.T) {
	te := newMetricsEnv(t)
	seedCPU(te)
	ctx := mcptest.UserCtx(te.Alice)
	plain := te.CallTool(t, ctx, "get_metric_data", cpuArgs())
	if n := len(imagesOf(t, plain)); n != 0 || te.Fake.CallCount("GetMetricWidgetImage") != 0 {
		t.Fatalf("without chart: %d images, %d widget calls", n, te.Fake.CallCount("GetMetricWidgetImage"))
	}
	args := cpuArgs()
	args["chart"] = true
	res := te.CallTool(t, ctx, "get_metric_data", args)
	var resp getMetricDataResponse
	mcptest.DecodeResult(t, res, &resp)
	if len(resp.MetricDataResults) != 1 || len(resp.MetricDataResults[0].Datapoints) != 60 {
		t.Fatalf("data: %+v", resp)
	}
	imgs := imagesOf(t, res)
	if len(imgs) != 1 || len(res.Content) != 2 {
		t.Fatalf("%d images in %d contents, want exactly one image after the text", len(imgs), len(res.Content))
	}
	if w, h := pngSize(t, imgs[0]); w != defaultChartWidth || h != defaultChartHeight {
		t.Fatalf("chart %dx%d", w, h)
	}
	w := fakeaws.MetricsOf(te.Fake).WidgetImages()[0]
	if w.AccessKeyID != te.Alice.AccessKeyID || w.Period != 180 || !w.Start.Equal(metricsNow.Add(-3*time.Hour)) || !w.End.Equal(metricsNow) ||
		len(w.Metrics) != 1 || w.Metrics[0].MetricName != "CPUUtilization" || w.Metrics[0].Dimensions["InstanceId"] != "i-0abc123def4567890" || w.Lines != 1 {
		t.Fatalf("chart widget %+v is not the data queried", w)
	}
}

// A chart that cannot be drawn costs the caller nothing: the data comes
// back with a line saying why.
func TestChartFailureKeepsTheData(t *testing.T) {
	te := newMetricsEnv(t)
	seedCPU(te)
	te.Fake.SetFault("GetMetricWidgetImage", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "no GetMetricWidgetImage for you", Times: 1})
	args := cpuArgs()
	args["chart"] = true
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_data", args)
	var resp getMetricDataResponse
	mcptest.DecodeResult(t, res, &resp)
	if len(resp.MetricDataResults[0].Datapoints) != 60 || len(imagesOf(t, res)) != 0 || len(res.Content) != 2 {
		t.Fatalf("want the data and a note, got %d contents", len(res.Content))
	}
	note, ok := res.Content[1].(mcp.TextContent)
	if !ok || !strings.HasPrefix(note.Text, "No chart: AWS error AccessDenied: no GetMetricWidgetImage for you (your AWS identity lacks this permission; ask for it to be granted)") {
		t.Fatalf("note %+v", res.Content[1])
	}
}

func TestAnalyzeMetricChart(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).SeedDemo()
	args := cpuArgs()
	args["chart"] = true
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "analyze_metric", args)
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	if n := len(imagesOf(t, res)); n != 1 {
		t.Fatalf("%d images, want 1", n)
	}
	w := fakeaws.MetricsOf(te.Fake).WidgetImages()[0]
	if !w.Start.Equal(metricsNow.Add(-14*24*time.Hour)) || !w.End.Equal(metricsNow) || w.Period != 3600 || w.Lines != 1 {
		t.Fatalf("analysis chart: %s to %s, period %d, %d lines", w.Start, w.End, w.Period, w.Lines)
	}
}

// wireImages counts the image contents of a served result.
func wireImages(w mcptest.WireResult) int {
	n := 0
	for _, c := range w.Content {
		if c.Type == "image" {
			n++
		}
	}
	return n
}

// Over max_result_bytes the image goes first, with a truncated note saying
// how to ask for a smaller one; the result stays valid against the tool's
// output schema (ServedTools validates).
func TestCapDropsTheImageFirst(t *testing.T) {
	te := newMetricsEnv(t)
	seedCPU(te)
	ctx := mcptest.UserCtx(te.Alice)

	full := mcptest.CallServed(t, mcptest.ServedTools(t, te, 64<<20), ctx, "get_metric_image", cpuArgs())
	if full.IsError || wireImages(full) != 1 {
		t.Fatalf("uncapped: error %v, %d images", full.IsError, wireImages(full))
	}
	capped := mcptest.CallServed(t, mcptest.ServedTools(t, te, 4096), ctx, "get_metric_image", cpuArgs())
	if capped.IsError || wireImages(capped) != 0 {
		t.Fatalf("capped: error %v, %d images: %s", capped.IsError, wireImages(capped), capped.Text())
	}
	var v struct {
		Widget    map[string]any `json:"widget"`
		Truncated struct {
			Dropped int
			Hint    string
		} `json:"truncated"`
	}
	if err := json.Unmarshal(capped.StructuredContent, &v); err != nil {
		t.Fatal(err)
	}
	if v.Truncated.Dropped != 1 || !strings.Contains(v.Truncated.Hint, "smaller image") || v.Widget["metrics"] == nil ||
		!strings.Contains(capped.Text(), "Chart of AWS/EC2 CPUUtilization") || !strings.Contains(capped.Text(), "max_result_bytes (4096)") {
		t.Fatalf("capped result: %s / %s", capped.StructuredContent, capped.Text())
	}

	// get_metric_data: the data fits, the chart does not: every datapoint
	// stays, the chart goes.
	args := cpuArgs()
	args["chart"] = true
	capped = mcptest.CallServed(t, mcptest.ServedTools(t, te, 8192), ctx, "get_metric_data", args)
	var d struct {
		Results []struct {
			Datapoints []any `json:"datapoints"`
		} `json:"metricDataResults"`
		Truncated struct {
			Dropped int
			Hint    string
		} `json:"truncated"`
	}
	if err := json.Unmarshal(capped.StructuredContent, &d); err != nil {
		t.Fatal(err)
	}
	if capped.IsError || wireImages(capped) != 0 || len(d.Results[0].Datapoints) != 60 || d.Truncated.Dropped != 1 || !strings.Contains(d.Truncated.Hint, "chart") {
		t.Fatalf("data fits, chart does not: %d images, %d points, truncated %+v", wireImages(capped), len(d.Results[0].Datapoints), d.Truncated)
	}
	var text map[string]any
	if err := json.Unmarshal([]byte(capped.Text()), &text); err != nil || text["truncated"] == nil {
		t.Fatalf("text must stay the structured JSON, with the note: %v %.200s", err, capped.Text())
	}

	// Neither fits: the image goes, then the oldest datapoints.
	args["target_datapoints"] = 180
	capped = mcptest.CallServed(t, mcptest.ServedTools(t, te, 2048), ctx, "get_metric_data", args)
	d.Truncated.Dropped = 0
	if err := json.Unmarshal(capped.StructuredContent, &d); err != nil {
		t.Fatal(err)
	}
	kept := len(d.Results[0].Datapoints)
	if capped.IsError || wireImages(capped) != 0 || len(capped.StructuredContent) > 2048 || kept == 0 || kept == 180 || d.Truncated.Dropped != 1+180-kept {
		t.Fatalf("%d images, %d bytes, %d points kept, dropped %d", wireImages(capped), len(capped.StructuredContent), kept, d.Truncated.Dropped)
	}

	// A cap the image fits in keeps it.
	if roomy := mcptest.CallServed(t, mcptest.ServedTools(t, te, 1<<20), ctx, "get_metric_data", args); wireImages(roomy) != 1 {
		t.Fatal("a roomy cap dropped the chart")
	}
}

// analyze_metric wraps its value ({"result": ...}): the note of a dropped
// chart goes inside result, and the text stays that value as JSON.
func TestCapDropsAnalyzeMetricChart(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).SeedDemo()
	args := cpuArgs()
	args["chart"] = true
	capped := mcptest.CallServed(t, mcptest.ServedTools(t, te, 4096), mcptest.UserCtx(te.Alice), "analyze_metric", args)
	var doc struct {
		Result struct {
			MetricInfo map[string]any `json:"metric_info"`
			Truncated  struct {
				Dropped int
				Hint    string
			} `json:"truncated"`
		} `json:"result"`
	}
	if err := json.Unmarshal(capped.StructuredContent, &doc); err != nil {
		t.Fatal(err)
	}
	var text map[string]any
	if capped.IsError || wireImages(capped) != 0 || doc.Result.Truncated.Dropped != 1 || doc.Result.MetricInfo == nil ||
		json.Unmarshal([]byte(capped.Text()), &text) != nil || text["truncated"] == nil || text["metric_info"] == nil {
		t.Fatalf("capped analyze_metric: %d images, %s / %.300s", wireImages(capped), capped.StructuredContent, capped.Text())
	}
}
