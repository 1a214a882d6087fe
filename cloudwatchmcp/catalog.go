package cloudwatchmcp

// PLACEHOLDER owned by the catalog work, which replaces this file. The API
// below is the contract the metrics tools compile against.

// metricCatalog is the embedded metric metadata and alarm recommendations,
// optionally merged with a user file in awslabs' metric_metadata.json shape.
type metricCatalog struct {
	entries map[catalogKey]*metricMetadata
}

type catalogKey struct{ namespace, metricName string }

// metricMetadata is one (namespace, metric) entry. JSON shape as awslabs'
// metric_metadata.json entries.
type metricMetadata struct {
	MetricID struct {
		Namespace  string `json:"namespace"`
		MetricName string `json:"metricName"`
	} `json:"metricId"`
	Description           string                    `json:"description"`
	RecommendedStatistics string                    `json:"recommendedStatistics,omitempty"`
	UnitInfo              string                    `json:"unitInfo,omitempty"`
	AlarmRecommendations  []alarmRecommendationSpec `json:"alarmRecommendations,omitempty"`
}

// alarmRecommendationSpec is one documented alarm recommendation.
type alarmRecommendationSpec struct {
	AlarmDescription   string             `json:"alarmDescription"`
	ComparisonOperator string             `json:"comparisonOperator"`
	DatapointsToAlarm  int                `json:"datapointsToAlarm,omitempty"`
	Dimensions         []catalogDimension `json:"dimensions,omitempty"`
	EvaluationPeriods  int                `json:"evaluationPeriods,omitempty"`
	Intent             string             `json:"intent"`
	Period             int                `json:"period,omitempty"`
	Statistic          string             `json:"statistic"`
	Threshold          catalogThreshold   `json:"threshold"`
	TreatMissingData   string             `json:"treatMissingData,omitempty"`
}

type catalogDimension struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

type catalogThreshold struct {
	Justification string   `json:"justification"`
	StaticValue   *float64 `json:"staticValue,omitempty"`
	Sensitivity   *float64 `json:"sensitivity,omitempty"`
}

// lookup returns the entry for (namespace, metricName).
func (c *metricCatalog) lookup(namespace, metricName string) (*metricMetadata, bool) {
	if c == nil {
		return nil, false
	}
	m, ok := c.entries[catalogKey{namespace, metricName}]
	return m, ok
}

// loadCatalog returns the embedded catalog merged with extraFile ("" = none).
func loadCatalog(extraFile string) (*metricCatalog, error) {
	return &metricCatalog{entries: map[catalogKey]*metricMetadata{}}, nil
}
