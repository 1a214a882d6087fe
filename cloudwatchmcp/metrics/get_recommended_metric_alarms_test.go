package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func ptrF(f float64) *float64 { return &f }

func ec2CPUTestEntry() *catalog.Metric {
	md := &catalog.Metric{Description: "CPU", RecommendedStatistics: "Average", UnitInfo: "Percent"}
	md.MetricID.Namespace, md.MetricID.MetricName = "AWS/EC2", "CPUUtilization"
	md.AlarmRecommendations = []catalog.AlarmRecommendation{
		{AlarmDescription: "high cpu", ComparisonOperator: "GreaterThanThreshold", DatapointsToAlarm: 3, EvaluationPeriods: 3,
			Intent: "catch saturation", Period: 60, Statistic: "Average", TreatMissingData: "notBreaching",
			Threshold: catalog.Threshold{Justification: "80% leaves headroom", StaticValue: ptrF(80)}},
		{AlarmDescription: "per instance", ComparisonOperator: "GreaterThanOrEqualToThreshold", Intent: "per-instance",
			Statistic: "Maximum", Dimensions: []catalog.Dimension{{Name: "InstanceId"}},
			Threshold: catalog.Threshold{Justification: "depends on the workload"}},
		{AlarmDescription: "writer only", ComparisonOperator: "GreaterThanThreshold", Intent: "writer", Statistic: "Average",
			Dimensions: []catalog.Dimension{{Name: "Role", Value: "WRITER"}}, Threshold: catalog.Threshold{Justification: "w", StaticValue: ptrF(90)}},
		{AlarmDescription: "band", ComparisonOperator: anomalyOperator, Intent: "anomalies", Statistic: "p90", EvaluationPeriods: 2, DatapointsToAlarm: 2,
			Threshold: catalog.Threshold{Justification: "seasonal", Sensitivity: ptrF(3)}},
		{AlarmDescription: "broken", ComparisonOperator: anomalyOperator, Intent: "x", Statistic: "Average",
			Threshold: catalog.Threshold{Justification: "bad", Sensitivity: ptrF(500)}},
	}
	return md
}

type recResult struct {
	Recommendations []struct {
		AlarmDescription string `json:"alarmDescription"`
		Threshold        struct {
			Justification string   `json:"justification"`
			StaticValue   *float64 `json:"staticValue"`
			Sensitivity   *float64 `json:"sensitivity"`
		} `json:"threshold"`
		Period             int    `json:"period"`
		ComparisonOperator string `json:"comparisonOperator"`
		Statistic          string `json:"statistic"`
		EvaluationPeriods  int    `json:"evaluationPeriods"`
		DatapointsToAlarm  int    `json:"datapointsToAlarm"`
		TreatMissingData   string `json:"treatMissingData"`
		Dimensions         []struct {
			Name  string  `json:"name"`
			Value *string `json:"value"`
		} `json:"dimensions"`
		Intent   string         `json:"intent"`
		Template map[string]any `json:"cloudformation_template"`
	} `json:"recommendations"`
	Message string `json:"message"`
}

