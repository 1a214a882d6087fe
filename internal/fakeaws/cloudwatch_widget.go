package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CloudWatch GetMetricWidgetImage (RPCv2 CBOR): MetricWidget is the
// console's "Source" JSON of a graph
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Metric-Widget-Structure.html).
// The fake validates it as AWS documents it (JSON object, at most 100 KB,
// 1–100 metrics, width and height 1–2000 px, periods and statistics as in
// GetMetricData), draws a PNG of the requested size from the seeded series
// (cloudwatch_widget_render.go) and records what it understood
// (WidgetImages), so tool tests can assert on the metrics asked for.
//
// Understood: metrics entries in the console's compact form
// ["Namespace", "MetricName", "DimName", "DimValue", ..., {options}] with
// the "." (same as the previous entry at this position) and "..." (the
// previous entry, with its last elements replaced by the ones given)
// shorthands, and [{"expression": "...", "id": ..., "label": ...}] entries
// (metric math over other entries' ids, or Metrics Insights SELECT);
// options stat, period, label, id, visible, color; top-level view
// (timeSeries, singleValue, bar, pie, gauge — all drawn as lines), stacked
// (accepted, drawn unstacked), stat (default Average), period (default 300), start (default -PT3H) and
// end (default now) as ISO 8601 times or negative durations (-PT3H, -P1D,
// -P1W), width (default 600), height (default 400), title,
// annotations.horizontal [{value, label, color}] (a band is a pair of
// them) and annotations.vertical [{value: ISO time, label}], yAxis.left
// {min, max, label}, legend.position (bottom, right, hidden). Unknown
// members are ignored. Metrics without data still render: an empty chart
// that says "No data available", as the console draws one.

func init() {
	Register(func(f *Fake) {
		f.Handle("monitoring", "GetMetricWidgetImage", func(r *Request) (any, error) { return MetricsOf(r.Fake()).getMetricWidgetImage(r) })
	})
}

// MaxMetricWidgetBytes is AWS's limit on the MetricWidget payload.
const MaxMetricWidgetBytes = 100 * 1024

// WidgetMetric is one metrics entry of a widget, as the fake read it.
type WidgetMetric struct {
	// Namespace, MetricName and Dimensions name a metric; Expression is set
	// instead for a math or Metrics Insights entry.
	Namespace, MetricName string
	Dimensions            map[string]string
	Expression            string
	ID, Label, Stat       string
	Period                int64
	Visible               bool
	Color                 string
}

// WidgetAnnotation is a horizontal annotation (a value on the y axis).
type WidgetAnnotation struct {
	Value        float64
	Label, Color string
}

// WidgetTimeAnnotation is a vertical annotation (a time on the x axis).
type WidgetTimeAnnotation struct {
	Time  time.Time
	Label string
}

// WidgetImage is one GetMetricWidgetImage call the fake answered.
type WidgetImage struct {
	Owner, AccessKeyID, Region string
	// Widget is the MetricWidget JSON as sent.
	Widget       string
	OutputFormat string
	Metrics      []WidgetMetric
	Title, View  string
	Stat         string
	Period       int64
	Start, End   time.Time
	// Width and Height are the image's size in pixels.
	Width, Height int
	Horizontal    []WidgetAnnotation
	Vertical      []WidgetTimeAnnotation
	YMin, YMax    *float64
	YLabel        string
	Legend        string // bottom, right or hidden
	// Lines counts the visible series drawn with at least one datapoint.
	Lines int
	// PNG is the image returned.
	PNG []byte
}

// WidgetImages returns every GetMetricWidgetImage call answered, in order.
func (m *Metrics) WidgetImages() []WidgetImage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]WidgetImage(nil), m.widgets...)
}

func widgetError(format string, args ...any) *Error {
	return validationError("Invalid MetricWidget: "+format, args...)
}

func (m *Metrics) getMetricWidgetImage(r *Request) (any, error) {
	raw := r.String("MetricWidget")
	if raw == "" {
		return nil, validationError("1 validation error detected: Value null at 'metricWidget' failed to satisfy constraint: Member must not be null")
	}
	if len(raw) > MaxMetricWidgetBytes {
		return nil, widgetError("the widget definition is %d bytes; the limit is %d bytes (100 KB)", len(raw), MaxMetricWidgetBytes)
	}
	format := r.String("OutputFormat")
	switch format {
	case "", "png", "image/png":
	default:
		return nil, validationError("The value %q for parameter OutputFormat is not supported; only png is.", format)
	}
	w, err := parseWidget(raw, r.Now())
	if err != nil {
		return nil, err
	}
	w.Owner, w.AccessKeyID, w.Region, w.OutputFormat = r.Owner, r.AccessKeyID, r.Region, format

	m.mu.Lock()
	series, err := m.widgetSeries(w)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	png, lines, err := renderWidget(w, series)
	if err != nil {
		return nil, err
	}
	w.PNG, w.Lines = png, lines
	m.mu.Lock()
	m.widgets = append(m.widgets, *w)
	m.mu.Unlock()
	if format == "image/png" {
		// As documented: the raw image, not the protocol's response. SDKs
		// cannot read it; they must ask for png.
		return rawBody{contentType: "image/png", body: png}, nil
	}
	return map[string]any{"MetricWidgetImage": png}, nil
}

