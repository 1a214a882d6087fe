package fakeaws

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

func widgetClient(t *testing.T) (*Fake, *cloudwatch.Client) {
	t.Helper()
	f := Start()
	t.Cleanup(f.Close)
	return f, cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("alice", time.Now().Add(time.Hour)))))
}

// colorPixels counts pixels within a small distance of the hex color.
func colorPixels(img image.Image, hex string) int {
	want, _ := parseHexColor(hex)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := math.Abs(float64(r>>8)-float64(want.R)) + math.Abs(float64(g>>8)-float64(want.G)) + math.Abs(float64(bl>>8)-float64(want.B))
			if d < 40 {
				n++
			}
		}
	}
	return n
}

func TestGetMetricWidgetImage(t *testing.T) {
	f, cl := widgetClient(t)
	now := time.Now().UTC()
	m := MetricsOf(f)
	for _, id := range []string{"i-1", "i-2"} {
		m.PutGenerated("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": id}, time.Minute, func(t time.Time) (float64, bool) {
			return 50 + 30*math.Sin(float64(t.Unix())/1800), true
		})
	}
	widget := `{
		"title": "EC2 CPU",
		"view": "timeSeries",
		"metrics": [
			["AWS/EC2", "CPUUtilization", "InstanceId", "i-1", {"id": "m1", "stat": "Maximum"}],
			["...", "i-2", {"id": "m2"}],
			[{"expression": "m1 - m2", "label": "difference", "id": "e1"}]
		],
		"period": 300,
		"stat": "Average",
		"start": "-PT6H",
		"width": 800,
		"height": 300,
		"annotations": {"horizontal": [{"value": 75, "label": "CPU > 75"}]},
		"yAxis": {"left": {"min": -40, "max": 100, "label": "Percent"}}
	}`
	out, err := cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(widget), OutputFormat: aws.String("png")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.MetricWidgetImage, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", out.MetricWidgetImage[:8])
	}
	img, err := png.Decode(bytes.NewReader(out.MetricWidgetImage))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 300 {
		t.Fatalf("image is %v, want 800×300", b)
	}
	// Three series in the palette's first colors, the annotation in red.
	for _, c := range []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"} {
		if n := colorPixels(img, c); n < 30 {
			t.Errorf("color %s: only %d pixels; the chart lacks a line", c, n)
		}
	}

	if dir := os.Getenv("FAKEAWS_WIDGET_PNG"); dir != "" { // look at it
		_ = os.WriteFile(dir, out.MetricWidgetImage, 0o644)
	}
	ws := m.WidgetImages()
	if len(ws) != 1 {
		t.Fatalf("recorded %d widgets", len(ws))
	}
	w := ws[0]
	if w.Owner != "alice" || w.Title != "EC2 CPU" || w.Width != 800 || w.Height != 300 || w.Lines != 3 || len(w.Metrics) != 3 ||
		w.Horizontal[0] != (WidgetAnnotation{Value: 75, Label: "CPU > 75"}) || *w.YMin != -40 || w.YLabel != "Percent" || !bytes.Equal(w.PNG, out.MetricWidgetImage) {
		t.Fatalf("recorded %+v", w)
	}
	if got := fmt.Sprintf("%s %s %v %s %d", w.Metrics[1].Namespace, w.Metrics[1].MetricName, w.Metrics[1].Dimensions, w.Metrics[1].Stat, w.Metrics[1].Period); got != "AWS/EC2 CPUUtilization map[InstanceId:i-2] Average 300" {
		t.Fatalf("shorthand entry read as %s", got)
	}
	if w.Metrics[0].Stat != "Maximum" || w.Metrics[2].Expression != "m1 - m2" || w.Metrics[2].Label != "difference" {
		t.Fatalf("entries %+v", w.Metrics)
	}
	if d := now.Add(-6 * time.Hour).Sub(w.Start); d < -time.Minute || d > time.Minute || w.End.Sub(now) > time.Minute {
		t.Fatalf("range %v – %v", w.Start, w.End)
	}
	if c := f.Calls("GetMetricWidgetImage"); len(c) != 1 || !c[0].Signed || c[0].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
}