func TestRecommendAlarmsFromCatalog(t *testing.T) {
	te := newMetricsEnv(t)
	te.Catalog = metricTestCatalog(ec2CPUTestEntry())
	ctx := mcptest.UserCtx(te.Alice)
	call := func(dims any) (recResult, string) {
		res := te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "dimensions": dims})
		var out recResult
		mcptest.DecodeResult(t, res, &out)
		return out, mcptest.ResultText(t, res)
	}
	out, text := call([]any{map[string]any{"name": "InstanceId", "value": "i-1"}, map[string]any{"name": "Extra", "value": "x"}})
	if out.Message != "Found 3 matching alarm recommendations" || len(out.Recommendations) != 3 {
		t.Fatalf("%s", text)
	}
	a, b, band := out.Recommendations[0], out.Recommendations[1], out.Recommendations[2]
	if a.Period != 60 || a.EvaluationPeriods != 3 || a.TreatMissingData != "notBreaching" || *a.Threshold.StaticValue != 80 || a.Threshold.Sensitivity != nil || a.Template != nil || len(a.Dimensions) != 0 {
		t.Fatalf("static rec %+v", a)
	}
	// Defaults: period 300, one evaluation period and datapoint, missing,
	// staticValue 0.0; a dimension without a value is null.
	if b.Period != 300 || b.EvaluationPeriods != 1 || b.DatapointsToAlarm != 1 || b.TreatMissingData != "missing" || *b.Threshold.StaticValue != 0 ||
		len(b.Dimensions) != 1 || b.Dimensions[0].Name != "InstanceId" || b.Dimensions[0].Value != nil {
		t.Fatalf("defaults %+v", b)
	}
	if *band.Threshold.Sensitivity != 3 || band.Threshold.StaticValue != nil || band.Template == nil {
		t.Fatalf("anomaly rec %+v", band)
	}
	tmpl, _ := json.Marshal(band.Template)
	if !strings.Contains(string(tmpl), `ANOMALY_DETECTION_BAND(m1, 3.0)`) || !strings.Contains(string(tmpl), `"Stat":"p90"`) ||
		!strings.Contains(string(tmpl), `EC2CPUUtilizationInstanceIdi1AnomalyDetector`) {
		t.Fatalf("template %s", tmpl)
	}
	// Field order as awslabs serialises it.
	wantOrder := []string{`"alarmDescription"`, `"threshold"`, `"period"`, `"comparisonOperator"`, `"statistic"`, `"evaluationPeriods"`,
		`"datapointsToAlarm"`, `"treatMissingData"`, `"dimensions"`, `"intent"`}
	last := -1
	for _, k := range wantOrder {
		i := strings.Index(text, k)
		if i < last {
			t.Fatalf("%s out of order in %s", k, text)
		}
		last = i
	}
	if !strings.Contains(text, `"threshold":{"justification":"80% leaves headroom","staticValue":80}`) {
		t.Fatalf("threshold shape: %s", text)
	}

	out, _ = call([]any{map[string]any{"name": "Role", "value": "WRITER"}})
	if len(out.Recommendations) != 3 || out.Recommendations[1].AlarmDescription != "writer only" {
		t.Fatalf("Role=WRITER: %+v", out.Recommendations)
	}
	out, _ = call([]any{map[string]any{"name": "Role", "value": "READER"}})
	if len(out.Recommendations) != 2 {
		t.Fatalf("Role=READER must not match the WRITER recommendation: %+v", out.Recommendations)
	}
	if n := te.Fake.CallCount(""); n != 0 {
		t.Fatalf("catalog answers must not call AWS (%d calls)", n)
	}
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "region": "nowhere"}), "is not an AWS region")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "profile_name": "admin"}), "profile_name is only honoured")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2"}), "metric_name is required")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "statistic": "median"}), "statistic must be one of")
}

// seedMaxOnlySeasonal makes a series whose per-minute Maximum follows a
// daily cycle while its Average is flat: two observations a minute, c±s.
func seedMaxOnlySeasonal(te *mcptest.Env, ns, metric string, dims map[string]string) {
	fakeaws.MetricsOf(te.Fake).PutGenerated(ns, metric, dims, 30*time.Second, func(t time.Time) (float64, bool) {
		minute := t.Truncate(time.Minute)
		s := 10 * (1 + math.Sin(2*math.Pi*float64(minute.Unix())/86400))
		if t.Second() == 0 {
			return 50 + s, true
		}
		return 50 - s, true
	})
}

