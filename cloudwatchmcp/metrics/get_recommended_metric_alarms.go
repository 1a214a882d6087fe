package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "metrics", Tool: getRecommendedMetricAlarmsTool, Handler: handleGetRecommendedMetricAlarms, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("recommendations")}},
		Hint:  toolkit.Hint("Recommendations were dropped from the end. Pass dimensions or a statistic to narrow them."),
	}})
}

var getRecommendedMetricAlarmsTool = mcp.NewTool("get_recommended_metric_alarms",
	mcp.WithDescription(getRecommendedAlarmsDescription),
	mcp.WithRawInputSchema(json.RawMessage(getRecommendedAlarmsInputSchema)),
	mcp.WithRawOutputSchema(json.RawMessage(getRecommendedAlarmsOutputSchema)),
	mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
)

// get_recommended_metric_alarms: catalog recommendations filtered by the
// caller's dimensions; failing that, an anomaly-detection alarm (with a
// CloudFormation template) when analyze_metric finds a seasonality.

const anomalyOperator = "LessThanLowerOrGreaterThanUpperThreshold"

// alarmThreshold serialises as {justification, staticValue} or
// {justification, sensitivity}, like awslabs' two threshold models.
type alarmThreshold struct {
	Justification string   `json:"justification"`
	StaticValue   *float64 `json:"staticValue,omitempty"`
	Sensitivity   *float64 `json:"sensitivity,omitempty"`
}

type alarmDimension struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// alarmRecommendation is awslabs' AlarmRecommendation, in its field order.
type alarmRecommendation struct {
	AlarmDescription       string           `json:"alarmDescription"`
	Threshold              alarmThreshold   `json:"threshold"`
	Period                 int              `json:"period"`
	ComparisonOperator     string           `json:"comparisonOperator"`
	Statistic              string           `json:"statistic"`
	EvaluationPeriods      int              `json:"evaluationPeriods"`
	DatapointsToAlarm      int              `json:"datapointsToAlarm"`
	TreatMissingData       string           `json:"treatMissingData"`
	Dimensions             []alarmDimension `json:"dimensions"`
	Intent                 string           `json:"intent"`
	CloudFormationTemplate *cfnTemplate     `json:"cloudformation_template,omitempty"`
}

type alarmRecommendationResult struct {
	Recommendations []alarmRecommendation `json:"recommendations"`
	Message         string                `json:"message"`
}

func handleGetRecommendedMetricAlarms(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	t, err := metricTargetArgs(a)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	ns, metric, dims, stat, region, profile := t.namespace, t.metric, t.dims, t.stat, t.region, t.profile
	// The catalog answers without AWS (as in awslabs), but a malformed
	// region is refused either way.
	if _, err := e.Region(region); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if profile != "" {
		// Refused outside `credentials default` on every path.
		if _, _, err := e.CallerCredentials(ctx, profile); err != nil {
			return toolkit.ErrorResult(ctx, err), nil
		}
	}

	if md, ok := e.Catalog.Lookup(ns, metric); ok && md != nil {
		var recs []alarmRecommendation
		for i, spec := range md.AlarmRecommendations {
			if !alarmMatchesDimensions(spec, dims) {
				continue
			}
			rec, err := recommendationFromSpec(ns, metric, spec, dims)
			if err != nil {
				e.Logger.Warn("skipping an invalid alarm recommendation in the metric catalog",
					zap.String("namespace", ns), zap.String("metric", metric), zap.Int("index", i), zap.Error(err))
				continue
			}
			recs = append(recs, rec)
		}
		if len(recs) > 0 {
			return toolkit.JSONResult(alarmRecommendationResult{Recommendations: recs, Message: fmt.Sprintf("Found %d matching alarm recommendations", len(recs))}), nil
		}
	}

	// awslabs passes (ns, name, dims, region, statistic) positionally here,
	// so the statistic lands in profile_name and the analysis always uses
	// AVG. We analyze with the caller's statistic and client.
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	_, an, err := analyzeMetric(ctx, cl, analysisRequest(e, ns, metric, dims, stat), ns, metric, dims, stat)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if s := seasonalityFromSeconds(float64(an.Seasonality)); an.Analyzed && s != seasonNone {
		rec := anomalyRecommendation(ns, metric, dims, cloudWatchStat(stat), s)
		return toolkit.JSONResult(alarmRecommendationResult{
			Recommendations: []alarmRecommendation{rec},
			Message:         fmt.Sprintf("Generated 1 alarm recommendation(s) for %s/%s based on metric analysis", ns, metric),
		}), nil
	}
	return toolkit.JSONResult(alarmRecommendationResult{
		Recommendations: []alarmRecommendation{},
		Message:         fmt.Sprintf("No alarm recommendations available for %s/%s with the provided dimensions", ns, metric),
	}), nil
}

