package alarms

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// alarmTestNow is the clock of the alarms tests.
var alarmTestNow = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

func newAlarmEnv(t *testing.T) (*mcptest.Env, *fakeaws.Alarms) {
	t.Helper()
	te := mcptest.NewEnv(t)
	te.Now = func() time.Time { return alarmTestNow }
	te.Fake.SetClock(func() time.Time { return alarmTestNow })
	return te, fakeaws.AlarmsOf(te.Fake)
}

func mustSeed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// structured returns the structuredContent re-encoded as JSON.
func structured(t *testing.T, res *mcp.CallToolResult) []byte {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestActiveAlarmsHappyPath(t *testing.T) {
	te, al := newAlarmEnv(t)
	updated := time.Date(2024, 1, 15, 11, 42, 7, 0, time.UTC)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "api-cpu-high", Description: "API CPU above 80%", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
		Dimensions: []fakeaws.AlarmDimension{{Name: "AutoScalingGroupName", Value: "api-asg"}}, Threshold: 80,
		EvaluationPeriods: 3, State: "ALARM", StateReason: "Threshold Crossed", StateUpdated: updated,
	}))
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "db-ok", Namespace: "AWS/RDS", MetricName: "CPUUtilization", Threshold: 90, State: "OK"}))
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "checkout-latency-anomaly", State: "ALARM", ThresholdMetricID: "ad1", ComparisonOperator: "LessThanLowerOrGreaterThanUpperThreshold",
		Metrics: []map[string]any{
			{"Id": "m1", "ReturnData": true, "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime",
				"Dimensions": []any{map[string]any{"Name": "LoadBalancer", "Value": "app/checkout/50dc6c495c0c9188"}}}, "Period": 60, "Stat": "p90"}},
			{"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": true},
		},
	}))
	mustSeed(t, al.AddCompositeAlarm(fakeaws.CompositeAlarm{Name: "checkout-degraded", Description: "checkout is unhealthy",
		Rule: `ALARM("api-cpu-high") OR ALARM("checkout-latency-anomaly")`, State: "ALARM", StateUpdated: updated}))

	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_active_alarms", nil)
	var got activeAlarmsWire
	mcptest.DecodeResult(t, res, &got)
	if len(got.MetricAlarms) != 2 || len(got.CompositeAlarms) != 1 || got.HasMoreResults || got.Message != nil {
		t.Fatalf("result %+v", got)
	}
	cpu := got.MetricAlarms[0]
	if cpu.AlarmName != "api-cpu-high" || aws.ToString(cpu.AlarmDescription) != "API CPU above 80%" || cpu.StateValue != "ALARM" ||
		cpu.MetricName != "CPUUtilization" || cpu.Namespace != "AWS/EC2" || cpu.Threshold != 80 || cpu.ComparisonOperator != "GreaterThanThreshold" ||
		cpu.StateUpdatedTimestamp != "2024-01-15T11:42:07Z" || cpu.AlarmType != "MetricAlarm" || cpu.StateReason != "Threshold Crossed" {
		t.Fatalf("metric alarm %+v", cpu)
	}
	if len(cpu.Dimensions) != 1 || cpu.Dimensions[0]["Name"] != "AutoScalingGroupName" || cpu.Dimensions[0]["Value"] != "api-asg" {
		t.Fatalf("dimensions %+v", cpu.Dimensions)
	}
	// Anomaly detection alarm: the metric comes from its single MetricStat
	// (awslabs leaves it empty); there is no static threshold.
	ad := got.MetricAlarms[1]
	if ad.MetricName != "TargetResponseTime" || ad.Namespace != "AWS/ApplicationELB" || ad.Threshold != 0 || ad.AlarmDescription != nil ||
		len(ad.Dimensions) != 1 || ad.Dimensions[0]["Value"] != "app/checkout/50dc6c495c0c9188" {
		t.Fatalf("anomaly alarm %+v", ad)
	}
	c := got.CompositeAlarms[0]
	if c.AlarmName != "checkout-degraded" || c.AlarmRule == "" || c.AlarmType != "CompositeAlarm" || c.StateUpdatedTimestamp != "2024-01-15T11:42:07Z" {
		t.Fatalf("composite %+v", c)
	}
	// The structured content is the model itself (not wrapped) and floats
	// print as Python's do.
	if s := string(structured(t, res)); !strings.HasPrefix(s, `{"metric_alarms":`) || !strings.Contains(s, `"threshold":80.0`) || !strings.Contains(s, `"message":null`) {
		t.Fatalf("structured content %s", s)
	}
	calls := te.Fake.Calls("DescribeAlarms")
	if len(calls) != 1 || calls[0].Owner != "alice" || !calls[0].Signed {
		t.Fatalf("DescribeAlarms calls %+v", calls)
	}
}

