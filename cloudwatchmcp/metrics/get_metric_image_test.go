package metrics

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// imagesOf returns the PNGs of a result's image content, checking each is
// image/png base64 that starts with the PNG signature.
func imagesOf(t *testing.T, res *mcp.CallToolResult) [][]byte {
	t.Helper()
	var out [][]byte
	for _, c := range res.Content {
		ic, ok := c.(mcp.ImageContent)
		if !ok {
			continue
		}
		if ic.Type != "image" || ic.MIMEType != "image/png" {
			t.Fatalf("image content %q %q, want image image/png", ic.Type, ic.MIMEType)
		}
		b, err := base64.StdEncoding.DecodeString(ic.Data)
		if err != nil {
			t.Fatalf("image data is not base64: %v", err)
		}
		if !bytes.HasPrefix(b, pngSignature) {
			t.Fatalf("image bytes start with %q, not the PNG signature", b[:min(8, len(b))])
		}
		out = append(out, b)
	}
	return out
}

// pngSize decodes a PNG and returns its size.
func pngSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

func cpuArgs() map[string]any {
	return map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization",
		"dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-0abc123def4567890"}}}
}

// TestWidgetGolden compares the widget JSON sent to GetMetricWidgetImage
// for typical requests with the shape the CloudWatch console exports
// (testdata/widgets, written as the console's graph Source shows them).
func TestWidgetGolden(t *testing.T) {
	lb := []any{map[string]any{"name": "LoadBalancer", "value": "app/checkout-alb/50dc6c495c0c9188"}}
	fn := []any{map[string]any{"name": "FunctionName", "value": "checkout-api"}}
	for _, c := range []struct {
		golden string
		args   map[string]any
	}{
		{"single_metric", cpuArgs()},
		{"math_expression", map[string]any{"region": "eu-west-1", "title": "checkout-api error rate", "width": 800, "height": 400,
			"start_time": "2025-06-01T12:00:00Z", "queries": []any{
				map[string]any{"id": "m1", "metric_stat": map[string]any{"namespace": "AWS/Lambda", "metric_name": "Errors", "dimensions": fn, "statistic": "Sum"}, "return_data": false},
				map[string]any{"id": "m2", "metric_stat": map[string]any{"namespace": "AWS/Lambda", "metric_name": "Invocations", "dimensions": fn, "statistic": "Sum"}, "return_data": false},
				map[string]any{"id": "e1", "expression": "100*m1/m2", "label": "Error rate (%)"},
			}}},
		{"threshold_annotation", map[string]any{
			"annotations": []any{map[string]any{"value": 0.5, "label": "p99 latency alarm", "color": "#d62728"}},
			"queries": []any{
				map[string]any{"id": "m1", "metric_stat": map[string]any{"namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime", "dimensions": lb, "statistic": "p99"}},
				map[string]any{"id": "m2", "metric_stat": map[string]any{"namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime", "dimensions": lb, "statistic": "Average"}, "label": "average"},
			}}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			te := newMetricsEnv(t)
			res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_image", c.args)
			if res.IsError {
				t.Fatal(mcptest.ResultText(t, res))
			}
			sent := fakeaws.MetricsOf(te.Fake).WidgetImages()
			if len(sent) != 1 {
				t.Fatalf("%d GetMetricWidgetImage calls, want 1", len(sent))
			}
			want, err := os.ReadFile(filepath.Join("testdata", "widgets", c.golden+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var got, exp any
			if err := json.Unmarshal([]byte(sent[0].Widget), &got); err != nil {
				t.Fatalf("sent widget is not JSON: %v", err)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("widget sent:\n%s\nwant (%s):\n%s", sent[0].Widget, c.golden, want)
			}
			// The structured content carries the same widget, to adjust.
			var sc struct {
				Widget any `json:"widget"`
			}
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &sc); err != nil || !reflect.DeepEqual(sc.Widget, exp) {
				t.Fatalf("structured widget %s differs from the one drawn", b)
			}
		})
	}
}

