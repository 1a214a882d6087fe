// Package catalog is the metric catalog behind get_metric_metadata and
// get_recommended_metric_alarms: descriptions, recommended statistics and
// units of the common AWS metrics, with the alarms AWS recommends for them
// (CloudWatch "Recommended alarms"). It is our own data, one JSON file per
// service embedded from this directory, in awslabs' metric_metadata.json
// entry shape so their file format also works as an override
// (metric_metadata).
package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.json
var embeddedCatalog embed.FS

// Catalog is the embedded metric metadata and alarm recommendations,
// optionally merged with a user file in awslabs' metric_metadata.json shape.
type Catalog struct {
	entries map[catalogKey]*Metric
}

type catalogKey struct{ namespace, metricName string }

// Metric is one (namespace, metric) entry. JSON shape as awslabs'
// metric_metadata.json entries.
type Metric struct {
	MetricID struct {
		Namespace  string `json:"namespace"`
		MetricName string `json:"metricName"`
	} `json:"metricId"`
	Description           string                `json:"description"`
	RecommendedStatistics string                `json:"recommendedStatistics,omitempty"`
	UnitInfo              string                `json:"unitInfo,omitempty"`
	AlarmRecommendations  []AlarmRecommendation `json:"alarmRecommendations,omitempty"`
}

// AlarmRecommendation is one documented alarm recommendation.
type AlarmRecommendation struct {
	AlarmDescription   string      `json:"alarmDescription"`
	ComparisonOperator string      `json:"comparisonOperator"`
	DatapointsToAlarm  int         `json:"datapointsToAlarm,omitempty"`
	Dimensions         []Dimension `json:"dimensions,omitempty"`
	EvaluationPeriods  int         `json:"evaluationPeriods,omitempty"`
	Intent             string      `json:"intent"`
	Period             int         `json:"period,omitempty"`
	Statistic          string      `json:"statistic"`
	Threshold          Threshold   `json:"threshold"`
	TreatMissingData   string      `json:"treatMissingData,omitempty"`
}

type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

type Threshold struct {
	Justification string   `json:"justification"`
	StaticValue   *float64 `json:"staticValue,omitempty"`
	Sensitivity   *float64 `json:"sensitivity,omitempty"`
}

// New returns a catalog of exactly these entries, without the embedded
// data; a later entry for the same (namespace, metricName) replaces an
// earlier one.
func New(entries ...*Metric) *Catalog {
	c := &Catalog{entries: map[catalogKey]*Metric{}}
	for _, e := range entries {
		c.entries[catalogKey{e.MetricID.Namespace, e.MetricID.MetricName}] = e
	}
	return c
}

// Lookup returns the entry for (namespace, metricName).
func (c *Catalog) Lookup(namespace, metricName string) (*Metric, bool) {
	if c == nil {
		return nil, false
	}
	m, ok := c.entries[catalogKey{namespace, metricName}]
	return m, ok
}

// namespaces lists the catalog's namespaces, sorted.
func (c *Catalog) Namespaces() []string {
	seen := map[string]bool{}
	var out []string
	for k := range c.entries {
		if !seen[k.namespace] {
			seen[k.namespace] = true
			out = append(out, k.namespace)
		}
	}
	sort.Strings(out)
	return out
}

// Load returns the embedded catalog merged with extraFile ("" =
// none). An entry of extraFile replaces the embedded entry for the same
// (namespace, metricName) as a whole, so a file can also remove
// recommendations; other embedded entries stay. A file that is unreadable,
// not an array of entries, or has an invalid entry is an error naming the
// file and the entry, which fails provisioning.
func Load(extraFile string) (*Catalog, error) {
	c := &Catalog{entries: map[catalogKey]*Metric{}}
	files, err := fs.Glob(embeddedCatalog, "*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := embeddedCatalog.ReadFile(name)
		if err != nil {
			return nil, err
		}
		entries, err := parseCatalog(b)
		if err != nil {
			return nil, fmt.Errorf("embedded metric catalog %s: %w", path.Base(name), err)
		}
		for _, e := range entries {
			k := catalogKey{e.MetricID.Namespace, e.MetricID.MetricName}
			if _, dup := c.entries[k]; dup {
				return nil, fmt.Errorf("embedded metric catalog %s: %s/%s is defined twice", path.Base(name), k.namespace, k.metricName)
			}
			c.entries[k] = e
		}
	}
	if extraFile == "" {
		return c, nil
	}
	b, err := os.ReadFile(extraFile)
	if err != nil {
		return nil, fmt.Errorf("metric_metadata %s: %w", extraFile, err)
	}
	entries, err := parseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("metric_metadata %s: %w", extraFile, err)
	}
	for _, e := range entries {
		c.entries[catalogKey{e.MetricID.Namespace, e.MetricID.MetricName}] = e
	}
	return c, nil
}