func TestActiveAlarmsPagingAndMaxItems(t *testing.T) {
	te, al := newAlarmEnv(t)
	for i := 0; i < 120; i++ {
		mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: fmt.Sprintf("queue-depth-%03d", i), Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 1000, State: "ALARM"}))
	}
	for i := 0; i < 3; i++ {
		mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: fmt.Sprintf("fine-%d", i), Namespace: "AWS/SQS", MetricName: "NumberOfMessagesSent", State: "OK"}))
	}
	ctx := mcptest.UserCtx(te.Alice)
	for _, tc := range []struct {
		maxItems  any
		want      int
		more      bool
		calls     int
		wantMsg   string
		lastAlarm string
	}{
		{nil, 50, true, 1, "Showing 50 alarms (more available)", "queue-depth-049"},
		{3, 3, true, 1, "Showing 3 alarms (more available)", "queue-depth-002"},
		{"110", 110, true, 2, "Showing 110 alarms (more available)", "queue-depth-109"}, // numeric strings are accepted
		{119, 119, true, 2, "Showing 119 alarms (more available)", "queue-depth-118"},
		{120, 120, false, 2, "", "queue-depth-119"},
		{500, 120, false, 2, "", "queue-depth-119"},
	} {
		te.Fake.ResetCalls()
		args := map[string]any{}
		if tc.maxItems != nil {
			args["max_items"] = tc.maxItems
		}
		var got activeAlarmsWire
		mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_active_alarms", args), &got)
		if len(got.MetricAlarms) != tc.want || got.HasMoreResults != tc.more || aws.ToString(got.Message) != tc.wantMsg ||
			got.MetricAlarms[len(got.MetricAlarms)-1].AlarmName != tc.lastAlarm {
			t.Errorf("max_items %v: %d alarms, more %v, message %v", tc.maxItems, len(got.MetricAlarms), got.HasMoreResults, aws.ToString(got.Message))
		}
		if n := te.Fake.CallCount("DescribeAlarms"); n != tc.calls {
			t.Errorf("max_items %v: %d DescribeAlarms calls, want %d", tc.maxItems, n, tc.calls)
		}
	}
}

func TestActiveAlarmsNoneActive(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "quiet", Namespace: "AWS/Lambda", MetricName: "Errors", State: "OK"}))
	var got activeAlarmsWire
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_active_alarms", map[string]any{"max_items": 5}), &got)
	if len(got.MetricAlarms)+len(got.CompositeAlarms) != 0 || got.HasMoreResults || aws.ToString(got.Message) != "No active alarms found" {
		t.Fatalf("%+v", got)
	}
	if got.MetricAlarms == nil || got.CompositeAlarms == nil {
		t.Fatal("empty lists must be [] as in awslabs, not null")
	}
}

func TestActiveAlarmsValidationAndErrors(t *testing.T) {
	te, _ := newAlarmEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_active_alarms", map[string]any{"max_items": 0}), "max_items must be at least 1")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_active_alarms", map[string]any{"max_items": "lots"}), "max_items must be an integer")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_active_alarms", map[string]any{"region": "mars"}), "is not an AWS region")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_active_alarms", map[string]any{"profile_name": "prod"}), "profile_name is only honoured")
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "get_active_alarms", nil), toolkit.NoCredentialsMessage)
	if n := te.Fake.CallCount("DescribeAlarms"); n != 0 {
		t.Fatalf("invalid calls reached AWS %d times", n)
	}
	te.Fake.SetFault("DescribeAlarms", fakeaws.Fault{Status: 403, Code: "AccessDenied",
		Message: "User: arn:aws:sts::123456789012:assumed-role/readonly/alice is not authorized to perform: cloudwatch:DescribeAlarms"})
	res := te.CallTool(t, ctx, "get_active_alarms", nil)
	mcptest.WantToolError(t, res, "AWS error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/readonly/alice is not authorized to perform: cloudwatch:DescribeAlarms")
	mcptest.WantToolError(t, res, "lacks this permission")
	if c := te.Fake.Calls("DescribeAlarms"); c[0].Owner != "alice" {
		t.Fatalf("signed by %q", c[0].Owner)
	}
	if strings.Contains(mcptest.ResultText(t, res), te.Alice.SecretAccessKey) {
		t.Fatal("secret leaked")
	}
}