func TestRecommendAlarmsFromAnalysis(t *testing.T) {
	te := newMetricsEnv(t)
	// The catalog knows the metric but only for Aurora writers: the caller's
	// dimensions match nothing, so the analysis decides.
	md := &catalog.Metric{Description: "load"}
	md.MetricID.Namespace, md.MetricID.MetricName = "MyApp", "Load"
	md.AlarmRecommendations = []catalog.AlarmRecommendation{{AlarmDescription: "w", ComparisonOperator: "GreaterThanThreshold", Statistic: "Average",
		Dimensions: []catalog.Dimension{{Name: "Role", Value: "WRITER"}}, Threshold: catalog.Threshold{StaticValue: ptrF(1)}}}
	te.Catalog = metricTestCatalog(md)
	seedMaxOnlySeasonal(te, "MyApp", "Load", map[string]string{"Host": "h1"})
	ctx := mcptest.UserCtx(te.Alice)
	args := map[string]any{"namespace": "MyApp", "metric_name": "Load", "dimensions": []any{map[string]any{"name": "Host", "value": "h1"}}}

	// Fix (a): the caller's statistic reaches the analysis. awslabs always
	// analyzes AVG, which is flat here, and would recommend nothing.
	args["statistic"] = "MAX"
	res := te.CallTool(t, ctx, "get_recommended_metric_alarms", args)
	var out recResult
	mcptest.DecodeResult(t, res, &out)
	if out.Message != "Generated 1 alarm recommendation(s) for MyApp/Load based on metric analysis" || len(out.Recommendations) != 1 {
		t.Fatalf("%s", mcptest.ResultText(t, res))
	}
	r := out.Recommendations[0]
	if r.AlarmDescription != "Anomaly detection alarm for MyApp/Load (seasonality ONE_DAY)" ||
		r.Threshold.Justification != "Metric has a seasonality of ONE_DAY making it suitable for Anomaly Detection." || *r.Threshold.Sensitivity != 2 ||
		r.ComparisonOperator != anomalyOperator || r.Statistic != "Maximum" || r.EvaluationPeriods != 2 || r.DatapointsToAlarm != 2 ||
		r.Period != 300 || r.TreatMissingData != "missing" || r.Intent != "Detect anomalies in Load based on ONE_DAY seasonal length" {
		t.Fatalf("%+v", r)
	}
	// Fix (b): dimensions carry the caller's names and values (awslabs:
	// [{name: "", value: null}]), in the recommendation and the template.
	if len(r.Dimensions) != 1 || r.Dimensions[0].Name != "Host" || r.Dimensions[0].Value == nil || *r.Dimensions[0].Value != "h1" {
		t.Fatalf("dimensions %+v", r.Dimensions)
	}
	tmpl, _ := json.Marshal(r.Template)
	for _, want := range []string{`"MyAppLoadHosth1AnomalyDetector"`, `"MyAppLoadHosth1Alarm"`, `"DependsOn":"MyAppLoadHosth1AnomalyDetector"`,
		`"Dimensions":[{"Name":"Host","Value":"h1"}]`, `"Expression":"ANOMALY_DETECTION_BAND(m1, 2.0)","Id":"ad1"`, `"Period":300,"Stat":"Maximum"`, `"ThresholdMetricId":"ad1"`} {
		if !strings.Contains(string(tmpl), want) {
			t.Fatalf("template lacks %s: %s", want, tmpl)
		}
	}
	assertSignedByAlice(t, te, "GetMetricData")

	args["statistic"] = "AVG"
	res = te.CallTool(t, ctx, "get_recommended_metric_alarms", args)
	mcptest.DecodeResult(t, res, &out)
	if len(out.Recommendations) != 0 || out.Message != "No alarm recommendations available for MyApp/Load with the provided dimensions" {
		t.Fatalf("flat average: %s", mcptest.ResultText(t, res))
	}
	if !strings.Contains(mcptest.ResultText(t, res), `"recommendations":[]`) {
		t.Fatal("recommendations must be an empty list, not null")
	}

	te.Fake.SetFault("GetMetricData", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "not allowed", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_recommended_metric_alarms", args), "AWS error AccessDenied: not allowed")
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "get_recommended_metric_alarms", args), toolkit.NoCredentialsMessage)
}

