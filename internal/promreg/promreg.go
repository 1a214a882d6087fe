// Package promreg registers a module's Prometheus collectors on the registry
// of each Caddy config (ctx.GetMetricsRegistry()). Both HTTP modules use it;
// it is shared here because they must not import each other.
package promreg

import (
	"errors"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Register adds collectors to reg. Collectors are package-level so counts
// survive config reloads, and several handlers provision against the same
// registry: finding the very same collector already there is fine, any
// other collector of the same name is a clash and an error.
func Register(reg *prometheus.Registry, collectors ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return err
		}
	}
	return nil
}

// Flatten gathers g the way a metrics endpoint does and returns the series
// whose names start with prefix as `name{label="value",...}` -> value, with
// histograms as `name_count`. Tests use it to assert exact deltas.
func Flatten(g prometheus.Gatherer, prefix string) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(labels)
			name := mf.GetName()
			var v float64
			switch {
			case m.GetHistogram() != nil:
				name += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			default:
				v = m.GetCounter().GetValue()
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out, nil
}