func TestAlarmHistoryHappyPathAndWindows(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "orders-5xx", Description: "5XX on the orders API", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count",
		Dimensions: []fakeaws.AlarmDimension{{Name: "LoadBalancer", Value: "app/orders/1f2e3d"}, {Name: "TargetGroup", Value: "targetgroup/orders/9a8b"}},
		Statistic:  "Sum", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 25, State: "OK",
		AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:oncall"}, StateUpdated: alarmTestNow.Add(-48 * time.Hour),
	}))
	t1 := time.Date(2024, 1, 15, 9, 12, 30, 0, time.UTC)
	mustSeed(t, al.Transition("orders-5xx", "ALARM", t1, 31, 44, 52))
	mustSeed(t, al.Transition("orders-5xx", "OK", t1.Add(20*time.Minute)))

	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{
		"alarm_name": "orders-5xx", "start_time": "2024-01-15T00:00:00Z", "end_time": "2024-01-15T12:00:00Z",
	})
	var got alarmHistoryWire
	mcptest.DecodeResult(t, res, &got)

	d := got.AlarmDetails
	if d.AlarmName != "orders-5xx" || d.AlarmType != "MetricAlarm" || d.CurrentState != "OK" || aws.ToString(d.MetricName) != "HTTPCode_Target_5XX_Count" ||
		aws.ToString(d.Namespace) != "AWS/ApplicationELB" || d.Threshold == nil || *d.Threshold != 25 || aws.ToString(d.ComparisonOperator) != "GreaterThanThreshold" ||
		aws.ToInt32(d.EvaluationPeriods) != 3 || aws.ToInt32(d.Period) != 60 || aws.ToString(d.Statistic) != "Sum" || d.AlarmRule != nil {
		t.Fatalf("details %+v", d)
	}
	// awslabs' details dimensions are single-key maps.
	if len(d.Dimensions) != 2 || d.Dimensions[0]["LoadBalancer"] != "app/orders/1f2e3d" || len(d.Dimensions[0]) != 1 {
		t.Fatalf("details dimensions %+v", d.Dimensions)
	}
	// StateUpdate only (the default), newest first.
	if len(got.HistoryItems) != 2 || got.HasMoreResults || got.Message != nil {
		t.Fatalf("history %+v", got)
	}
	h := got.HistoryItems[1]
	if h.AlarmName != "orders-5xx" || h.AlarmType != "MetricAlarm" || h.Timestamp != "2024-01-15T09:12:30Z" || h.HistoryItemType != "StateUpdate" ||
		h.HistorySummary != "Alarm updated from OK to ALARM" || aws.ToString(h.OldState) != "OK" || aws.ToString(h.NewState) != "ALARM" ||
		!strings.HasPrefix(aws.ToString(h.StateReason), "Threshold Crossed: 3 out of the last 3 datapoints [52.0 (15/01/24 09:11:00)") {
		t.Fatalf("history item %+v", h)
	}
	if aws.ToString(got.HistoryItems[0].NewState) != "OK" {
		t.Fatalf("newest first: %+v", got.HistoryItems[0])
	}
	// One window: 3 periods of 60 s × 5 before, 2 periods after.
	want := []timeRangeWire{{
		StartTime: "2024-01-15T08:57:30Z", EndTime: "2024-01-15T09:14:30Z",
		Reason: "Investigation window for alarm transition to ALARM state at 2024-01-15 09:12:30 UTC (based on 3 evaluation periods of 60s each)",
	}}
	if fmt.Sprint(got.TimeRangeSuggestions) != fmt.Sprint(want) {
		t.Fatalf("suggestions %+v", got.TimeRangeSuggestions)
	}
	// A Union result: structured content wrapped in {"result": ...}, text not.
	if s := string(structured(t, res)); !strings.HasPrefix(s, `{"result":{"alarm_details":`) || !strings.Contains(s, `"threshold":25.0`) {
		t.Fatalf("structured %s", s)
	}
	if !strings.HasPrefix(mcptest.ResultText(t, res), `{"alarm_details":`) {
		t.Fatalf("text %s", mcptest.ResultText(t, res))
	}
	for _, op := range []string{"DescribeAlarms", "DescribeAlarmHistory"} {
		if c := te.Fake.Calls(op); len(c) != 1 || c[0].Owner != "alice" {
			t.Fatalf("%s calls %+v", op, c)
		}
	}

	// Other item types carry no states and give no windows.
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{
		"alarm_name": "orders-5xx", "history_item_type": "Action", "start_time": "2024-01-15T00:00:00Z",
	}), &got)
	if len(got.HistoryItems) != 1 || got.HistoryItems[0].HistorySummary != "Successfully executed action arn:aws:sns:us-east-1:123456789012:oncall" ||
		got.HistoryItems[0].NewState != nil || len(got.TimeRangeSuggestions) != 0 {
		t.Fatalf("actions %+v", got)
	}
}