func TestRecommendCloudFormationNaming(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct {
		ns, metric string
		dims       []metricDimension
		want       string
	}{
		{"AWS/EC2", "CPUUtilization", []metricDimension{{"InstanceId", "i-0abc"}, {"X", "y"}}, "EC2CPUUtilizationInstanceIdi0abc"},
		{"AWS/ApplicationELB", "Target Response-Time", nil, "ApplicationELBTargetResponseTime"},
		{"1Custom", "m", nil, "Resource1Custom" + "m"},
		{"", "!!!", nil, "Resource"},
		{"Café/Ünits", "x", nil, "Cafnitsx"},
		{"N", long, nil, ("N" + long)[:240]},
	} {
		got := cfnResourceKey(tc.ns, tc.metric, tc.dims)
		if got != tc.want || len(got+"AnomalyDetector") > 255 {
			t.Errorf("%q %q: %q, want %q", tc.ns, tc.metric, got, tc.want)
		}
	}
	for f, want := range map[float64]string{2: "2.0", 1.5: "1.5", 100: "100.0", 0.5: "0.5", 0.00001: "1e-05", 0.0001: "0.0001"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
	tm := anomalyAlarmTemplate(cfnAlarmSpec{namespace: "AWS/SQS", metric: "Age", stat: "Average", period: 300, evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: "missing", sensitivity: 2})
	b, _ := json.Marshal(tm)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	res := m["Resources"].(map[string]any)
	alarm := res["SQSAgeAlarm"].(map[string]any)
	props := alarm["Properties"].(map[string]any)
	if m["AWSTemplateFormatVersion"] != "2010-09-09" || m["Description"] != "CloudWatch Alarms and Anomaly Detectors" ||
		res["SQSAgeAnomalyDetector"].(map[string]any)["Type"] != "AWS::CloudWatch::AnomalyDetector" || alarm["Type"] != "AWS::CloudWatch::Alarm" ||
		props["AlarmDescription"] != "CloudWatch Alarm generated by CloudWatch MCP server." || len(props["Metrics"].([]any)) != 2 {
		t.Fatalf("template %s", b)
	}
	if !strings.Contains(string(b), `"Dimensions":[]`) {
		t.Fatalf("no dimensions must be an empty list: %s", b)
	}
}

func TestMetricAnalyzeTool(t *testing.T) {
	te := newMetricsEnv(t)
	// Noise keyed on the timestamp keeps the series identical on every read.
	fakeaws.MetricsOf(te.Fake).PutGenerated("MyApp", "Requests", map[string]string{"Api": "get"}, time.Minute, func(t time.Time) (float64, bool) {
		n := rand.New(rand.NewPCG(uint64(t.Unix()), 4)).NormFloat64()
		return 100 + 20*math.Sin(2*math.Pi*float64(t.Unix())/86400) + 3*n, true
	})
	ctx := mcptest.UserCtx(te.Alice)
	res := te.CallTool(t, ctx, "analyze_metric", map[string]any{"namespace": "MyApp", "metric_name": "Requests",
		"dimensions": []any{map[string]any{"name": "Api", "value": "get"}}, "statistic": "Average"})
	var out struct {
		DataPointsFound    int    `json:"data_points_found"`
		SeasonalitySeconds int    `json:"seasonality_seconds"`
		Trend              string `json:"trend"`
		Statistics         struct {
			Min, Max, Median float64
			Std              float64  `json:"std_deviation"`
			CV               *float64 `json:"coefficient_of_variation"`
		} `json:"statistics"`
		DataQuality struct {
			TotalPoints int     `json:"total_points"`
			Density     float64 `json:"density_ratio"`
			Publishing  float64 `json:"publishing_period_seconds"`
		} `json:"data_quality"`
		Message    string `json:"message"`
		MetricInfo struct {
			Namespace, Statistic string
			MetricName           string                      `json:"metric_name"`
			Dimensions           []metricDimension           `json:"dimensions"`
			Minutes              int                         `json:"analysis_period_minutes"`
			TimeRange            struct{ Start, End string } `json:"time_range"`
		} `json:"metric_info"`
	}
	mcptest.DecodeResult(t, res, &out)
	if out.SeasonalitySeconds != 86400 || out.Trend != "none" || out.Message != "Metric analysis completed successfully" ||
		out.DataPointsFound != 20160 || out.DataQuality.TotalPoints != 20160 || out.DataQuality.Density != 1 || out.DataQuality.Publishing != 60 {
		t.Fatalf("%s", mcptest.ResultText(t, res))
	}
	if out.Statistics.Min > 80 || out.Statistics.Max < 120 || math.Abs(out.Statistics.Median-100) > 2 || out.Statistics.CV == nil {
		t.Fatalf("statistics %+v", out.Statistics)
	}
	mi := out.MetricInfo
	if mi.Namespace != "MyApp" || mi.MetricName != "Requests" || mi.Statistic != "Average" || mi.Minutes != 20160 || len(mi.Dimensions) != 1 ||
		mi.TimeRange.Start != "2025-05-19T12:00:00+00:00" || mi.TimeRange.End != "2025-06-02T12:00:00+00:00" {
		t.Fatalf("metric_info %+v", mi)
	}
	sc, _ := json.Marshal(res.StructuredContent)
	if !strings.HasPrefix(string(sc), `{"result":{"data_points_found":20160`) {
		t.Fatalf("structuredContent must wrap the dict: %.80s", sc)
	}
	if te.Fake.CallCount("GetMetricData") != 1 {
		t.Fatal("two weeks at one minute fit one GetMetricData page")
	}
	assertSignedByAlice(t, te, "GetMetricData")

	// No data: only message and metric_info.
	res = te.CallTool(t, ctx, "analyze_metric", map[string]any{"namespace": "MyApp", "metric_name": "Nothing"})
	text := mcptest.ResultText(t, res)
	if res.IsError || !strings.HasPrefix(text, `{"message":"No metric data available for analysis","metric_info":{"namespace":"MyApp","metric_name":"Nothing","statistic":"AVG","dimensions":[]`) {
		t.Fatalf("%s", text)
	}

	te.Fake.SetFault("GetMetricData", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "denied", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_metric", map[string]any{"namespace": "MyApp", "metric_name": "Requests"}), "AWS error AccessDenied: denied")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_metric", map[string]any{"metric_name": "Requests"}), "namespace is required")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_metric", map[string]any{"namespace": "MyApp", "metric_name": "Requests", "statistic": "p99"}), "statistic must be one of")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_metric", map[string]any{"namespace": "MyApp", "metric_name": "Requests", "profile_name": "x"}), "profile_name is only honoured")
}

