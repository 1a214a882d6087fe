package catalog

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// defaultTestCatalog is the embedded catalog, as a provisioned handler has it.
func defaultTestCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requiredCatalogNamespaces are the services the catalog must cover, each
// with descriptions and at least one AWS alarm recommendation.
var requiredCatalogNamespaces = []string{
	"AWS/EC2", "AWS/Lambda", "AWS/RDS", "AWS/DynamoDB", "AWS/ECS", "ECS/ContainerInsights", "ContainerInsights",
	"AWS/ApplicationELB", "AWS/NetworkELB", "AWS/ELB", "AWS/SQS", "AWS/SNS", "AWS/ApiGateway", "AWS/S3",
	"AWS/Kinesis", "AWS/ElastiCache", "AWS/CloudFront",
}

func TestCatalogCoversRequiredServices(t *testing.T) {
	c := defaultTestCatalog(t)
	metrics, recs := map[string]int{}, map[string]int{}
	for k, e := range c.entries {
		metrics[k.namespace]++
		recs[k.namespace] += len(e.AlarmRecommendations)
	}
	for _, ns := range requiredCatalogNamespaces {
		if metrics[ns] < 5 || recs[ns] < 1 {
			t.Errorf("%s: %d metrics, %d alarm recommendations", ns, metrics[ns], recs[ns])
		}
	}
	total, totalRecs := 0, 0
	for ns, n := range metrics {
		total += n
		totalRecs += recs[ns]
	}
	if total < 150 || totalRecs < 100 {
		t.Errorf("catalog has %d metrics and %d recommendations", total, totalRecs)
	}
	t.Logf("catalog: %d metrics, %d alarm recommendations, %d namespaces", total, totalRecs, len(c.Namespaces()))
}

var cloudWatchUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true, "Megabytes": true,
	"Gigabytes": true, "Terabytes": true, "Bits": true, "Percent": true, "Count": true, "Bytes/Second": true,
	"Bits/Second": true, "Count/Second": true, "None": true,
}

var staticOperators = map[string]bool{
	"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true, "LessThanThreshold": true, "LessThanOrEqualToThreshold": true,
}