func TestAlarmHistoryFlapping(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "worker-queue", Namespace: "AWS/SQS", MetricName: "ApproximateAgeOfOldestMessage",
		Period: 300, EvaluationPeriods: 2, Threshold: 600, State: "OK", StateUpdated: alarmTestNow.Add(-30 * time.Hour)}))
	base := time.Date(2024, 1, 15, 1, 0, 0, 0, time.UTC)
	// Cluster 1: ALARM at 01:00, 01:30 and 02:30 — the last gap is exactly
	// one hour, which still counts.
	// Then 03:30:01, one second more than an hour later: a lone transition.
	// Cluster 2: 06:00 and 06:10.
	for _, at := range []time.Duration{0, 30 * time.Minute, 90 * time.Minute, 150*time.Minute + time.Second, 5 * time.Hour, 5*time.Hour + 10*time.Minute} {
		mustSeed(t, al.Transition("worker-queue", "ALARM", base.Add(at)))
		mustSeed(t, al.Transition("worker-queue", "OK", base.Add(at+5*time.Minute)))
	}
	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "worker-queue"}), &got)
	if len(got.HistoryItems) != 12 {
		t.Fatalf("%d items", len(got.HistoryItems))
	}
	s := got.TimeRangeSuggestions
	if len(s) != 6+2 {
		t.Fatalf("suggestions %+v", s)
	}
	// Individual windows follow the history order (newest first): 2×300×5
	// before, 2×300 after.
	if s[0].StartTime != "2024-01-15T05:20:00Z" || s[0].EndTime != "2024-01-15T06:20:00Z" ||
		s[0].Reason != "Investigation window for alarm transition to ALARM state at 2024-01-15 06:10:00 UTC (based on 2 evaluation periods of 300s each)" {
		t.Fatalf("first window %+v", s[0])
	}
	f1, f2 := s[6], s[7]
	if f1.Reason != "Alarm flapping detected: 3 transitions to ALARM state between 2024-01-15 01:00:00 UTC and 2024-01-15 02:30:00 UTC" ||
		f1.StartTime != "2024-01-15T00:10:00Z" || f1.EndTime != "2024-01-15T02:40:00Z" {
		t.Fatalf("flapping 1 %+v", f1)
	}
	if f2.Reason != "Alarm flapping detected: 2 transitions to ALARM state between 2024-01-15 06:00:00 UTC and 2024-01-15 06:10:00 UTC" {
		t.Fatalf("flapping 2 %+v", f2)
	}
}

func TestAlarmHistoryDefaultWindowAndNaiveTimes(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "disk", Namespace: "CWAgent", MetricName: "disk_used_percent", Threshold: 90,
		State: "OK", StateUpdated: alarmTestNow.Add(-72 * time.Hour)}))
	mustSeed(t, al.Transition("disk", "ALARM", alarmTestNow.Add(-25*time.Hour))) // outside the default 24 h
	mustSeed(t, al.Transition("disk", "OK", alarmTestNow.Add(-23*time.Hour)))    // inside
	mustSeed(t, al.Transition("disk", "ALARM", alarmTestNow.Add(-3*time.Hour)))  // 09:00Z

	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "disk"}), &got)
	if len(got.HistoryItems) != 2 || got.HistoryItems[1].Timestamp != "2024-01-14T13:00:00Z" {
		t.Fatalf("default window (end = now, start = end - 24h): %+v", got.HistoryItems)
	}
	// end_time alone: start is 24 h before it.
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "disk", "end_time": "2024-01-14T12:00:00Z"}), &got)
	if len(got.HistoryItems) != 1 || got.HistoryItems[0].Timestamp != "2024-01-14T11:00:00Z" {
		t.Fatalf("end_time only: %+v", got.HistoryItems)
	}
	checkNaiveAlarmTimes(t, te)
}

// TestAlarmHistoryNaiveTimesInLocalZone proves naive times are UTC, not the
// server's local time (awslabs' default end is local now): on a UTC host it
// reruns itself with TZ set to India (+05:30).
func TestAlarmHistoryNaiveTimesInLocalZone(t *testing.T) {
	if _, off := time.Now().Zone(); off == 0 {
		if os.Getenv("ALARM_TZ_CHILD") != "" {
			t.Skip("the host has no zoneinfo for TZ=Asia/Kolkata")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestAlarmHistoryNaiveTimesInLocalZone$", "-test.v")
		cmd.Env = append(os.Environ(), "TZ=Asia/Kolkata", "ALARM_TZ_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("under TZ=Asia/Kolkata: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "--- SKIP") {
			t.Skip("no zoneinfo for Asia/Kolkata")
		}
		return
	}
	te, al := newAlarmEnv(t)
	// The tool's clock in local time: the default end must still be UTC now.
	te.Now = func() time.Time { return alarmTestNow.Local() }
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "disk", Namespace: "CWAgent", MetricName: "disk_used_percent", Threshold: 90,
		State: "OK", StateUpdated: alarmTestNow.Add(-72 * time.Hour)}))
	mustSeed(t, al.Transition("disk", "ALARM", alarmTestNow.Add(-3*time.Hour)))
	// Recorded "after now" in UTC, but before now read as local wall-clock
	// time in UTC (17:30), which is what awslabs' naive datetime.now() gives.
	mustSeed(t, al.Transition("disk", "OK", alarmTestNow.Add(2*time.Hour)))
	checkNaiveAlarmTimes(t, te)
	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "disk", "start_time": "2024-01-15T11:59:00"}), &got)
	if len(got.HistoryItems) != 0 {
		t.Fatalf("default end_time is not UTC now: %+v", got.HistoryItems)
	}
}