// TestRecommendWithEmbeddedCatalog runs against whatever the embedded
// catalog (a colleague's work) holds for AWS/EC2 CPUUtilization.
func TestRecommendWithEmbeddedCatalog(t *testing.T) {
	te := newMetricsEnv(t)
	te.Catalog = mcptest.Catalog(t)
	md, ok := te.Catalog.Lookup("AWS/EC2", "CPUUtilization")
	if !ok {
		t.Skip("the embedded catalog has no AWS/EC2 CPUUtilization entry yet (catalog.go is a colleague's work in progress)")
	}
	ctx := mcptest.UserCtx(te.Alice)
	res := te.CallTool(t, ctx, "get_metric_metadata", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization"})
	var meta metricMetadataResult
	mcptest.DecodeResult(t, res, &meta)
	if meta.Description == "" || meta.Description != md.Description {
		t.Fatalf("metadata %+v", meta)
	}
	if len(md.AlarmRecommendations) == 0 {
		t.Skip("the embedded catalog has no alarm recommendations for AWS/EC2 CPUUtilization yet")
	}
	res = te.CallTool(t, ctx, "get_recommended_metric_alarms", map[string]any{"namespace": "AWS/EC2", "metric_name": "CPUUtilization",
		"dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-0123456789abcdef0"}, map[string]any{"name": "AutoScalingGroupName", "value": "asg"}}})
	var out recResult
	mcptest.DecodeResult(t, res, &out)
	if len(out.Recommendations) == 0 || !strings.HasPrefix(out.Message, "Found ") {
		t.Fatalf("%s", mcptest.ResultText(t, res))
	}
	for _, r := range out.Recommendations {
		if r.ComparisonOperator == "" || r.Statistic == "" || r.Threshold.Justification == "" || r.Period <= 0 || r.EvaluationPeriods <= 0 ||
			(r.Threshold.StaticValue == nil) == (r.Threshold.Sensitivity == nil) {
			t.Fatalf("incomplete recommendation %+v", r)
		}
	}
}
