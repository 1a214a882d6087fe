package fakeaws

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func seedAlarms(t *testing.T, f *Fake, base time.Time) *Alarms {
	t.Helper()
	a := AlarmsOf(f)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.AddMetricAlarm(MetricAlarm{
		Name: "api-cpu-high", Description: "CPU above 80% on the API fleet", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
		Dimensions: []AlarmDimension{{"AutoScalingGroupName", "api-asg"}}, Threshold: 80, EvaluationPeriods: 3,
		AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:ops-alerts"}, State: "OK", StateUpdated: base.Add(-48 * time.Hour),
	}))
	must(a.AddMetricAlarm(MetricAlarm{
		Name: "api-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Statistic: "Sum", Period: 60,
		Threshold: 10, State: "ALARM", StateUpdated: base.Add(-time.Hour),
	}))
	must(a.AddMetricAlarm(MetricAlarm{
		Name: "api-p99-latency", Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", ExtendedStatistic: "p99",
		Threshold: 1.5, State: "ALARM", Region: "eu-west-1",
	}))
	must(a.AddMetricAlarm(MetricAlarm{
		Name: "orders-error-rate", Threshold: 5, ComparisonOperator: "GreaterThanOrEqualToThreshold", State: "ALARM",
		Metrics: []map[string]any{
			{"Id": "e1", "Expression": "100*m2/m1", "Label": "error rate", "ReturnData": true},
			{"Id": "m1", "ReturnData": false, "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 120, "Stat": "Sum"}},
			{"Id": "m2", "ReturnData": false, "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 120, "Stat": "Sum"}},
		},
	}))
	must(a.AddCompositeAlarm(CompositeAlarm{Name: "api-degraded", Rule: `ALARM("api-5xx") OR ALARM(api-cpu-high)`, State: "OK"}))
	if err := a.AddMetricAlarm(MetricAlarm{Name: "api-5xx", Namespace: "x", MetricName: "y"}); err == nil {
		t.Fatal("duplicate alarm accepted")
	}
	if err := a.AddMetricAlarm(MetricAlarm{Name: "bad", Namespace: "x", MetricName: "y", State: "FIRING"}); err == nil {
		t.Fatal("bad state accepted")
	}
	return a
}

func TestFakeDescribeAlarms(t *testing.T) {
	f := Start()
	defer f.Close()
	seedAlarms(t, f, time.Now())
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("alice", time.Now().Add(time.Hour)))))

	// No AlarmTypes: metric alarms only, as AWS; eu-west-1's alarm is not in us-east-1.
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := metricNames(out.MetricAlarms); got != "api-5xx,api-cpu-high,orders-error-rate" || len(out.CompositeAlarms) != 0 {
		t.Fatalf("metric alarms %s, composites %d", got, len(out.CompositeAlarms))
	}
	m := out.MetricAlarms[0]
	if aws.ToString(m.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx" || m.Statistic != types.StatisticSum ||
		aws.ToInt32(m.Period) != 60 || aws.ToFloat64(m.Threshold) != 10 || m.StateValue != types.StateValueAlarm || m.StateUpdatedTimestamp == nil {
		t.Fatalf("api-5xx decoded wrong: %+v", m)
	}
	mm := out.MetricAlarms[2]
	if len(mm.Metrics) != 3 || mm.MetricName != nil || mm.Period != nil || aws.ToInt32(mm.Metrics[1].MetricStat.Period) != 120 {
		t.Fatalf("metric math alarm decoded wrong: %+v", mm)
	}

	// StateValue + both types, paged two at a time.
	var names []string
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{
		AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}, MaxRecords: aws.Int32(2),
	})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, strings.Split(metricNames(pg.MetricAlarms), ",")...)
		for _, c := range pg.CompositeAlarms {
			names = append(names, aws.ToString(c.AlarmName))
			if aws.ToString(c.AlarmRule) == "" {
				t.Fatal("composite without rule")
			}
		}
	}
	if pages != 2 || len(names) < 4 {
		t.Fatalf("pages %d names %v", pages, names)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm, AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}})
	if err != nil {
		t.Fatal(err)
	}
	if got := metricNames(out.MetricAlarms); got != "api-5xx,orders-error-rate" || len(out.CompositeAlarms) != 0 {
		t.Fatalf("ALARM filter: %s", got)
	}
	// Region scoping and AlarmNames.
	eu := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("alice", time.Now().Add(time.Hour)))), func(o *cloudwatch.Options) { o.Region = "eu-west-1" })
	out, err = eu.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"api-p99-latency", "api-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := metricNames(out.MetricAlarms); got != "api-5xx,api-p99-latency" || aws.ToString(out.MetricAlarms[1].ExtendedStatistic) != "p99" {
		t.Fatalf("eu-west-1 by name: %s", got)
	}
	// Children / parents of composites.
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ChildrenOfAlarmName: aws.String("api-degraded")})
	if err != nil || metricNames(out.MetricAlarms) != "api-5xx,api-cpu-high" {
		t.Fatalf("children: %v %v", err, out)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ParentsOfAlarmName: aws.String("api-5xx"), AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.CompositeAlarms) != 1 {
		t.Fatalf("parents: %v %v", err, out)
	}

	// AWS's validation errors.
	_, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(101)})
	assertCode(t, err, "ValidationError")
	_, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
	assertCode(t, err, "InvalidParameterCombination")
	_, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: "FIRING"})
	assertCode(t, err, "ValidationError")
	_, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{NextToken: aws.String("garbage")})
	assertCode(t, err, "InvalidNextToken")
}