// TestGetMetricImage draws a demo metric: a PNG of the requested size,
// signed with the caller's vended key, with the threshold line asked for,
// described in text, and redrawn from the widget it returned.
func TestGetMetricImage(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).SeedDemo()
	args := cpuArgs()
	args["width"], args["height"] = 640, 320
	args["annotations"] = []any{map[string]any{"value": 50, "label": "CPU alarm"}}
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_image", args)
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	imgs := imagesOf(t, res)
	if len(imgs) != 1 {
		t.Fatalf("%d images, want 1", len(imgs))
	}
	if w, h := pngSize(t, imgs[0]); w != 640 || h != 320 {
		t.Fatalf("image is %dx%d, want 640x320", w, h)
	}
	text := mcptest.ResultText(t, res)
	for _, want := range []string{"AWS/EC2 CPUUtilization InstanceId=i-0abc123def4567890", "Average", "CPU alarm 50", "640×320 PNG"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q does not say %q", text, want)
		}
	}
	sent := fakeaws.MetricsOf(te.Fake).WidgetImages()
	if len(sent) != 1 {
		t.Fatalf("%d GetMetricWidgetImage calls", len(sent))
	}
	w := sent[0]
	if w.Owner != "alice" || w.AccessKeyID != te.Alice.AccessKeyID {
		t.Fatalf("signed by %s (%s), want alice's vended key %s", w.Owner, w.AccessKeyID, te.Alice.AccessKeyID)
	}
	if w.Lines != 1 || len(w.Horizontal) != 1 || w.Horizontal[0].Value != 50 || !bytes.Equal(w.PNG, imgs[0]) {
		t.Fatalf("drew %d lines, annotations %+v; image returned is the one drawn: %v", w.Lines, w.Horizontal, bytes.Equal(w.PNG, imgs[0]))
	}

	// The agent adjusts the widget it got back and draws it again.
	var sc struct {
		Widget map[string]any `json:"widget"`
		Image  struct {
			MIMEType      string `json:"mimeType"`
			Width, Height int
			Bytes         int
		} `json:"image"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Image.MIMEType != "image/png" || sc.Image.Width != 640 || sc.Image.Height != 320 || sc.Image.Bytes != len(imgs[0]) {
		t.Fatalf("image summary %+v", sc.Image)
	}
	sc.Widget["title"] = "CPU, smaller"
	res = te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_image", map[string]any{"widget": sc.Widget, "width": 300, "height": 150})
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	if w, h := pngSize(t, imagesOf(t, res)[0]); w != 300 || h != 150 {
		t.Fatalf("redrawn image is %dx%d, want 300x150", w, h)
	}
	if got := fakeaws.MetricsOf(te.Fake).WidgetImages()[1]; got.Title != "CPU, smaller" || got.Lines != 1 {
		t.Fatalf("redrawn widget: title %q, %d lines", got.Title, got.Lines)
	}
}

func TestGetMetricImageErrors(t *testing.T) {
	te := newMetricsEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	te.Fake.SetFault("GetMetricWidgetImage", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "User: alice is not authorized to perform: cloudwatch:GetMetricWidgetImage", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_image", cpuArgs()),
		"AWS error AccessDenied: User: alice is not authorized to perform: cloudwatch:GetMetricWidgetImage (your AWS identity lacks this permission")
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"width": 5000}, "width must be between 100 and 2000 pixels (got 5000)"},
		{map[string]any{"height": 10}, "height must be between 100 and 2000 pixels (got 10)"},
		{map[string]any{"period": 45}, "period must be 1, 5, 10, 30 or a multiple of 60 seconds (got 45)"},
		{map[string]any{"annotations": []any{map[string]any{"label": "x"}}}, "annotations[0].value must be a number"},
		{map[string]any{"annotations": []any{map[string]any{"value": 1, "color": "red"}}}, "annotations[0].color must be a hex colour"},
		{map[string]any{"expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\""}, "give either expression, or queries, or namespace and metric_name"},
	} {
		args := cpuArgs()
		for k, v := range c.args {
			args[k] = v
		}
		mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_image", args), c.want)
	}
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_image", map[string]any{"widget": map[string]any{"metrics": []any{}}}), "widget.metrics must be an array of 1 to 100")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_image", map[string]any{"widget": map[string]any{"metrics": []any{[]any{"AWS/EC2", "CPUUtilization"}}}, "namespace": "AWS/EC2"}), "leave namespace out")
	// A widget CloudWatch refuses: its ValidationError reaches the agent.
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_metric_image", map[string]any{"widget": map[string]any{"metrics": []any{[]any{"AWS/EC2"}}}}), "Invalid MetricWidget")
	if n := te.Fake.CallCount("GetMetricWidgetImage"); n != 2 {
		t.Fatalf("%d GetMetricWidgetImage calls; bad arguments must be refused before AWS is called", n)
	}
}

// TestMetricsInsightsImage draws one Metrics Insights expression.
func TestMetricsInsightsImage(t *testing.T) {
	te := newMetricsEnv(t)
	fakeaws.MetricsOf(te.Fake).SeedDemo()
	q := `SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId) GROUP BY InstanceId`
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_metric_image", map[string]any{"expression": q, "label": "CPU by instance"})
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	w := fakeaws.MetricsOf(te.Fake).WidgetImages()[0]
	if len(w.Metrics) != 1 || w.Metrics[0].Expression != q || w.Metrics[0].Label != "CPU by instance" || w.Lines < 1 {
		t.Fatalf("widget metrics %+v, %d lines drawn", w.Metrics, w.Lines)
	}
	if !strings.Contains(mcptest.ResultText(t, res), "Chart of CPU by instance") {
		t.Fatalf("text: %s", mcptest.ResultText(t, res))
	}
}
