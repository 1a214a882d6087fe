package logs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

type anomalyListing struct {
	AnomalyDetectors []struct {
		AnomalyDetectorArn string `json:"anomalyDetectorArn"`
	} `json:"anomaly_detectors"`
	Anomalies []listedOut `json:"anomalies"`
}

type listedOut struct {
	AnomalyID          string           `json:"anomalyId"`
	AnomalyDetectorArn string           `json:"anomalyDetectorArn"`
	Description        string           `json:"description"`
	FirstSeen          string           `json:"firstSeen"`
	Suppressed         bool             `json:"suppressed"`
	Active             bool             `json:"active"`
	State              string           `json:"state"`
	Histogram          map[string]int64 `json:"histogram"`
	LogSamples         []map[string]any `json:"logSamples"`
	Priority           *string          `json:"priority"`
}

func (l anomalyListing) descriptions() []string {
	var out []string
	for _, a := range l.Anomalies {
		out = append(out, a.Description)
	}
	slices.Sort(out)
	return out
}

func TestListLogAnomalies(t *testing.T) {
	te := mcptest.NewEnv(t)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "eu-west-1", AccountID: fakeaws.DefaultAccountID}
	detector, _ := seedAnalyze(te, g)
	ctx := mcptest.UserCtx(te.Alice)
	list := func(args map[string]any) anomalyListing {
		t.Helper()
		var out anomalyListing
		mcptest.DecodeResult(t, te.CallTool(t, ctx, "list_log_anomalies", args), &out)
		return out
	}

	// Per log group (by name, in its region): only anomalies involving it,
	// unsuppressed by default; the time window filters on first/last seen.
	out := list(map[string]any{"log_group_identifier": g.Name, "region": "eu-west-1"})
	if got := out.descriptions(); strings.Join(got, ",") != "new error pattern,too early" || len(out.AnomalyDetectors) != 1 || out.AnomalyDetectors[0].AnomalyDetectorArn != detector {
		t.Fatalf("by group: %v %+v", got, out.AnomalyDetectors)
	}
	a := out.Anomalies[slices.IndexFunc(out.Anomalies, func(x listedOut) bool {
		return x.Description == "new error pattern"
	})]
	if a.AnomalyID == "" || a.FirstSeen != "2025-03-01T11:00:00+00:00" || !a.Active || a.State != "Active" || a.Suppressed ||
		a.Histogram["2025-03-01T12:05:00+00:00"] != 7 || len(a.LogSamples) != 1 || a.Priority == nil || *a.Priority != "HIGH" {
		t.Fatalf("anomaly %+v", a)
	}
	out = list(map[string]any{"log_group_identifier": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z"})
	if got := out.descriptions(); strings.Join(got, ",") != "new error pattern" {
		t.Fatalf("window: %v", got)
	}
	// Per detector (the region comes from its ARN), suppressed or all.
	if got := list(map[string]any{"anomaly_detector_arn": detector, "suppression_state": "SUPPRESSED"}).descriptions(); strings.Join(got, ",") != "suppressed" {
		t.Fatalf("suppressed: %v", got)
	}
	if got := list(map[string]any{"anomaly_detector_arn": detector, "suppression_state": "ALL"}).descriptions(); len(got) != 4 {
		t.Fatalf("all: %v", got)
	}
	for _, c := range te.Fake.Calls("") {
		if c.Owner != "alice" || c.AccessKeyID != te.Alice.AccessKeyID || c.Region != "eu-west-1" {
			t.Fatalf("call %+v", c)
		}
	}
}

func TestListLogAnomaliesErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	te.Fake.SetFault("ListAnomalies", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "User: alice is not authorized to perform: logs:ListAnomalies", Times: 1})
	res := te.CallTool(t, ctx, "list_log_anomalies", map[string]any{})
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: User: alice is not authorized to perform: logs:ListAnomalies")
	mcptest.WantToolError(t, res, "ask for it to be granted")
	assertOwner(t, te, "ListAnomalies", 1)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"suppression_state": "maybe"}, "suppression_state must be"},
		{map[string]any{"max_items": 0}, "max_items must be between 1 and 1000"},
		{map[string]any{"start_time": "2025-03-02T00:00:00Z", "end_time": "2025-03-01T00:00:00Z"}, "is before start_time"},
		{map[string]any{"log_group_identifier": "/nope"}, `no log group named "/nope"`},
		{map[string]any{"anomaly_detector_arn": "arn:aws:logs:us-east-1:123456789012:anomaly-detector:nope"}, "ResourceNotFoundException"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "list_log_anomalies", c.args), c.want)
	}
}

func TestTruncateListLogAnomalies(t *testing.T) {
	te := mcptest.NewEnv(t)
	l := fakeaws.LogsOf(te.Fake)
	g := fakeaws.LogGroup{Name: "/busy", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}
	l.AddLogGroup(g)
	det := l.AddAnomalyDetector(fakeaws.AnomalyDetector{Name: "busy", LogGroupARNs: []string{g.ARN()}})
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 80 {
		l.AddAnomaly(fakeaws.Anomaly{DetectorARN: det, LogGroupARNs: []string{g.ARN()}, FirstSeen: t0, LastSeen: t0.Add(time.Minute),
			Description: fmt.Sprintf("new error pattern %d", i), PatternString: fmt.Sprintf("ERROR <*> code %d", i)})
	}
	v := mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "list_log_anomalies", Args: map[string]any{"anomaly_detector_arn": det}})
	if !strings.Contains(v["truncated"].(map[string]any)["hint"].(string), "max_items") {
		t.Fatalf("hint %v", v["truncated"])
	}
}