// widgetSeries computes every entry's series; hidden entries are computed
// (math may use them) but come back with visible false. Callers hold m.mu.
func (m *Metrics) widgetSeries(w *WidgetImage) ([]widgetLine, error) {
	computed := map[string][]resultSeries{}
	out := make([][]resultSeries, len(w.Metrics))
	queries := make([]mdQuery, len(w.Metrics))
	for i, wm := range w.Metrics {
		q := mdQuery{id: wm.ID, label: wm.Label, expr: wm.Expression, period: wm.Period, namespace: wm.Namespace, metric: wm.MetricName, dims: wm.Dimensions, stat: wm.Stat}
		queries[i] = q
		var rs []resultSeries
		switch {
		case q.expr == "":
			rs = m.metricStat(q, w.Start, w.End)
		case isInsightsQuery(q.expr):
			var err error
			if rs, err = m.insights(q, w.Start, w.End); err != nil {
				return nil, err
			}
		default:
			continue
		}
		out[i] = rs
		computed[q.id] = rs
	}
	for i, q := range queries {
		if q.expr != "" && !isInsightsQuery(q.expr) {
			rs, err := evalMath(q, computed)
			if err != nil {
				return nil, err
			}
			out[i] = rs
			computed[q.id] = rs
		}
	}
	var lines []widgetLine
	for i, rs := range out {
		for _, s := range rs {
			label := s.label
			if w.Metrics[i].Label == "" && w.Metrics[i].Expression == "" {
				label = widgetDefaultLabel(w.Metrics[i])
			}
			lines = append(lines, widgetLine{label: label, color: w.Metrics[i].Color, visible: w.Metrics[i].Visible, ts: s.ts, vals: s.vals})
		}
	}
	return lines, nil
}

// widgetDefaultLabel is how the console labels a metric: its name and the
// values of its dimensions.
func widgetDefaultLabel(wm WidgetMetric) string {
	parts := []string{wm.MetricName}
	for _, k := range slices.Sorted(maps.Keys(wm.Dimensions)) {
		parts = append(parts, wm.Dimensions[k])
	}
	return strings.Join(parts, " ")
}

// --- parsing ------------------------------------------------------------

func parseWidget(raw string, now time.Time) (*WidgetImage, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(raw)))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return nil, widgetError("it is not a JSON object: %v", err)
	}
	if d.More() {
		return nil, widgetError("unexpected data after the JSON object")
	}
	w := &WidgetImage{Widget: raw, View: "timeSeries", Stat: "Average", Period: 300, Width: 600, Height: 400, Legend: "bottom"}
	var err error
	if w.Title, err = optString(doc, "title"); err != nil {
		return nil, err
	}
	if v, err := optString(doc, "view"); err != nil {
		return nil, err
	} else if v != "" {
		switch v {
		case "timeSeries", "singleValue", "bar", "pie", "gauge":
			w.View = v
		default:
			return nil, widgetError("view %q is not one of timeSeries, singleValue, bar, pie, gauge", v)
		}
	}
	if s, err := optString(doc, "stat"); err != nil {
		return nil, err
	} else if s != "" {
		if !validStat(s) {
			return nil, widgetError("stat %q is not a valid statistic", s)
		}
		w.Stat = s
	}
	if p, ok, err := optInt(doc, "period"); err != nil {
		return nil, err
	} else if ok {
		if !validPeriod(p) {
			return nil, widgetError("period %d must be 1, 5, 10, 30 or a multiple of 60", p)
		}
		w.Period = p
	}
	for _, dim := range []struct {
		name string
		dst  *int
	}{{"width", &w.Width}, {"height", &w.Height}} {
		v, ok, err := optInt(doc, dim.name)
		if err != nil {
			return nil, err
		}
		if ok {
			if v < 1 || v > 2000 {
				return nil, widgetError("%s %d is out of range: valid values are 1–2000 pixels", dim.name, v)
			}
			*dim.dst = int(v)
		}
	}
	startS, err := optString(doc, "start")
	if err != nil {
		return nil, err
	}
	endS, err := optString(doc, "end")
	if err != nil {
		return nil, err
	}
	if startS == "" {
		startS = "-PT3H"
	}
	if endS == "" {
		endS = "-PT0H"
	}
	if w.Start, err = widgetTime("start", startS, now); err != nil {
		return nil, err
	}
	if w.End, err = widgetTime("end", endS, now); err != nil {
		return nil, err
	}
	if !w.Start.Before(w.End) {
		return nil, widgetError("start (%s) must be before end (%s)", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	if err := parseWidgetMetrics(doc, w); err != nil {
		return nil, err
	}
	if err := parseAnnotations(doc, w); err != nil {
		return nil, err
	}
	if err := parseYAxis(doc, w); err != nil {
		return nil, err
	}
	if lg, ok := doc["legend"].(map[string]any); ok {
		pos, _ := lg["position"].(string)
		switch pos {
		case "bottom", "right", "hidden":
			w.Legend = pos
		case "":
		default:
			return nil, widgetError("legend.position %q is not one of bottom, right, hidden", pos)
		}
	}
	return w, nil
}

func optString(doc map[string]any, key string) (string, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", widgetError("%s must be a string", key)
	}
	return s, nil
}