// checkNaiveAlarmTimes: the "disk" alarm went to ALARM at 09:00Z.
func checkNaiveAlarmTimes(t *testing.T, te *mcptest.Env) {
	t.Helper()
	var got alarmHistoryWire
	// No zone = UTC: 08:30–09:30 holds the 09:00Z transition; the same
	// wall-clock times at +02:00 do not.
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "disk", "start_time": "2024-01-15T08:30:00", "end_time": "2024-01-15 09:30:00"}), &got)
	if len(got.HistoryItems) != 1 || got.HistoryItems[0].Timestamp != "2024-01-15T09:00:00Z" {
		t.Fatalf("naive times: %+v", got.HistoryItems)
	}
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "get_alarm_history", map[string]any{"alarm_name": "disk", "start_time": "2024-01-15T08:30:00+02:00", "end_time": "2024-01-15T09:30:00+02:00"}), &got)
	if len(got.HistoryItems) != 0 || aws.ToString(got.Message) != "No alarm history found for disk in the specified time range" {
		t.Fatalf("offset times: %+v", got)
	}
}

func TestAlarmHistoryPaging(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "noisy", Namespace: "AWS/Lambda", MetricName: "Throttles", Period: 60, State: "OK",
		StateUpdated: alarmTestNow.Add(-20 * time.Hour)}))
	mustSeed(t, al.Flap("noisy", alarmTestNow.Add(-10*time.Hour), 2*time.Minute, 60)) // 120 state updates
	ctx := mcptest.UserCtx(te.Alice)
	for _, tc := range []struct {
		args  map[string]any
		items int
		more  bool
		calls int
		msg   string
	}{
		{map[string]any{}, 50, true, 1, "Showing 50 history items (more available)"},
		{map[string]any{"max_items": 110}, 110, true, 2, "Showing 110 history items (more available)"},
		{map[string]any{"max_items": 120}, 120, false, 2, ""},
		{map[string]any{"max_items": "1000"}, 120, false, 2, ""},
	} {
		te.Fake.ResetCalls()
		tc.args["alarm_name"] = "noisy"
		var got alarmHistoryWire
		mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", tc.args), &got)
		if len(got.HistoryItems) != tc.items || got.HasMoreResults != tc.more || aws.ToString(got.Message) != tc.msg {
			t.Errorf("%v: %d items, more %v, message %q", tc.args, len(got.HistoryItems), got.HasMoreResults, aws.ToString(got.Message))
		}
		if n := te.Fake.CallCount("DescribeAlarmHistory"); n != tc.calls {
			t.Errorf("%v: %d DescribeAlarmHistory calls, want %d", tc.args, n, tc.calls)
		}
		// Newest first, no duplicates across pages.
		for i := 1; i < len(got.HistoryItems); i++ {
			if got.HistoryItems[i].Timestamp >= got.HistoryItems[i-1].Timestamp {
				t.Fatalf("%v: items out of order at %d", tc.args, i)
			}
		}
		// Windows only come from the items returned.
		if len(got.TimeRangeSuggestions) != tc.items/2+1 {
			t.Errorf("%v: %d suggestions", tc.args, len(got.TimeRangeSuggestions))
		}
	}
}