func TestFakeDescribeAlarmHistory(t *testing.T) {
	f := Start()
	defer f.Close()
	base := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	a := seedAlarms(t, f, base)
	if err := a.Transition("api-cpu-high", "ALARM", base, 91.2, 88.4, 86.1); err != nil {
		t.Fatal(err)
	}
	if err := a.Transition("api-cpu-high", "OK", base.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.Flap("api-5xx", base.Add(time.Hour), 5*time.Minute, 3); err != nil {
		t.Fatal(err)
	}
	if err := a.Transition("api-5xx", "ALARM", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Transition("api-degraded", "ALARM", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Transition("nope", "ALARM", base); err == nil {
		t.Fatal("transition of an unknown alarm accepted")
	}
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("alice", time.Now().Add(time.Hour)))))

	out, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("api-cpu-high")})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: OK transition, Action, ALARM transition, creation.
	var kinds []string
	for _, it := range out.AlarmHistoryItems {
		kinds = append(kinds, string(it.HistoryItemType))
	}
	if strings.Join(kinds, ",") != "StateUpdate,Action,StateUpdate,ConfigurationUpdate" {
		t.Fatalf("history kinds %v", kinds)
	}
	alarmItem := out.AlarmHistoryItems[2]
	if aws.ToString(alarmItem.HistorySummary) != "Alarm updated from OK to ALARM" || !alarmItem.Timestamp.Equal(base) {
		t.Fatalf("state item %+v", alarmItem)
	}
	var hd struct {
		Version  string `json:"version"`
		OldState struct {
			StateValue string `json:"stateValue"`
		} `json:"oldState"`
		NewState struct {
			StateValue      string `json:"stateValue"`
			StateReason     string `json:"stateReason"`
			StateReasonData struct {
				Period           int       `json:"period"`
				Statistic        string    `json:"statistic"`
				Threshold        float64   `json:"threshold"`
				RecentDatapoints []float64 `json:"recentDatapoints"`
			} `json:"stateReasonData"`
		} `json:"newState"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(alarmItem.HistoryData)), &hd); err != nil {
		t.Fatalf("HistoryData is not JSON: %v", err)
	}
	wantReason := "Threshold Crossed: 3 out of the last 3 datapoints [86.1 (15/01/24 09:55:00), 88.4 (15/01/24 09:50:00), 91.2 (15/01/24 09:45:00)] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition)."
	if hd.Version != "1.0" || hd.OldState.StateValue != "OK" || hd.NewState.StateValue != "ALARM" || hd.NewState.StateReason != wantReason ||
		hd.NewState.StateReasonData.Period != 300 || hd.NewState.StateReasonData.Statistic != "Average" || len(hd.NewState.StateReasonData.RecentDatapoints) != 3 {
		t.Fatalf("HistoryData %+v", hd)
	}
	if !strings.Contains(aws.ToString(out.AlarmHistoryItems[2].HistoryData), `"threshold":80.0`) {
		t.Fatalf("threshold not written as AWS does: %s", aws.ToString(out.AlarmHistoryItems[2].HistoryData))
	}

	// Filters: type, dates, ascending scan, paging.
	var stamps []time.Time
	p := cloudwatch.NewDescribeAlarmHistoryPaginator(cw, &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName: aws.String("api-5xx"), HistoryItemType: types.HistoryItemTypeStateUpdate, ScanBy: types.ScanByTimestampAscending,
		StartDate: aws.Time(base.Add(time.Hour)), EndDate: aws.Time(base.Add(90 * time.Minute)), MaxRecords: aws.Int32(4),
	})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range pg.AlarmHistoryItems {
			stamps = append(stamps, *it.Timestamp)
		}
	}
	if pages != 2 || len(stamps) != 6 || !stamps[0].Equal(base.Add(time.Hour)) || !stamps[5].Equal(base.Add(time.Hour+25*time.Minute)) {
		t.Fatalf("pages %d stamps %v", pages, stamps)
	}

	// Composite history needs AlarmTypes, as in AWS.
	out, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("api-degraded"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil || len(out.AlarmHistoryItems) != 0 {
		t.Fatalf("composite history without AlarmTypes: %v %v", err, out)
	}
	out, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("api-degraded"), HistoryItemType: types.HistoryItemTypeStateUpdate,
		AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(out.AlarmHistoryItems) != 1 {
		t.Fatalf("composite history: %v %v", err, out)
	}
	if hdata := aws.ToString(out.AlarmHistoryItems[0].HistoryData); !strings.Contains(hdata, `"triggeringAlarms"`) || !strings.Contains(hdata, "alarm:api-5xx transitioned to ALARM") {
		t.Fatalf("composite HistoryData %s", hdata)
	}

	// Deleted alarms keep their history; raw items can be added.
	a.Delete("api-cpu-high")
	a.AddHistory(AlarmHistoryItem{AlarmName: "old-alarm", Timestamp: base, HistoryItemType: "StateUpdate", HistorySummary: "Alarm updated from OK to ALARM", HistoryData: "{not json"})
	out, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{HistoryItemType: types.HistoryItemTypeStateUpdate, StartDate: aws.Time(base), EndDate: aws.Time(base)})
	if err != nil || len(out.AlarmHistoryItems) != 2 {
		t.Fatalf("all alarms at base: %v %+v", err, out)
	}

	_, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{HistoryItemType: "Nope"})
	assertCode(t, err, "ValidationError")
	_, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{MaxRecords: aws.Int32(0)})
	assertCode(t, err, "ValidationError")
	_, err = cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{NextToken: aws.String(alarmPageToken("alarms", 1))})
	assertCode(t, err, "InvalidNextToken")
}

func TestFakeAlarmStateReasons(t *testing.T) {
	f := Start()
	defer f.Close()
	a := AlarmsOf(f)
	if err := a.AddMetricAlarm(MetricAlarm{Name: "low-free-memory", Namespace: "AWS/RDS", MetricName: "FreeableMemory",
		ComparisonOperator: "LessThanThreshold", Threshold: 2.5e8, OKActions: []string{"arn:aws:sns:us-east-1:123456789012:ops"}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 8, 3, 0, 0, time.UTC)
	_ = a.Transition("low-free-memory", "ALARM", at)
	_ = a.Transition("low-free-memory", "OK", at.Add(time.Hour))
	_ = a.Transition("low-free-memory", "INSUFFICIENT_DATA", at.Add(2*time.Hour))
	a.mu.Lock()
	defer a.mu.Unlock()
	var reasons []string
	actions := 0
	for _, it := range a.history {
		switch it.HistoryItemType {
		case "StateUpdate":
			var hd struct {
				NewState struct {
					StateReason string `json:"stateReason"`
				} `json:"newState"`
			}
			if err := json.Unmarshal([]byte(it.HistoryData), &hd); err != nil {
				t.Fatal(err)
			}
			reasons = append(reasons, hd.NewState.StateReason)
		case "Action":
			actions++
		}
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], "was less than the threshold (250000000.0)") ||
		!strings.Contains(reasons[1], "was not less than the threshold") || reasons[2] != "Insufficient Data: 1 datapoint was unknown." {
		t.Fatalf("reasons %q", reasons)
	}
	if actions != 1 {
		t.Fatalf("want 1 action (OK only), got %d", actions)
	}
}

func metricNames(l []types.MetricAlarm) string {
	var n []string
	for _, m := range l {
		n = append(n, aws.ToString(m.AlarmName))
	}
	return strings.Join(n, ",")
}

// Owners limit who sees a metric alarm in DescribeAlarms.
func TestDescribeAlarmsOwners(t *testing.T) {
	f := Start()
	t.Cleanup(f.Close)
	a := AlarmsOf(f)
	for _, m := range []MetricAlarm{{Name: "mine", Namespace: "AWS/EC2", MetricName: "CPUUtilization", Owners: []string{"alice"}}, {Name: "shared", Namespace: "AWS/EC2", MetricName: "CPUUtilization"}} {
		if err := a.AddMetricAlarm(m); err != nil {
			t.Fatal(err)
		}
	}
	for owner, want := range map[string]string{"alice": "mine,shared", "bob": "shared"} {
		cw := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials(owner, time.Now().Add(time.Hour)))))
		out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range out.MetricAlarms {
			got = append(got, aws.ToString(m.AlarmName))
		}
		if strings.Join(got, ",") != want {
			t.Fatalf("%s sees %v, want %s", owner, got, want)
		}
	}
}