// alarmMatchesDimensions: a recommendation without dimensions matches
// anything; a dimension with a value needs the same name with that value;
// one without a value needs only the name. Extra caller dimensions are fine.
func alarmMatchesDimensions(spec catalog.AlarmRecommendation, dims []metricDimension) bool {
	for _, rd := range spec.Dimensions {
		found := false
		for _, d := range dims {
			if d.Name == rd.Name && (rd.Value == "" || d.Value == rd.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// recommendationFromSpec applies awslabs' defaults: period 300, one
// evaluation period and datapoint, treatMissingData missing; a sensitivity
// makes an anomaly threshold (0 < s <= 100), otherwise a static one.
func recommendationFromSpec(ns, metric string, spec catalog.AlarmRecommendation, callerDims []metricDimension) (alarmRecommendation, error) {
	rec := alarmRecommendation{
		AlarmDescription:   spec.AlarmDescription,
		Period:             orDefault(spec.Period, 300),
		ComparisonOperator: spec.ComparisonOperator,
		Statistic:          spec.Statistic,
		EvaluationPeriods:  orDefault(spec.EvaluationPeriods, 1),
		DatapointsToAlarm:  orDefault(spec.DatapointsToAlarm, 1),
		TreatMissingData:   spec.TreatMissingData,
		Intent:             spec.Intent,
		Dimensions:         []alarmDimension{},
		Threshold:          alarmThreshold{Justification: spec.Threshold.Justification},
	}
	if rec.TreatMissingData == "" {
		rec.TreatMissingData = "missing"
	}
	if s := spec.Threshold.Sensitivity; s != nil {
		if !(*s > 0 && *s <= 100) {
			return rec, fmt.Errorf("sensitivity %v is outside (0, 100]", *s)
		}
		v := *s
		rec.Threshold.Sensitivity = &v
	} else {
		v := 0.0
		if spec.Threshold.StaticValue != nil {
			v = *spec.Threshold.StaticValue
		}
		rec.Threshold.StaticValue = &v
	}
	for _, d := range spec.Dimensions {
		ad := alarmDimension{Name: d.Name}
		if d.Value != "" {
			v := d.Value
			ad.Value = &v
		}
		rec.Dimensions = append(rec.Dimensions, ad)
	}
	if rec.ComparisonOperator == anomalyOperator {
		sens := 2.0
		if rec.Threshold.Sensitivity != nil {
			sens = *rec.Threshold.Sensitivity
		}
		rec.CloudFormationTemplate = anomalyAlarmTemplate(cfnAlarmSpec{
			namespace: ns, metric: metric, dims: callerDims, stat: orDefaultStr(rec.Statistic, "Average"),
			period: rec.Period, evaluationPeriods: rec.EvaluationPeriods, datapointsToAlarm: rec.DatapointsToAlarm,
			treatMissingData: rec.TreatMissingData, description: rec.AlarmDescription, sensitivity: sens,
		})
	}
	return rec, nil
}

// anomalyRecommendation is the single recommendation built from the
// analysis. awslabs passes its dimensions as {Name, Value} to a parser that
// reads lowercase keys, so its output has empty names; ours carries the
// caller's dimensions, in the recommendation and the template alike.
func anomalyRecommendation(ns, metric string, dims []metricDimension, stat string, s seasonality) alarmRecommendation {
	sens := 2.0
	rec := alarmRecommendation{
		AlarmDescription: fmt.Sprintf("Anomaly detection alarm for %s/%s (seasonality %s)", ns, metric, s),
		Threshold: alarmThreshold{
			Justification: fmt.Sprintf("Metric has a seasonality of %s making it suitable for Anomaly Detection.", s),
			Sensitivity:   &sens,
		},
		Period:             300,
		ComparisonOperator: anomalyOperator,
		Statistic:          stat,
		EvaluationPeriods:  2,
		DatapointsToAlarm:  2,
		TreatMissingData:   "missing",
		Dimensions:         make([]alarmDimension, 0, len(dims)),
		Intent:             fmt.Sprintf("Detect anomalies in %s based on %s seasonal length", metric, s),
	}
	for _, d := range dims {
		v := d.Value
		rec.Dimensions = append(rec.Dimensions, alarmDimension{Name: d.Name, Value: &v})
	}
	rec.CloudFormationTemplate = anomalyAlarmTemplate(cfnAlarmSpec{
		namespace: ns, metric: metric, dims: dims, stat: stat, period: 300, evaluationPeriods: 2,
		datapointsToAlarm: 2, treatMissingData: "missing", description: rec.AlarmDescription, sensitivity: sens,
	})
	return rec
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDefaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// --- CloudFormation ---------------------------------------------------------

type cfnAlarmSpec struct {
	namespace, metric string
	dims              []metricDimension
	stat              string
	period            int
	evaluationPeriods int
	datapointsToAlarm int
	treatMissingData  string
	description       string
	sensitivity       float64
}

type cfnDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type cfnTemplate struct {
	AWSTemplateFormatVersion string         `json:"AWSTemplateFormatVersion"`
	Description              string         `json:"Description"`
	Resources                map[string]any `json:"Resources"`
}

type cfnResource struct {
	Type       string `json:"Type"`
	DependsOn  string `json:"DependsOn,omitempty"`
	Properties any    `json:"Properties"`
}

type cfnDetectorProps struct {
	MetricName string         `json:"MetricName"`
	Namespace  string         `json:"Namespace"`
	Stat       string         `json:"Stat"`
	Dimensions []cfnDimension `json:"Dimensions"`
}

type cfnMetricStat struct {
	Metric struct {
		MetricName string         `json:"MetricName"`
		Namespace  string         `json:"Namespace"`
		Dimensions []cfnDimension `json:"Dimensions"`
	} `json:"Metric"`
	Stat   string `json:"Stat"`
	Period int    `json:"Period"`
}

type cfnMetricQuery struct {
	Expression string         `json:"Expression,omitempty"`
	ID         string         `json:"Id"`
	MetricStat *cfnMetricStat `json:"MetricStat,omitempty"`
}

type cfnAlarmProps struct {
	AlarmDescription   string           `json:"AlarmDescription"`
	Metrics            []cfnMetricQuery `json:"Metrics"`
	EvaluationPeriods  int              `json:"EvaluationPeriods"`
	DatapointsToAlarm  int              `json:"DatapointsToAlarm"`
	ThresholdMetricID  string           `json:"ThresholdMetricId"`
	ComparisonOperator string           `json:"ComparisonOperator"`
	TreatMissingData   string           `json:"TreatMissingData"`
}

// cfnLogicalIDMax is CloudFormation's logical ID limit.
const cfnLogicalIDMax = 255

// cfnResourceKey derives the logical ID stem: namespace without "AWS/",
// metric name, and the first dimension's name and value, keeping ASCII
// letters and digits only (CloudFormation rejects anything else; Python's
// isalnum keeps non-ASCII letters), prefixed with "Resource" unless it
// starts with a letter, and short enough that the longest suffix still fits
// 255 characters (awslabs truncates before adding the suffix).
func cfnResourceKey(ns, metric string, dims []metricDimension) string {
	raw := strings.ReplaceAll(ns, "AWS/", "") + metric
	if len(dims) > 0 {
		raw += dims[0].Name + dims[0].Value
	}
	var b strings.Builder
	for _, r := range raw {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	key := b.String()
	if key == "" || !(key[0] >= 'a' && key[0] <= 'z' || key[0] >= 'A' && key[0] <= 'Z') {
		key = "Resource" + key
	}
	if limit := cfnLogicalIDMax - len("AnomalyDetector"); len(key) > limit {
		key = key[:limit]
	}
	return key
}

// pyFloat formats like Python's repr(float): 2 → "2.0", 1.5 → "1.5".
func pyFloat(f float64) string {
	if f != 0 && (f < 1e-4 && f > -1e-4 || f >= 1e16 || f <= -1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// anomalyAlarmTemplate is awslabs' anomaly-detection template: an
// AnomalyDetector and an alarm on ANOMALY_DETECTION_BAND(m1, sensitivity).
func anomalyAlarmTemplate(s cfnAlarmSpec) *cfnTemplate {
	key := cfnResourceKey(s.namespace, s.metric, s.dims)
	dims := make([]cfnDimension, 0, len(s.dims))
	for _, d := range s.dims {
		dims = append(dims, cfnDimension(d))
	}
	ms := &cfnMetricStat{Stat: s.stat, Period: s.period}
	ms.Metric.MetricName, ms.Metric.Namespace, ms.Metric.Dimensions = s.metric, s.namespace, dims
	desc := s.description
	if desc == "" {
		desc = "CloudWatch Alarm generated by CloudWatch MCP server."
	}
	return &cfnTemplate{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              "CloudWatch Alarms and Anomaly Detectors",
		Resources: map[string]any{
			key + "AnomalyDetector": cfnResource{
				Type:       "AWS::CloudWatch::AnomalyDetector",
				Properties: cfnDetectorProps{MetricName: s.metric, Namespace: s.namespace, Stat: s.stat, Dimensions: dims},
			},
			key + "Alarm": cfnResource{
				Type:      "AWS::CloudWatch::Alarm",
				DependsOn: key + "AnomalyDetector",
				Properties: cfnAlarmProps{
					AlarmDescription: desc,
					Metrics: []cfnMetricQuery{
						{Expression: "ANOMALY_DETECTION_BAND(m1, " + pyFloat(s.sensitivity) + ")", ID: "ad1"},
						{ID: "m1", MetricStat: ms},
					},
					EvaluationPeriods:  s.evaluationPeriods,
					DatapointsToAlarm:  s.datapointsToAlarm,
					ThresholdMetricID:  "ad1",
					ComparisonOperator: anomalyOperator,
					TreatMissingData:   s.treatMissingData,
				},
			},
		},
	}
}