func TestGetMetricWidgetImageDefaultsAndEmpty(t *testing.T) {
	f, cl := widgetClient(t)
	for _, c := range []struct {
		widget string
		w, h   int
	}{
		{`{"metrics": [["Nope", "Missing", "Dim", "x"]]}`, 600, 400},
		{`{"metrics": [["Nope", "Missing"]], "width": 1, "height": 1}`, 1, 1},
		{`{"metrics": [["Nope", "Missing"]], "width": 2000, "height": 200, "legend": {"position": "hidden"}, "start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00.000Z"}`, 2000, 200},
		{`{"metrics": [["Nope", "Missing"]], "width": 120, "height": 2000}`, 120, 2000},
	} {
		out, err := cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(c.widget)})
		if err != nil {
			t.Fatalf("%s: %v", c.widget, err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(out.MetricWidgetImage))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Fatalf("%s: %+v %v", c.widget, cfg, err)
		}
	}
	if ws := MetricsOf(f).WidgetImages(); ws[0].Lines != 0 || ws[0].Stat != "Average" || ws[0].Period != 300 || ws[0].End.Sub(ws[0].Start) != 3*time.Hour {
		t.Fatalf("defaults %+v", ws[0])
	}
}

func TestGetMetricWidgetImageValidation(t *testing.T) {
	f, cl := widgetClient(t)
	many := make([]string, 101)
	for i := range many {
		many[i] = `["A", "B"]`
	}
	for name, widget := range map[string]string{
		"not JSON":          `{"metrics": [`,
		"not an object":     `[["A", "B"]]`,
		"trailing data":     `{"metrics": [["A", "B"]]} {}`,
		"no metrics":        `{"title": "x"}`,
		"empty metrics":     `{"metrics": []}`,
		"101 metrics":       `{"metrics": [` + strings.Join(many, ",") + `]}`,
		"odd dimensions":    `{"metrics": [["A", "B", "Dim"]]}`,
		"number in metric":  `{"metrics": [["A", 5]]}`,
		"... first":         `{"metrics": [["...", "x"]]}`,
		"width 2001":        `{"metrics": [["A", "B"]], "width": 2001}`,
		"height 0":          `{"metrics": [["A", "B"]], "height": 0}`,
		"width not number":  `{"metrics": [["A", "B"]], "width": "600"}`,
		"bad period":        `{"metrics": [["A", "B"]], "period": 7}`,
		"bad stat":          `{"metrics": [["A", "B", {"stat": "Mean"}]]}`,
		"bad start":         `{"metrics": [["A", "B"]], "start": "yesterday"}`,
		"start after end":   `{"metrics": [["A", "B"]], "start": "-PT1H", "end": "-PT2H"}`,
		"bad view":          `{"metrics": [["A", "B"]], "view": "map"}`,
		"duplicate id":      `{"metrics": [["A", "B", {"id": "a"}], ["A", "C", {"id": "a"}]]}`,
		"unknown math id":   `{"metrics": [["A", "B", {"id": "a"}], [{"expression": "a + zz"}]]}`,
		"annotation value":  `{"metrics": [["A", "B"]], "annotations": {"horizontal": [{"value": "high"}]}}`,
		"y min above max":   `{"metrics": [["A", "B"]], "yAxis": {"left": {"min": 5, "max": 1}}}`,
		"over 100 KB":       `{"metrics": [["A", "B"]], "title": "` + strings.Repeat("x", MaxMetricWidgetBytes) + `"}`,
		"bad legend":        `{"metrics": [["A", "B"]], "legend": {"position": "top"}}`,
		"expression & name": `{"metrics": [["A", "B", {"expression": "1"}]]}`,
	} {
		_, err := cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(widget)})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		assertCode(t, err, "ValidationError")
	}
	_, err := cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(`{"metrics": [["A", "B"]]}`), OutputFormat: aws.String("jpeg")})
	assertCode(t, err, "ValidationError")
	if n := len(MetricsOf(f).WidgetImages()); n != 0 {
		t.Fatalf("refused widgets were recorded: %d", n)
	}
	// image/png answers with the bare image, as AWS does; SDKs cannot read
	// it and must ask for png.
	_, err = cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(`{"metrics": [["A", "B"]]}`), OutputFormat: aws.String("image/png")})
	if err == nil {
		t.Fatal("the SDK read an image/png answer")
	}
	f.SetFault("GetMetricWidgetImage", Fault{Status: 403, Code: "AccessDenied", Message: "User: alice is not authorized to perform: cloudwatch:GetMetricWidgetImage"})
	_, err = cl.GetMetricWidgetImage(context.Background(), &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(`{"metrics": [["A", "B"]]}`)})
	assertCode(t, err, "AccessDenied")
}
