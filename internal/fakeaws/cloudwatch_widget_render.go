package fakeaws

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The chart GetMetricWidgetImage returns, drawn with gonum/plot: a line
// per visible series in the console's palette, the title, time ticks, a
// dashed line per horizontal annotation (in the legend with its label), a
// line per vertical one, the y axis bounds and label, and the legend below
// the graph. It is not pixel-equal to CloudWatch's, but it is a real chart
// of the data at the requested size, so a person sees what an agent got.

// widgetLine is one series to draw.
type widgetLine struct {
	label, color string
	visible      bool
	ts           []time.Time
	vals         []float64
}

// The console's default series colors.
var widgetPalette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// Below this size there is no room for axes and text: the image is blank.
const minChartWidth, minChartHeight = 160, 100

func parseHexColor(s string) (color.RGBA, bool) {
	if len(s) != 7 || s[0] != '#' {
		return color.RGBA{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.RGBA{}, false
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, true
}

func seriesColor(custom string, i int) color.Color {
	if c, ok := parseHexColor(custom); ok {
		return c
	}
	c, _ := parseHexColor(widgetPalette[i%len(widgetPalette)])
	return c
}

// renderWidget draws w's chart and reports how many series had data.
func renderWidget(w *WidgetImage, lines []widgetLine) (out []byte, drawn int, err error) {
	for _, l := range lines {
		if l.visible && len(l.ts) > 0 {
			drawn++
		}
	}
	if w.Width < minChartWidth || w.Height < minChartHeight {
		b, err := blankPNG(w.Width, w.Height)
		return b, drawn, err
	}
	defer func() {
		// A chart gonum/plot cannot lay out must not cost the caller its
		// answer: a blank image of the requested size stands in.
		if r := recover(); r != nil {
			out, err = blankPNG(w.Width, w.Height)
		}
	}()

	p := plot.New()
	p.Title.Text = w.Title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Y.Label.Text = w.YLabel
	// The console's charts use a sans-serif face.
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Y.Label.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.X.Tick.Marker = plot.TimeTicks{Format: tickFormat(w.End.Sub(w.Start))}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 232}
	grid.Horizontal.Color = color.Gray{Y: 232}
	p.Add(grid)
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.TextStyle.Font.Variant = "Sans"
	entries := 0

	for i, l := range lines {
		if !l.visible {
			continue
		}
		xys := make(plotter.XYs, 0, len(l.ts))
		for k, t := range l.ts {
			if v := l.vals[k]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				xys = append(xys, plotter.XY{X: float64(t.Unix()), Y: v})
			}
		}
		ln := &plotter.Line{XYs: xys, LineStyle: draw.LineStyle{Color: seriesColor(l.color, i), Width: vg.Points(1.5)}}
		if len(xys) > 0 {
			p.Add(ln)
		}
		legend.Add(l.label, ln)
		entries++
	}
	for _, a := range w.Horizontal {
		c := color.Color(color.RGBA{R: 214, G: 39, B: 40, A: 255})
		if hc, ok := parseHexColor(a.Color); ok {
			c = hc
		}
		h := &hline{value: a.Value, style: draw.LineStyle{Color: c, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
		p.Add(h)
		label := a.Label
		if label == "" {
			label = strconv.FormatFloat(a.Value, 'g', -1, 64)
		}
		legend.Add(label, h)
		entries++
	}
	for _, a := range w.Vertical {
		p.Add(&vline{at: float64(a.Time.Unix()), style: draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}})
	}
	if drawn == 0 {
		p.Add(noData{})
	}
	p.X.Min, p.X.Max = float64(w.Start.Unix()), float64(w.End.Unix())
	if math.IsInf(p.Y.Min, 0) || math.IsInf(p.Y.Max, 0) {
		p.Y.Min, p.Y.Max = 0, 1
	} else if span := p.Y.Max - p.Y.Min; span > 0 {
		p.Y.Max += span * 0.05
	}
	if w.YMin != nil {
		p.Y.Min = *w.YMin
	}
	if w.YMax != nil {
		p.Y.Max = *w.YMax
	}

	img := vgimg.NewWith(vgimg.UseWH(vg.Length(w.Width), vg.Length(w.Height)), vgimg.UseDPI(72))
	dc := draw.New(img)
	chart := dc
	if w.Legend != "hidden" && entries > 0 {
		lineH := legend.TextStyle.Rectangle("Xg").Size().Y * 1.25
		rows := min(entries, max(1, int(float64(w.Height)/4/float64(lineH))))
		strip := lineH*vg.Length(rows) + 6
		legend.Padding = lineH * 0.25
		legend.Draw(draw.Crop(dc, 8, -8, 0, -(vg.Length(w.Height) - strip)))
		chart = draw.Crop(dc, 0, 0, strip, 0)
	}
	p.Draw(draw.Crop(chart, 4, -8, 2, -6))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, drawn, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), drawn, nil
}

// tickFormat picks time labels that fit the range.
func tickFormat(span time.Duration) string {
	switch {
	case span <= 36*time.Hour:
		return "15:04"
	case span <= 14*24*time.Hour:
		return "01/02 15:04"
	}
	return "2006-01-02"
}

func blankPNG(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

// hline is a horizontal annotation: a line across the graph at value.
type hline struct {
	value float64
	style draw.LineStyle
}

func (h *hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.value)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// DataRange keeps the annotation in view; it says nothing about x.
func (h *hline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), h.value, h.value
}

func (h *hline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// vline is a vertical annotation at a time.
type vline struct {
	at    float64
	style draw.LineStyle
}

func (v *vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.at)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// noData writes what the console writes on an empty graph.
type noData struct{}

func (noData) Plot(c draw.Canvas, p *plot.Plot) {
	sty := p.Title.TextStyle
	sty.Font = font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, 12)
	sty.Color = color.Gray{Y: 110}
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	// Above the middle, where a threshold line is less likely.
	c.FillText(sty, vg.Point{X: c.Center().X, Y: c.Min.Y + (c.Max.Y-c.Min.Y)*3/4}, "No data available")
}

// Interface guards
var (
	_ plot.Plotter     = (*hline)(nil)
	_ plot.DataRanger  = (*hline)(nil)
	_ plot.Thumbnailer = (*hline)(nil)
	_ plot.Plotter     = (*vline)(nil)
	_ plot.Plotter     = noData{}
)