func TestAlarmHistoryCompositeAlarms(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "api-5xx", Namespace: "AWS/ApiGateway", MetricName: "5XXError", Statistic: "Sum", Period: 60, Threshold: 5, State: "ALARM"}))
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "api latency", Namespace: "AWS/ApiGateway", MetricName: "Latency", ExtendedStatistic: "p99", Threshold: 2500, State: "OK"}))
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "db-connections", Namespace: "AWS/RDS", MetricName: "DatabaseConnections", Threshold: 900, State: "OK"}))
	rule := `ALARM("api-5xx") AND (ALARM("api latency") OR OK(db-connections)) OR INSUFFICIENT_DATA(arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx) OR AT_LEAST(2, ALARM, ("db-connections", "replica-lag", arn:aws:cloudwatch:us-east-1:123456789012:alarm:cache-evictions))`
	mustSeed(t, al.AddCompositeAlarm(fakeaws.CompositeAlarm{Name: "api-unhealthy", Rule: rule, State: "OK", StateUpdated: alarmTestNow.Add(-5 * time.Hour)}))
	mustSeed(t, al.Transition("api-unhealthy", "ALARM", alarmTestNow.Add(-2*time.Hour)))
	ctx := mcptest.UserCtx(te.Alice)

	// include_component_alarms: the components, in rule order, with details;
	// the history is not needed, so not fetched.
	res := te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "api-unhealthy", "include_component_alarms": "true"})
	var comp compositeComponentWire
	mcptest.DecodeResult(t, res, &comp)
	if comp.CompositeAlarmName != "api-unhealthy" || comp.AlarmRule != rule ||
		strings.Join(comp.ComponentAlarms, "|") != "api-5xx|api latency|db-connections|replica-lag|cache-evictions" {
		t.Fatalf("components %+v", comp)
	}
	if len(comp.ComponentDetails) != 5 {
		t.Fatalf("details %+v", comp.ComponentDetails)
	}
	if d := comp.ComponentDetails[1]; d.AlarmType != "MetricAlarm" || aws.ToString(d.Statistic) != "p99" || aws.ToString(d.MetricName) != "Latency" {
		t.Fatalf("percentile component %+v", d)
	}
	if d := comp.ComponentDetails[3]; d.AlarmType != "Unknown" || d.CurrentState != "Unknown" || aws.ToString(d.AlarmDescription) != "Alarm not found" {
		t.Fatalf("missing component %+v", d)
	}
	if !strings.HasPrefix(string(structured(t, res)), `{"result":{"composite_alarm_name":"api-unhealthy"`) {
		t.Fatalf("structured %s", structured(t, res))
	}
	if n := te.Fake.CallCount("DescribeAlarmHistory"); n != 0 {
		t.Fatalf("history fetched %d times for a component request", n)
	}
	if n := te.Fake.CallCount("DescribeAlarms"); n != 2 {
		t.Fatalf("want 2 DescribeAlarms calls (alarm + one batch of components), got %d", n)
	}

	// Without include_component_alarms: the composite's own history (awslabs
	// omits AlarmTypes, so AWS returns none), with default windows.
	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "api-unhealthy"}), &got)
	if got.AlarmDetails.AlarmType != "CompositeAlarm" || aws.ToString(got.AlarmDetails.AlarmRule) != rule || got.AlarmDetails.Period != nil ||
		len(got.HistoryItems) != 1 || got.HistoryItems[0].AlarmType != "CompositeAlarm" || aws.ToString(got.HistoryItems[0].NewState) != "ALARM" {
		t.Fatalf("composite history %+v", got)
	}
	if len(got.TimeRangeSuggestions) != 1 || got.TimeRangeSuggestions[0].StartTime != "2024-01-15T09:35:00Z" || got.TimeRangeSuggestions[0].EndTime != "2024-01-15T10:10:00Z" ||
		!strings.HasSuffix(got.TimeRangeSuggestions[0].Reason, "(based on 1 evaluation periods of 300s each)") {
		t.Fatalf("composite windows %+v", got.TimeRangeSuggestions)
	}
	// include_component_alarms on a metric alarm is the normal history.
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "api-5xx", "include_component_alarms": true}), &got)
	if got.AlarmDetails.AlarmType != "MetricAlarm" {
		t.Fatalf("%+v", got.AlarmDetails)
	}
}

func TestAlarmRuleComponents(t *testing.T) {
	for rule, want := range map[string]string{
		``:                                       "",
		`TRUE`:                                   "",
		`ALARM(cpu) AND NOT ALARM("mem")`:        "cpu|mem",
		`(ALARM("a") OR OK("b")) AND ALARM("a")`: "a|b",
		`INSUFFICIENT_DATA(x) OR OK( y )`:        "x|y",
		`ALARM("name with \"quotes\" and (parens)")`:                    `name with "quotes" and (parens)`,
		`AT_LEAST(50%, NOT_OK, ("p", q , "r"))`:                         "p|q|r",
		`ALARM(arn:aws:cloudwatch:eu-west-1:111122223333:alarm:remote)`: "remote",
	} {
		if got := strings.Join(alarmRuleComponents(rule), "|"); got != want {
			t.Errorf("%s: got %q, want %q", rule, got, want)
		}
	}
}

