package fakeaws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestSeedDemoData checks what the demo's new tools find in the demo data:
// events to filter, masked records behind Insights @ptr values, anomalies
// in both suppression states, and a chart with a line.
func TestSeedDemoData(t *testing.T) {
	f := Start()
	defer f.Close()
	l := LogsOf(f).SeedDemo().SetQueryPlan(QueryPlan{})
	MetricsOf(f).SeedDemo()
	cfg := TestConfig(f, StaticCredentials(f.IssueCredentials("demo-user", time.Now().Add(time.Hour))))
	cl := cloudwatchlogs.NewFromConfig(cfg)
	ctx := context.Background()

	web, _ := filterAll(t, cl, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(DemoLiveTailGroup)})
	errs, _ := filterAll(t, cl, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(DemoLiveTailGroup), FilterPattern: aws.String(`{ $.status >= 500 }`)})
	if len(web) != 180 || len(errs) == 0 || len(errs) > 20 || !strings.Contains(errs[0], "payment-processor timed out") {
		t.Fatalf("demo live group: %d events, %d errors %v", len(web), len(errs), errs)
	}
	orders, _ := filterAll(t, cl, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/orders-service")})
	if len(orders) != 31 || strings.Contains(strings.Join(orders, "\n"), "@example.") || strings.Contains(strings.Join(orders, "\n"), "4111 1111") {
		t.Fatalf("orders-service events are not masked: %v", orders[:2])
	}

	end := time.Now().Add(time.Minute)
	q, err := cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("fields @timestamp, @message | filter @message like /ERROR/ | limit 20"),
		StartTime: aws.Int64(end.Add(-time.Hour).Unix()), EndTime: aws.Int64(end.Unix()), LogGroupNames: []string{"/ecs/orders-service"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("error rows %+v %v", res, err)
	}
	var ptr string
	for _, fl := range res.Results[0] {
		if aws.ToString(fl.Field) == "@ptr" {
			ptr = aws.ToString(fl.Value)
		}
	}
	rec, err := cl.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(ptr)})
	if err != nil || !strings.Contains(rec.LogRecord["@message"], "SocketTimeoutException") || strings.Contains(rec.LogRecord["@message"], "maria.garcia") {
		t.Fatalf("masked record %v %v", rec, err)
	}
	if _, err := cl.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(ptr), Unmask: true}); err == nil {
		t.Fatal("unmask allowed without AllowUnmask")
	}
	l.AllowUnmask("demo-user")
	rec, err = cl.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(ptr), Unmask: true})
	if err != nil || !strings.Contains(rec.LogRecord["@message"], "maria.garcia@example.com") {
		t.Fatalf("unmasked record %v %v", rec, err)
	}

	as, err := cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{SuppressionState: types.SuppressionStateSuppressed})
	if err != nil || len(as.Anomalies) != 1 {
		t.Fatalf("suppressed demo anomalies %+v %v", as, err)
	}
	as, err = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{SuppressionState: types.SuppressionStateUnsuppressed})
	if err != nil || len(as.Anomalies) != 3 {
		t.Fatalf("active demo anomalies %+v %v", as, err)
	}

	_, err = cloudwatch.NewFromConfig(cfg).GetMetricWidgetImage(ctx, &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(
		`{"metrics": [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "` + DemoLoadBalancer + `", {"stat": "p99"}]], "period": 60, "title": "checkout-web p99"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if w := MetricsOf(f).WidgetImages()[0]; w.Lines != 1 {
		t.Fatalf("demo chart drew %d lines", w.Lines)
	}
}

// TestDemoGeneratorFeedsLiveTail tails the demo group while the generator
// runs, then stops the generator and checks nothing more arrives.
func TestDemoGeneratorFeedsLiveTail(t *testing.T) {
	f := StartTLS()
	defer f.Close()
	l := LogsOf(f).SeedDemo().SetLiveTailOptions(LiveTailOptions{UpdateInterval: 20 * time.Millisecond})
	bare := Start()
	defer bare.Close()
	if _, err := LogsOf(bare).StartDemoGenerator(time.Millisecond); err == nil {
		t.Fatal("a generator started without the demo group")
	}
	stop, err := l.StartDemoGenerator(5 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	arn := LogGroup{Name: DemoLiveTailGroup, Region: "us-east-1", AccountID: DefaultAccountID}.ARN()
	out, err := liveClient(f, "demo-user", true).StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}, LogEventFilterPattern: aws.String(`{ $.latency >= 0 }`)})
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	nextEvent(t, st)
	got, _ := collectUntil(t, st, 3)
	if !strings.HasPrefix(aws.ToString(got[0].Message), `{"level":`) || !strings.HasPrefix(aws.ToString(got[0].LogStreamName), "web/checkout-web/") {
		t.Fatalf("generated %+v", got[0])
	}
	stop()
	stop() // twice is fine
	n := len(l.Events(DemoLiveTailGroup))
	time.Sleep(30 * time.Millisecond) // a stopped generator appends nothing, however long we look
	if m := len(l.Events(DemoLiveTailGroup)); m != n {
		t.Fatalf("generator kept writing after stop: %d → %d", n, m)
	}
}
