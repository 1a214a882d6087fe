package grafana

import (
	"fmt"
	"io"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// family is one metric family a Caddy exported: its type and, per label,
// the values its series had.
type family struct {
	typ    dto.MetricType
	labels map[string]map[string]bool
}

// exported is a scrape of a metrics endpoint, by family name.
type exported struct {
	families map[string]*family
	raw      map[string]*dto.MetricFamily
}

// parseExposition reads the Prometheus text format, as a scrape does.
func parseExposition(r io.Reader) (*exported, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	e := &exported{families: map[string]*family{}, raw: mfs}
	for name, mf := range mfs {
		f := &family{typ: mf.GetType(), labels: map[string]map[string]bool{}}
		add := func(label, v string) {
			if f.labels[label] == nil {
				f.labels[label] = map[string]bool{}
			}
			f.labels[label][v] = true
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				add(l.GetName(), l.GetValue())
			}
			for _, b := range m.GetHistogram().GetBucket() {
				add("le", model.FloatString(b.GetUpperBound()).String())
			}
			if m.GetHistogram() != nil {
				add("le", "+Inf")
			}
			for _, q := range m.GetSummary().GetQuantile() {
				add("quantile", model.FloatString(q.GetQuantile()).String())
			}
		}
		e.families[name] = f
	}
	return e, nil
}

// resolve finds the family of a series name as Prometheus stores it
// (histograms and summaries as _bucket, _sum and _count series) and the
// labels that series has, le and quantile included.
func (e *exported) resolve(series string) (*family, map[string]map[string]bool, error) {
	if f, ok := e.families[series]; ok {
		if f.typ == dto.MetricType_HISTOGRAM {
			return nil, nil, fmt.Errorf("%s is a histogram: query %[1]s_bucket, %[1]s_sum or %[1]s_count", series)
		}
		return f, f.labels, nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(series, suffix)
		if !ok {
			continue
		}
		f, ok := e.families[base]
		if !ok || f.typ != dto.MetricType_HISTOGRAM && f.typ != dto.MetricType_SUMMARY {
			continue
		}
		if suffix == "_bucket" && f.typ != dto.MetricType_HISTOGRAM {
			continue
		}
		labels := map[string]map[string]bool{}
		for l, vs := range f.labels {
			if l == "le" && suffix != "_bucket" || l == "quantile" {
				continue
			}
			labels[l] = vs
		}
		return f, labels, nil
	}
	return nil, nil, fmt.Errorf("metric %s is not exported by Caddy with the plugin", series)
}