func TestAlarmHistoryMetricMathAndMissingAlarms(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "orders-error-rate", Threshold: 5, EvaluationPeriods: 2, State: "OK", StateUpdated: alarmTestNow.Add(-10 * time.Hour),
		Metrics: []map[string]any{
			{"Id": "rate", "Expression": "100*errors/invocations", "ReturnData": true},
			{"Id": "errors", "ReturnData": false, "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 120, "Stat": "Sum"}},
			{"Id": "invocations", "ReturnData": false, "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 120, "Stat": "Sum"}},
		},
	}))
	mustSeed(t, al.Transition("orders-error-rate", "ALARM", alarmTestNow.Add(-time.Hour)))
	ctx := mcptest.UserCtx(te.Alice)
	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "orders-error-rate"}), &got)
	// The period comes from the queries (awslabs assumes 300 s).
	if aws.ToInt32(got.AlarmDetails.Period) != 120 || aws.ToString(got.AlarmDetails.MetricName) != "" || len(got.TimeRangeSuggestions) != 1 ||
		got.TimeRangeSuggestions[0].StartTime != "2024-01-15T10:40:00Z" || got.TimeRangeSuggestions[0].EndTime != "2024-01-15T11:04:00Z" {
		t.Fatalf("metric math %+v %+v", got.AlarmDetails, got.TimeRangeSuggestions)
	}

	// A deleted alarm keeps its history; one never seen has neither. Bad
	// HistoryData keeps the basic fields.
	al.AddHistory(fakeaws.AlarmHistoryItem{AlarmName: "retired", Timestamp: alarmTestNow.Add(-2 * time.Hour), HistoryItemType: "StateUpdate",
		HistorySummary: "Alarm updated from OK to ALARM", HistoryData: `{"version":"1.0","newState":`})
	al.AddHistory(fakeaws.AlarmHistoryItem{AlarmName: "retired", Timestamp: alarmTestNow.Add(-time.Hour), HistoryItemType: "StateUpdate",
		HistorySummary: "Alarm updated from OK to ALARM", HistoryData: `{"version":"1.0","oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReason":"manual"}}`})
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "retired"}), &got)
	if got.AlarmDetails.AlarmType != "Unknown" || aws.ToString(got.AlarmDetails.AlarmDescription) != "Alarm not found" || len(got.HistoryItems) != 2 {
		t.Fatalf("retired %+v", got)
	}
	if it := got.HistoryItems[1]; it.OldState != nil || it.NewState != nil || it.StateReason != nil || it.HistorySummary != "Alarm updated from OK to ALARM" {
		t.Fatalf("bad HistoryData item %+v", it)
	}
	if it := got.HistoryItems[0]; aws.ToString(it.StateReason) != "manual" || len(got.TimeRangeSuggestions) != 1 ||
		!strings.HasSuffix(got.TimeRangeSuggestions[0].Reason, "(based on 1 evaluation periods of 300s each)") {
		t.Fatalf("retired windows %+v %+v", it, got.TimeRangeSuggestions)
	}
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "never-existed"}), &got)
	if got.AlarmDetails.AlarmType != "Unknown" || len(got.HistoryItems) != 0 || got.HistoryItems == nil ||
		aws.ToString(got.Message) != "No alarm history found for never-existed in the specified time range" {
		t.Fatalf("never existed %+v", got)
	}
}

func TestAlarmHistoryValidationAndErrors(t *testing.T) {
	te, al := newAlarmEnv(t)
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "cpu", Namespace: "AWS/EC2", MetricName: "CPUUtilization", Threshold: 80}))
	ctx := mcptest.UserCtx(te.Alice)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "alarm_name is required"},
		{map[string]any{"alarm_name": "  "}, "alarm_name is required"},
		{map[string]any{"alarm_name": "cpu", "history_item_type": "StateChange"}, `history_item_type "StateChange" is not valid: use one of ConfigurationUpdate, StateUpdate, Action`},
		{map[string]any{"alarm_name": "cpu", "max_items": 0}, "max_items must be at least 1"},
		{map[string]any{"alarm_name": "cpu", "max_items": 2.5}, "max_items must be an integer"},
		{map[string]any{"alarm_name": "cpu", "start_time": "yesterday"}, "start_time"},
		{map[string]any{"alarm_name": "cpu", "end_time": "2024-13-01"}, "end_time"},
		{map[string]any{"alarm_name": "cpu", "start_time": "2024-01-15T10:00:00Z", "end_time": "2024-01-15T09:00:00Z"}, "start_time (2024-01-15T10:00:00Z) is after end_time (2024-01-15T09:00:00Z)"},
		{map[string]any{"alarm_name": "cpu", "include_component_alarms": "maybe"}, "include_component_alarms must be true or false"},
		{map[string]any{"alarm_name": "cpu", "region": "us-east-1a"}, "is not an AWS region"},
		{map[string]any{"alarm_name": "cpu", "profile_name": "admin"}, "profile_name is only honoured"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "get_alarm_history", tc.args), tc.want)
	}
	if n := len(te.Fake.Calls("")); n != 0 {
		t.Fatalf("invalid calls reached AWS %d times", n)
	}

	// AccessDenied on the history is the tool's error.
	te.Fake.SetFault("DescribeAlarmHistory", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform: cloudwatch:DescribeAlarmHistory", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "cpu"}), "AWS error AccessDenied: not authorized to perform: cloudwatch:DescribeAlarmHistory")
	if c := te.Fake.Calls("DescribeAlarmHistory"); len(c) != 1 || c[0].Owner != "alice" {
		t.Fatalf("calls %+v", c)
	}
	// Denied details only degrade them, as in awslabs.
	te.Fake.SetFault("DescribeAlarms", fakeaws.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform: cloudwatch:DescribeAlarms", Times: 1})
	var got alarmHistoryWire
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "cpu"}), &got)
	if got.AlarmDetails.AlarmType != "Unknown" || !strings.HasPrefix(aws.ToString(got.AlarmDetails.AlarmDescription), "Error retrieving alarm details: AWS error AccessDenied") {
		t.Fatalf("details %+v", got.AlarmDetails)
	}
	te.Fake.SetFault("DescribeAlarmHistory", fakeaws.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_alarm_history", map[string]any{"alarm_name": "cpu"}), "AWS error Throttling: Rate exceeded")
}