func optInt(doc map[string]any, key string) (int64, bool, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, false, widgetError("%s must be a number", key)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, false, widgetError("%s must be an integer", key)
	}
	return i, true, nil
}

func optFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

var isoDuration = regexp.MustCompile(`^-P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// widgetTime reads an absolute ISO 8601 time or a relative one (-PT3H).
func widgetTime(name, s string, now time.Time) (time.Time, error) {
	if m := isoDuration.FindStringSubmatch(s); m != nil && s != "-P" && s != "-PT" {
		d := time.Duration(0)
		for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second} {
			if m[i+1] != "" {
				n, _ := strconv.Atoi(m[i+1])
				d += time.Duration(n) * unit
			}
		}
		return now.Add(-d).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, widgetError("%s %q is neither an ISO 8601 time (2018-04-25T12:00:00.000Z) nor a relative time (-PT3H)", name, s)
}

func parseWidgetMetrics(doc map[string]any, w *WidgetImage) error {
	raw, ok := doc["metrics"]
	if !ok {
		return widgetError("metrics is required")
	}
	list, ok := raw.([]any)
	if !ok {
		return widgetError("metrics must be an array of arrays")
	}
	if len(list) < 1 || len(list) > 100 {
		return widgetError("metrics has %d entries; a widget holds 1–100 metrics and expressions", len(list))
	}
	var prev []string
	ids := map[string]bool{}
	for i, e := range list {
		arr, ok := e.([]any)
		if !ok || len(arr) == 0 {
			return widgetError("metrics[%d] must be a non-empty array", i)
		}
		wm := WidgetMetric{Visible: true}
		var opts map[string]any
		if o, ok := arr[len(arr)-1].(map[string]any); ok {
			opts, arr = o, arr[:len(arr)-1]
		}
		if len(arr) == 0 { // [{"expression": ...}]
			expr, _ := opts["expression"].(string)
			if strings.TrimSpace(expr) == "" {
				return widgetError("metrics[%d] has neither a metric nor an expression", i)
			}
			wm.Expression = expr
		} else {
			parts := make([]string, 0, len(arr))
			for j, a := range arr {
				s, ok := a.(string)
				if !ok {
					return widgetError("metrics[%d][%d] must be a string", i, j)
				}
				parts = append(parts, s)
			}
			parts, err := expandShorthand(parts, prev, i)
			if err != nil {
				return err
			}
			if len(parts) < 2 || len(parts)%2 != 0 {
				return widgetError("metrics[%d] must be [Namespace, MetricName, DimensionName, DimensionValue, ...]: got %d strings", i, len(parts))
			}
			if len(parts) > 2+2*30 {
				return widgetError("metrics[%d] has more than 30 dimensions", i)
			}
			prev = parts
			wm.Namespace, wm.MetricName = parts[0], parts[1]
			wm.Dimensions = map[string]string{}
			for j := 2; j < len(parts); j += 2 {
				wm.Dimensions[parts[j]] = parts[j+1]
			}
			wm.Stat, wm.Period = w.Stat, w.Period
		}
		if err := applyMetricOptions(&wm, opts, i, w.Period); err != nil {
			return err
		}
		if wm.ID == "" {
			wm.ID = fmt.Sprintf("m%d", i+1)
		} else if !queryIDPattern.MatchString(wm.ID) {
			return widgetError("metrics[%d] id %q must start with a lowercase letter and hold only letters, digits and _", i, wm.ID)
		}
		if ids[wm.ID] {
			return widgetError("metrics[%d] id %q is used twice", i, wm.ID)
		}
		ids[wm.ID] = true
		w.Metrics = append(w.Metrics, wm)
	}
	return nil
}

// expandShorthand resolves "." and "..." against the previous entry.
func expandShorthand(parts, prev []string, i int) ([]string, error) {
	if len(parts) > 0 && parts[0] == "..." {
		if prev == nil {
			return nil, widgetError(`metrics[%d] starts with "..." but no metric precedes it`, i)
		}
		rest := parts[1:]
		if len(rest) > len(prev) {
			return nil, widgetError(`metrics[%d] replaces more elements than the previous metric has`, i)
		}
		return append(append([]string(nil), prev[:len(prev)-len(rest)]...), rest...), nil
	}
	out := append([]string(nil), parts...)
	for j, p := range out {
		if p == "." {
			if j >= len(prev) {
				return nil, widgetError(`metrics[%d][%d] is "." but the previous metric has no element there`, i, j)
			}
			out[j] = prev[j]
		}
	}
	return out, nil
}

func applyMetricOptions(wm *WidgetMetric, opts map[string]any, i int, period int64) error {
	for k, v := range opts {
		switch k {
		case "expression":
			if wm.Expression == "" && wm.MetricName != "" {
				return widgetError("metrics[%d] has both a metric and an expression", i)
			}
		case "id", "label", "color", "stat":
			s, ok := v.(string)
			if !ok {
				return widgetError("metrics[%d].%s must be a string", i, k)
			}
			switch k {
			case "id":
				wm.ID = s
			case "label":
				wm.Label = s
			case "color":
				wm.Color = s
			case "stat":
				if !validStat(s) {
					return widgetError("metrics[%d].stat %q is not a valid statistic", i, s)
				}
				wm.Stat = s
			}
		case "period":
			f, ok := optFloat(v)
			if !ok || !validPeriod(int64(f)) || f != float64(int64(f)) {
				return widgetError("metrics[%d].period must be 1, 5, 10, 30 or a multiple of 60", i)
			}
			wm.Period = int64(f)
		case "visible":
			b, ok := v.(bool)
			if !ok {
				return widgetError("metrics[%d].visible must be true or false", i)
			}
			wm.Visible = b
		}
	}
	if wm.Expression != "" && wm.Period == 0 {
		wm.Period = period
	}
	return nil
}

func parseAnnotations(doc map[string]any, w *WidgetImage) error {
	ann, ok := doc["annotations"].(map[string]any)
	if !ok {
		if _, present := doc["annotations"]; present {
			return widgetError("annotations must be an object with horizontal and vertical arrays")
		}
		return nil
	}
	// Each entry is an annotation object or, for a band, a pair of them.
	entries := func(key string) ([]map[string]any, error) {
		raw, present := ann[key]
		if !present {
			return nil, nil
		}
		list, ok := raw.([]any)
		if !ok {
			return nil, widgetError("annotations.%s must be an array", key)
		}
		var out []map[string]any
		for i, e := range list {
			switch x := e.(type) {
			case map[string]any:
				out = append(out, x)
			case []any:
				for _, b := range x {
					m, ok := b.(map[string]any)
					if !ok {
						return nil, widgetError("annotations.%s[%d] must hold annotation objects", key, i)
					}
					out = append(out, m)
				}
			default:
				return nil, widgetError("annotations.%s[%d] must be an object", key, i)
			}
		}
		return out, nil
	}
	hs, err := entries("horizontal")
	if err != nil {
		return err
	}
	for i, h := range hs {
		v, ok := optFloat(h["value"])
		if !ok {
			return widgetError("annotations.horizontal[%d].value must be a number", i)
		}
		if vis, ok := h["visible"].(bool); ok && !vis {
			continue
		}
		label, _ := h["label"].(string)
		color, _ := h["color"].(string)
		w.Horizontal = append(w.Horizontal, WidgetAnnotation{Value: v, Label: label, Color: color})
	}
	vs, err := entries("vertical")
	if err != nil {
		return err
	}
	for i, v := range vs {
		s, _ := v["value"].(string)
		t, err := widgetTime(fmt.Sprintf("annotations.vertical[%d].value", i), s, w.End)
		if err != nil {
			return err
		}
		label, _ := v["label"].(string)
		w.Vertical = append(w.Vertical, WidgetTimeAnnotation{Time: t, Label: label})
	}
	return nil
}

func parseYAxis(doc map[string]any, w *WidgetImage) error {
	ya, ok := doc["yAxis"].(map[string]any)
	if !ok {
		return nil
	}
	left, ok := ya["left"].(map[string]any)
	if !ok {
		return nil
	}
	if v, ok := optFloat(left["min"]); ok {
		w.YMin = &v
	}
	if v, ok := optFloat(left["max"]); ok {
		w.YMax = &v
	}
	if w.YMin != nil && w.YMax != nil && *w.YMin >= *w.YMax {
		return widgetError("yAxis.left.min (%g) must be below yAxis.left.max (%g)", *w.YMin, *w.YMax)
	}
	w.YLabel, _ = left["label"].(string)
	return nil
}