func TestCatalogEntriesWellFormed(t *testing.T) {
	// Decode the embedded files strictly so a misspelt field in our own
	// data fails here instead of being silently dropped.
	files, _ := fs.Glob(embeddedCatalog, "*.json")
	if len(files) < 14 {
		t.Fatalf("only %d catalog files", len(files))
	}
	for _, f := range files {
		b, _ := embeddedCatalog.ReadFile(f)
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		var entries []Metric
		if err := d.Decode(&entries); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	c := defaultTestCatalog(t)
	for k, e := range c.entries {
		name := k.namespace + "/" + k.metricName
		if e.MetricID.Namespace != k.namespace || e.MetricID.MetricName != k.metricName {
			t.Errorf("%s: indexed under the wrong key", name)
		}
		if len(strings.TrimSpace(e.Description)) < 20 || !strings.HasSuffix(e.Description, ".") {
			t.Errorf("%s: description %q is not a sentence", name, e.Description)
		}
		if !cloudWatchUnits[e.UnitInfo] {
			t.Errorf("%s: unit %q is not a CloudWatch unit", name, e.UnitInfo)
		}
		if e.RecommendedStatistics == "" {
			t.Errorf("%s: no recommended statistics", name)
		}
		for _, s := range strings.Split(e.RecommendedStatistics, ", ") {
			if !validStatistic(s) {
				t.Errorf("%s: recommended statistic %q is not a CloudWatch statistic", name, s)
			}
		}
		for i, r := range e.AlarmRecommendations {
			where := name + " recommendation " + string(rune('0'+i))
			if err := r.validate(); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if len(r.AlarmDescription) < 30 || len(r.Intent) < 15 || len(r.Threshold.Justification) < 20 {
				t.Errorf("%s: description, intent and justification must all be written out", where)
			}
			if !staticOperators[r.ComparisonOperator] || r.Threshold.Sensitivity != nil {
				t.Errorf("%s: the catalog holds static-threshold recommendations only", where)
			}
			if r.Period < 60 || r.EvaluationPeriods < 1 || r.DatapointsToAlarm < 1 || r.DatapointsToAlarm > r.EvaluationPeriods {
				t.Errorf("%s: period %d, evaluation periods %d, datapoints %d", where, r.Period, r.EvaluationPeriods, r.DatapointsToAlarm)
			}
			if r.TreatMissingData == "" || !validStatistic(r.Statistic) {
				t.Errorf("%s: treatMissingData %q, statistic %q", where, r.TreatMissingData, r.Statistic)
			}
			for _, d := range r.Dimensions {
				if d.Value != "" && !(d.Name == "Role" && d.Value == "WRITER" || d.Name == "Region" && d.Value == "Global") {
					t.Errorf("%s: unexpected fixed dimension %s=%s", where, d.Name, d.Value)
				}
			}
		}
	}
}

func TestCatalogLookup(t *testing.T) {
	c := defaultTestCatalog(t)
	md, ok := c.Lookup("AWS/EC2", "CPUUtilization")
	if !ok || md.UnitInfo != "Percent" || len(md.AlarmRecommendations) != 1 {
		t.Fatalf("EC2 CPU: %+v %v", md, ok)
	}
	r := md.AlarmRecommendations[0]
	if r.Statistic != "Average" || r.ComparisonOperator != "GreaterThanThreshold" || r.Period != 300 || r.EvaluationPeriods != 3 ||
		r.Threshold.StaticValue == nil || *r.Threshold.StaticValue != 80 || len(r.Dimensions) != 1 || r.Dimensions[0].Name != "InstanceId" {
		t.Fatalf("EC2 CPU recommendation %+v", r)
	}
	// The same metric name in another namespace is another entry.
	rds, ok := c.Lookup("AWS/RDS", "CPUUtilization")
	if !ok || rds == md || *rds.AlarmRecommendations[0].Threshold.StaticValue != 90 {
		t.Fatalf("RDS CPU %+v", rds)
	}
	// Fixed dimension values and thresholds that depend on the workload.
	if md, _ := c.Lookup("AWS/RDS", "EngineUptime"); md.AlarmRecommendations[0].Dimensions[1] != (Dimension{"Role", "WRITER"}) {
		t.Fatalf("EngineUptime dims %+v", md.AlarmRecommendations[0].Dimensions)
	}
	if md, _ := c.Lookup("AWS/Lambda", "Errors"); md.AlarmRecommendations[0].Threshold.StaticValue != nil {
		t.Fatal("Lambda Errors has no universal threshold")
	}
	if md, _ := c.Lookup("AWS/ApiGateway", "Count"); len(md.AlarmRecommendations) != 4 {
		t.Fatalf("API Gateway Count recommendations %d", len(md.AlarmRecommendations))
	}
	for _, miss := range [][2]string{{"AWS/EC2", "cpuutilization"}, {"AWS/EC2", "NoSuchMetric"}, {"", ""}} {
		if _, ok := c.Lookup(miss[0], miss[1]); ok {
			t.Errorf("lookup %v found something", miss)
		}
	}
	var nilCatalog *Catalog
	if _, ok := nilCatalog.Lookup("AWS/EC2", "CPUUtilization"); ok {
		t.Fatal("nil catalog")
	}
}

func writeCatalogFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "metric_metadata.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCatalogMergeOverrides(t *testing.T) {
	// awslabs' shape, with a field we do not know (ignored, as awslabs does).
	p := writeCatalogFile(t, `[
 {"metricId": {"namespace": "AWS/EC2", "metricName": "CPUUtilization"}, "description": "Our fleet's CPU.", "unitInfo": "Percent",
  "recommendedStatistics": "Maximum", "futureField": 1,
  "alarmRecommendations": [{"alarmDescription": "hot", "comparisonOperator": "GreaterThanThreshold", "statistic": "Maximum",
    "intent": "i", "threshold": {"justification": "ours", "staticValue": 95}, "period": 60, "evaluationPeriods": 2, "datapointsToAlarm": 2,
    "dimensions": [{"name": "AutoScalingGroupName"}], "treatMissingData": "breaching"}]},
 {"metricId": {"namespace": "MyApp", "metricName": "CheckoutLatency"}, "description": "Checkout latency.",
  "alarmRecommendations": [{"alarmDescription": "slow", "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold", "statistic": "p99",
    "intent": "i", "threshold": {"justification": "seasonal", "sensitivity": 3}}]}
]`)
	base := defaultTestCatalog(t)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := c.Lookup("AWS/EC2", "CPUUtilization")
	if md.Description != "Our fleet's CPU." || len(md.AlarmRecommendations) != 1 || *md.AlarmRecommendations[0].Threshold.StaticValue != 95 {
		t.Fatalf("override %+v", md)
	}
	if md, ok := c.Lookup("MyApp", "CheckoutLatency"); !ok || *md.AlarmRecommendations[0].Threshold.Sensitivity != 3 {
		t.Fatalf("added entry %+v", md)
	}
	if len(c.entries) != len(base.entries)+1 {
		t.Fatalf("merged catalog has %d entries, embedded %d", len(c.entries), len(base.entries))
	}
	if a, _ := c.Lookup("AWS/Lambda", "Errors"); a == nil || a.Description == "" {
		t.Fatal("embedded entries must survive a merge")
	}
	// The embedded catalog is not changed by a merge.
	if md, _ := defaultTestCatalog(t).Lookup("AWS/EC2", "CPUUtilization"); md.Description == "Our fleet's CPU." {
		t.Fatal("merge leaked into the embedded catalog")
	}
	// An empty array is a valid (no-op) file.
	if c, err := Load(writeCatalogFile(t, "[]")); err != nil || len(c.entries) != len(base.entries) {
		t.Fatalf("empty file: %v", err)
	}
}