func TestAlarmToolsSchemas(t *testing.T) {
	te, _ := newAlarmEnv(t)
	tools, err := te.Tools([]string{"alarms"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools) != 2 || tools[0].Tool.Name != "get_active_alarms" || tools[1].Tool.Name != "get_alarm_history" {
		t.Fatalf("tools %v", tools)
	}
	for _, st := range tools {
		b, err := json.Marshal(st.Tool)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Description string `json:"description"`
			InputSchema struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"inputSchema"`
			OutputSchema struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"outputSchema"`
			Annotations struct {
				ReadOnly bool `json:"readOnlyHint"`
			} `json:"annotations"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if w.Description == "" || w.InputSchema.Type != "object" || w.OutputSchema.Type != "object" || !w.Annotations.ReadOnly {
			t.Fatalf("%s: %s", st.Tool.Name, b)
		}
		if !strings.Contains(string(w.InputSchema.Properties["max_items"]), `"default":50`) || w.InputSchema.Properties["region"] == nil || w.InputSchema.Properties["profile_name"] == nil {
			t.Fatalf("%s input schema %s", st.Tool.Name, b)
		}
	}
	hist, _ := json.Marshal(tools[1].Tool)
	if !strings.Contains(string(hist), `"required":["alarm_name"]`) || !strings.Contains(string(hist), `"outputSchema":{"properties":{"result"`) {
		t.Fatalf("history schema %s", hist)
	}
}

func TestPyTimeAndFloat(t *testing.T) {
	b, _ := json.Marshal(struct {
		A pyTime
		B pyTime
		C alarmFloat
		D alarmFloat
		E alarmFloat
	}{pyTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))), pyTime(time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)), 80, 0.25, 1e20})
	if string(b) != `{"A":"2024-01-02T02:04:05Z","B":"2024-01-02T03:04:05.123456Z","C":80.0,"D":0.25,"E":1e+20}` {
		t.Fatal(string(b))
	}
}

// Wire shapes for decoding results in tests.
type activeAlarmsWire struct {
	MetricAlarms []struct {
		AlarmName             string              `json:"alarm_name"`
		AlarmDescription      *string             `json:"alarm_description"`
		StateValue            string              `json:"state_value"`
		StateReason           string              `json:"state_reason"`
		MetricName            string              `json:"metric_name"`
		Namespace             string              `json:"namespace"`
		Dimensions            []map[string]string `json:"dimensions"`
		Threshold             float64             `json:"threshold"`
		ComparisonOperator    string              `json:"comparison_operator"`
		StateUpdatedTimestamp string              `json:"state_updated_timestamp"`
		AlarmType             string              `json:"alarm_type"`
	} `json:"metric_alarms"`
	CompositeAlarms []struct {
		AlarmName             string `json:"alarm_name"`
		AlarmRule             string `json:"alarm_rule"`
		StateUpdatedTimestamp string `json:"state_updated_timestamp"`
		AlarmType             string `json:"alarm_type"`
	} `json:"composite_alarms"`
	HasMoreResults bool    `json:"has_more_results"`
	Message        *string `json:"message"`
}

type alarmDetailsWire struct {
	AlarmName          string              `json:"alarm_name"`
	AlarmDescription   *string             `json:"alarm_description"`
	AlarmType          string              `json:"alarm_type"`
	CurrentState       string              `json:"current_state"`
	MetricName         *string             `json:"metric_name"`
	Namespace          *string             `json:"namespace"`
	Dimensions         []map[string]string `json:"dimensions"`
	Threshold          *float64            `json:"threshold"`
	ComparisonOperator *string             `json:"comparison_operator"`
	EvaluationPeriods  *int32              `json:"evaluation_periods"`
	Period             *int32              `json:"period"`
	Statistic          *string             `json:"statistic"`
	AlarmRule          *string             `json:"alarm_rule"`
}

type timeRangeWire struct {
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	Reason    string `json:"reason"`
}

type alarmHistoryWire struct {
	AlarmDetails alarmDetailsWire `json:"alarm_details"`
	HistoryItems []struct {
		AlarmName       string  `json:"alarm_name"`
		AlarmType       string  `json:"alarm_type"`
		Timestamp       string  `json:"timestamp"`
		HistoryItemType string  `json:"history_item_type"`
		HistorySummary  string  `json:"history_summary"`
		OldState        *string `json:"old_state"`
		NewState        *string `json:"new_state"`
		StateReason     *string `json:"state_reason"`
	} `json:"history_items"`
	TimeRangeSuggestions []timeRangeWire `json:"time_range_suggestions"`
	HasMoreResults       bool            `json:"has_more_results"`
	Message              *string         `json:"message"`
}

type compositeComponentWire struct {
	CompositeAlarmName string             `json:"composite_alarm_name"`
	ComponentAlarms    []string           `json:"component_alarms"`
	AlarmRule          string             `json:"alarm_rule"`
	ComponentDetails   []alarmDetailsWire `json:"component_details"`
}