// parseCatalog decodes and validates a JSON array of entries. Unknown
// fields are ignored, as awslabs' loader does, so newer files still load.
func parseCatalog(b []byte) ([]*Metric, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var entries []*Metric
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("not a JSON array of metric metadata entries: %w", err)
	}
	for i, e := range entries {
		if e == nil {
			return nil, fmt.Errorf("entry %d is null", i)
		}
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("entry %d (%s/%s): %w", i, e.MetricID.Namespace, e.MetricID.MetricName, err)
		}
	}
	return entries, nil
}

var (
	validComparisonOperators = map[string]bool{
		"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true,
		"LessThanThreshold": true, "LessThanOrEqualToThreshold": true,
		"LessThanLowerOrGreaterThanUpperThreshold": true, "LessThanLowerThreshold": true, "GreaterThanUpperThreshold": true,
	}
	validTreatMissingData = map[string]bool{"": true, "missing": true, "notBreaching": true, "breaching": true, "ignore": true}
	basicStatistics       = map[string]bool{"Average": true, "Sum": true, "Minimum": true, "Maximum": true, "SampleCount": true, "IQM": true}
	// Extended statistics: p99, p99.9, tm90, wm99, tc90, ts90, and the
	// range forms TM(10%:90%), PR(:300) and so on.
	extendedStatistic = regexp.MustCompile(`^((p|tm|wm|tc|ts)\d{1,2}(\.\d{1,10})?|p100|(PR|TM|WM|TC|TS)\([^()]*\))$`)
)

func validStatistic(s string) bool { return basicStatistics[s] || extendedStatistic.MatchString(s) }

func (e *Metric) validate() error {
	if strings.TrimSpace(e.MetricID.Namespace) == "" || strings.TrimSpace(e.MetricID.MetricName) == "" {
		return fmt.Errorf("metricId needs a namespace and a metricName")
	}
	for i, r := range e.AlarmRecommendations {
		if err := r.validate(); err != nil {
			return fmt.Errorf("alarmRecommendations[%d]: %w", i, err)
		}
	}
	return nil
}

func (r *AlarmRecommendation) validate() error {
	switch {
	case !validComparisonOperators[r.ComparisonOperator]:
		return fmt.Errorf("comparisonOperator %q is not a CloudWatch comparison operator", r.ComparisonOperator)
	case !validStatistic(r.Statistic):
		return fmt.Errorf("statistic %q is not a CloudWatch statistic (Average, Sum, Minimum, Maximum, SampleCount or a percentile like p90)", r.Statistic)
	case !validTreatMissingData[r.TreatMissingData]:
		return fmt.Errorf("treatMissingData %q is not one of missing, notBreaching, breaching, ignore", r.TreatMissingData)
	case r.Period != 0 && r.Period != 10 && r.Period != 20 && r.Period != 30 && (r.Period < 0 || r.Period%60 != 0):
		return fmt.Errorf("period %d is not 10, 20, 30 or a multiple of 60 seconds", r.Period)
	case r.EvaluationPeriods < 0 || r.DatapointsToAlarm < 0:
		return fmt.Errorf("evaluationPeriods and datapointsToAlarm cannot be negative")
	case r.EvaluationPeriods > 0 && r.DatapointsToAlarm > r.EvaluationPeriods:
		return fmt.Errorf("datapointsToAlarm (%d) exceeds evaluationPeriods (%d)", r.DatapointsToAlarm, r.EvaluationPeriods)
	case r.Threshold.StaticValue != nil && r.Threshold.Sensitivity != nil:
		return fmt.Errorf("threshold has both staticValue and sensitivity")
	case r.Threshold.Sensitivity != nil && !(*r.Threshold.Sensitivity > 0 && *r.Threshold.Sensitivity <= 100):
		return fmt.Errorf("threshold sensitivity %v is outside (0, 100]", *r.Threshold.Sensitivity)
	}
	for _, d := range r.Dimensions {
		if strings.TrimSpace(d.Name) == "" {
			return fmt.Errorf("a dimension has no name")
		}
	}
	return nil
}
