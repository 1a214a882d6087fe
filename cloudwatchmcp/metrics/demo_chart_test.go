package metrics

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

var updateDemoChart = flag.Bool("update-demo-chart", false, "redraw docs/demo-chart.png (the README's screenshot) with get_metric_image on the demo data")

// demoChartArgs is the README's example call.
var demoChartArgs = map[string]any{
	"namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime",
	"dimensions": []any{map[string]any{"name": "LoadBalancer", "value": fakeaws.DemoLoadBalancer}},
	"statistic":  "Maximum", "title": "checkout-web target response time",
	"annotations": []any{map[string]any{"value": 0.5, "label": "latency alarm"}},
}

// TestDemoChart draws the README's screenshot from the demo data through
// the tool, and checks the committed one is a PNG of the size the tool
// draws by default (rerun with -update-demo-chart to redraw it).
func TestDemoChart(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).SeedDemo()
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_image", demoChartArgs)
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	file := filepath.Join("..", "..", "docs", "demo-chart.png")
	if *updateDemoChart {
		if err := os.WriteFile(file, imagesOf(t, res)[0], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./cloudwatchmcp/metrics -run TestDemoChart -update-demo-chart)", err)
	}
	if w, h := pngSize(t, b); w != defaultChartWidth || h != defaultChartHeight || len(b) > 100<<10 {
		t.Fatalf("docs/demo-chart.png is %dx%d, %d bytes", w, h, len(b))
	}
	if w := fakeaws.MetricsOf(te.Fake).WidgetImages()[0]; w.Lines != 1 || len(w.Horizontal) != 1 {
		t.Fatalf("demo chart drew %d lines, %d annotations", w.Lines, len(w.Horizontal))
	}
}