func TestCatalogBadFiles(t *testing.T) {
	rec := func(mod string) string {
		return `[{"metricId": {"namespace": "N", "metricName": "M"}, "description": "d", "alarmRecommendations": [{"alarmDescription": "a",
			"comparisonOperator": "GreaterThanThreshold", "statistic": "Average", "intent": "i", "threshold": {"justification": "j"}` + mod + `}]}]`
	}
	for _, tc := range []struct{ content, want string }{
		{`{"metricId": {}}`, "not a JSON array of metric metadata entries"},
		{`[{"metricId": {"namespace": "N", "metricName": "M"}}`, "not a JSON array"},
		{`[{"description": "no id"}]`, "entry 0 (/): metricId needs a namespace and a metricName"},
		{`[null]`, "entry 0 is null"},
		{strings.Replace(rec(""), "GreaterThanThreshold", "Above", 1), `entry 0 (N/M): alarmRecommendations[0]: comparisonOperator "Above"`},
		{strings.Replace(rec(""), `"Average"`, `"Mean"`, 1), `statistic "Mean" is not a CloudWatch statistic`},
		{rec(`, "treatMissingData": "zero"`), `treatMissingData "zero"`},
		{rec(`, "period": 45`), "period 45"},
		{rec(`, "evaluationPeriods": 2, "datapointsToAlarm": 3`), "datapointsToAlarm (3) exceeds evaluationPeriods (2)"},
		{strings.Replace(rec(""), `{"justification": "j"}`, `{"justification": "j", "sensitivity": 500}`, 1), "sensitivity 500 is outside (0, 100]"},
		{strings.Replace(rec(""), `{"justification": "j"}`, `{"justification": "j", "sensitivity": 2, "staticValue": 1}`, 1), "both staticValue and sensitivity"},
		{rec(`, "dimensions": [{"value": "x"}]`), "a dimension has no name"},
	} {
		p := writeCatalogFile(t, tc.content)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), "metric_metadata "+p+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.content, err, tc.want)
		}
	}
	// Valid extended statistics and high-resolution periods are accepted.
	for _, ok := range []string{rec(`, "period": 10`), strings.Replace(rec(""), `"Average"`, `"p99.9"`, 1), strings.Replace(rec(""), `"Average"`, `"TM(10%:90%)"`, 1)} {
		if _, err := Load(writeCatalogFile(t, ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "nope.json")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), "metric_metadata "+missing) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}
