package fakeaws

import (
	"slices"
	"sort"
)

// CloudWatch ListMetrics (RPCv2 CBOR) over the seeded series: Namespace,
// MetricName and Dimensions filters, 500 metrics a page with NextToken, and
// per-namespace owners so that two users can see different metrics.

func init() {
	Register(func(f *Fake) {
		f.Handle("monitoring", "ListMetrics", func(r *Request) (any, error) { return MetricsOf(r.Fake()).listMetrics(r) })
	})
}

// listMetricsPageSize is AWS's page size for ListMetrics.
const listMetricsPageSize = 500

// SetNamespaceOwners makes the namespace's metrics visible in ListMetrics
// only to these key owners (metrics in their own accounts); no owners
// makes it visible to everyone again.
func (m *Metrics) SetNamespaceOwners(namespace string, owners ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.owners == nil {
		m.owners = map[string][]string{}
	}
	m.owners[namespace] = slices.Clone(owners)
}

func (m *Metrics) listMetrics(r *Request) (any, error) {
	namespace, metric := r.String("Namespace"), r.String("MetricName")
	var dims []map[string]any
	if l, ok := r.Input["Dimensions"].([]any); ok {
		for _, d := range l {
			if dm, ok := d.(map[string]any); ok {
				dims = append(dims, dm)
			}
		}
	}
	offset := 0
	if tok := r.String("NextToken"); tok != "" {
		var ok bool
		if offset, ok = decodePageToken(tok, "ListMetrics"); !ok {
			return nil, Errorf("InvalidParameterValue", "The service returned an invalid NextToken.")
		}
	}
	m.mu.Lock()
	var match []*metricSeries
	for _, k := range m.order {
		s := m.series[k]
		if owners := m.owners[s.namespace]; len(owners) > 0 && !slices.Contains(owners, r.Owner) {
			continue
		}
		if namespace != "" && s.namespace != namespace || metric != "" && s.metric != metric {
			continue
		}
		ok := true
		for _, d := range dims {
			name, _ := d["Name"].(string)
			v, has := s.dims[name]
			if want, _ := d["Value"].(string); !has || want != "" && want != v {
				ok = false
			}
		}
		if ok {
			match = append(match, s)
		}
	}
	m.mu.Unlock()
	sort.SliceStable(match, func(i, j int) bool {
		if match[i].namespace != match[j].namespace {
			return match[i].namespace < match[j].namespace
		}
		return match[i].metric < match[j].metric
	})
	if offset > len(match) {
		return nil, Errorf("InvalidParameterValue", "The service returned an invalid NextToken.")
	}
	end := min(offset+listMetricsPageSize, len(match))
	out := make([]any, 0, end-offset)
	for _, s := range match[offset:end] {
		names := make([]string, 0, len(s.dims))
		for k := range s.dims {
			names = append(names, k)
		}
		sort.Strings(names)
		ds := make([]any, 0, len(names))
		for _, k := range names {
			ds = append(ds, map[string]any{"Name": k, "Value": s.dims[k]})
		}
		out = append(out, map[string]any{"Namespace": s.namespace, "MetricName": s.metric, "Dimensions": ds})
	}
	res := map[string]any{"Metrics": out}
	if end < len(match) {
		res["NextToken"] = encodePageToken("ListMetrics", end)
	}
	return res, nil
}
