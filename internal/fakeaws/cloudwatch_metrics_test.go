package fakeaws

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func metricsClient(t *testing.T) (*Fake, *cloudwatch.Client) {
	t.Helper()
	f := Start()
	t.Cleanup(f.Close)
	alice := f.IssueCredentials("alice", time.Now().Add(time.Hour))
	return f, cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(alice)))
}

var metricsT0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func metricMinutes(n int, val func(i int) float64) []MetricPoint {
	out := make([]MetricPoint, n)
	for i := range out {
		out[i] = MetricPoint{T: metricsT0.Add(time.Duration(i) * time.Minute), V: val(i)}
	}
	return out
}

func metricStatQuery(id, ns, metric string, dims map[string]string, stat string, period int32) types.MetricDataQuery {
	var d []types.Dimension
	for k, v := range dims {
		d = append(d, types.Dimension{Name: aws.String(k), Value: aws.String(v)})
	}
	return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: d},
		Period: aws.Int32(period), Stat: aws.String(stat),
	}}
}

func TestGetMetricDataMetricStatAggregatesAndScans(t *testing.T) {
	f, cw := metricsClient(t)
	dims := map[string]string{"InstanceId": "i-1"}
	MetricsOf(f).PutSeries("AWS/EC2", "CPUUtilization", dims, metricMinutes(10, func(i int) float64 { return float64(i) }))
	ctx := context.Background()
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(10 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{metricStatQuery("m1", "AWS/EC2", "CPUUtilization", dims, "Average", 300),
			metricStatQuery("m2", "AWS/EC2", "CPUUtilization", dims, "Maximum", 300),
			metricStatQuery("m3", "AWS/EC2", "CPUUtilization", dims, "SampleCount", 300),
			metricStatQuery("m4", "AWS/EC2", "CPUUtilization", dims, "p50", 300)},
		ScanBy: types.ScanByTimestampAscending,
	}
	out, err := cw.GetMetricData(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"m1": {2, 7}, "m2": {4, 9}, "m3": {5, 5}, "m4": {2, 7}}
	for _, r := range out.MetricDataResults {
		if got := r.Values; len(got) != 2 || got[0] != want[*r.Id][0] || got[1] != want[*r.Id][1] {
			t.Errorf("%s: values %v, want %v", *r.Id, got, want[*r.Id])
		}
		if !r.Timestamps[0].Equal(metricsT0) || r.StatusCode != types.StatusCodeComplete || aws.ToString(r.Label) != "CPUUtilization" {
			t.Errorf("%s: %v %s %q", *r.Id, r.Timestamps, r.StatusCode, aws.ToString(r.Label))
		}
	}
	in.ScanBy = ""
	out, _ = cw.GetMetricData(ctx, in)
	if !out.MetricDataResults[0].Timestamps[0].After(out.MetricDataResults[0].Timestamps[1]) {
		t.Error("default ScanBy must be TimestampDescending")
	}
	if c := f.Calls("GetMetricData")[0]; c.Owner != "alice" || !c.Signed {
		t.Errorf("call not attributed: %+v", c)
	}
	// Unknown series: an empty, complete result.
	in.MetricDataQueries = []types.MetricDataQuery{metricStatQuery("x", "AWS/EC2", "Nope", nil, "Average", 60)}
	out, err = cw.GetMetricData(ctx, in)
	if err != nil || len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Values) != 0 {
		t.Fatalf("%v %+v", err, out)
	}
}

func TestGetMetricDataPaging(t *testing.T) {
	f, cw := metricsClient(t)
	ms := MetricsOf(f)
	ms.PutSeries("App", "Hits", nil, metricMinutes(25, func(i int) float64 { return 1 }))
	ms.AddMessage("Note", "from the fake")
	ctx := context.Background()
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(time.Hour)),
		MetricDataQueries: []types.MetricDataQuery{metricStatQuery("a", "App", "Hits", nil, "Sum", 60), metricStatQuery("b", "App", "Hits", nil, "Sum", 60)},
		MaxDatapoints:     aws.Int32(20),
	}
	var pages []*cloudwatch.GetMetricDataOutput
	p := cloudwatch.NewGetMetricDataPaginator(cw, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out)
	}
	if len(pages) != 3 { // 50 points, 20 per page
		t.Fatalf("%d pages", len(pages))
	}
	first := pages[0].MetricDataResults
	if len(first) != 1 || *first[0].Id != "a" || first[0].StatusCode != types.StatusCodePartialData || len(first[0].Values) != 20 {
		t.Fatalf("page 1: %+v", first)
	}
	second := pages[1].MetricDataResults
	if len(second) != 2 || second[0].StatusCode != types.StatusCodeComplete || second[1].StatusCode != types.StatusCodePartialData {
		t.Fatalf("page 2: %+v", second)
	}
	if len(pages[2].Messages) != 1 || aws.ToString(pages[2].Messages[0].Code) != "Note" {
		t.Fatalf("messages %+v", pages[2].Messages)
	}
	in.NextToken = aws.String("garbage")
	_, err := cw.GetMetricData(ctx, in)
	assertCode(t, err, "InvalidNextToken")
}

func TestGetMetricDataInsightsAndEscaping(t *testing.T) {
	f, cw := metricsClient(t)
	ms := MetricsOf(f)
	one := func(i int) float64 { return 1 }
	ms.PutSeries("My/App", `Req"s.count`, map[string]string{"Svc": "a'b", "Env": "prod"}, metricMinutes(5, one))
	ms.PutSeries("My/App", `Req"s.count`, map[string]string{"Svc": "c", "Env": "prod"}, metricMinutes(5, func(i int) float64 { return 3 }))
	ms.PutSeries("My/App", `Req"s.count`, map[string]string{"Svc": "d"}, metricMinutes(5, one))
	ctx := context.Background()
	run := func(expr string) (*cloudwatch.GetMetricDataOutput, error) {
		return cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(5 * time.Minute)), ScanBy: types.ScanByTimestampAscending,
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("q"), Expression: aws.String(expr), Period: aws.Int32(300)}},
		})
	}
	out, err := run(`SELECT SUM("Req\"s.count") FROM SCHEMA("My/App", "Svc", "Env") GROUP BY "Svc" ORDER BY SUM() DESC LIMIT 5`)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 2 || aws.ToString(out.MetricDataResults[0].Label) != "c" || out.MetricDataResults[0].Values[0] != 15 || out.MetricDataResults[1].Values[0] != 5 {
		t.Fatalf("group by: %+v", out.MetricDataResults)
	}
	out, err = run(`select avg("Req\"s.count") from "My/App" where Svc = 'a\'b'`)
	if err != nil || len(out.MetricDataResults) != 1 || out.MetricDataResults[0].Values[0] != 1 {
		t.Fatalf("where with escaped quote: %v %+v", err, out)
	}
	// Unescaped identifiers, as awslabs builds them, are syntax errors.
	for _, bad := range []string{
		`SELECT SUM("Req"s.count") FROM SCHEMA("My/App")`,
		`SELECT SUM(Req.count) FROM "My/App"`,
		`SELECT AVG("x") FROM "My/App" WHERE Svc = 'a'b'`,
		`SELECT MEDIAN("x") FROM "My/App"`,
	} {
		_, err := run(bad)
		assertCode(t, err, "ValidationError")
	}
	if got := ms.Expressions(); len(got) != 6 || !strings.HasPrefix(got[0], "SELECT SUM") {
		t.Fatalf("recorded expressions %q", got)
	}
}

func TestGetMetricDataMathAndGenerator(t *testing.T) {
	f, cw := metricsClient(t)
	MetricsOf(f).PutGenerated("Gen", "Wave", nil, time.Minute, func(t time.Time) (float64, bool) {
		return math.Sin(float64(t.Unix()) / 3600), t.Minute() != 7
	})
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(time.Hour)), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{
			func() types.MetricDataQuery {
				q := metricStatQuery("m1", "Gen", "Wave", nil, "Average", 60)
				q.ReturnData = aws.Bool(false)
				return q
			}(),
			{Id: aws.String("e1"), Expression: aws.String("(m1 + 1) * 2"), Label: aws.String("double")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 1 || aws.ToString(out.MetricDataResults[0].Label) != "double" || len(out.MetricDataResults[0].Values) != 59 {
		t.Fatalf("%+v", out.MetricDataResults)
	}
	want := (math.Sin(float64(metricsT0.Unix())/3600) + 1) * 2
	if v := out.MetricDataResults[0].Values[0]; math.Abs(v-want) > 1e-9 {
		t.Fatalf("e1[0] = %v, want %v", v, want)
	}
	_, err = cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(time.Hour)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("m9 * 2")}},
	})
	assertCode(t, err, "ValidationError")
	_, err = cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0.Add(time.Hour)),
		MetricDataQueries: []types.MetricDataQuery{metricStatQuery("m1", "Gen", "Wave", nil, "Average", 61)},
	})
	assertCode(t, err, "ValidationError")
	_, err = cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(metricsT0), EndTime: aws.Time(metricsT0),
		MetricDataQueries: []types.MetricDataQuery{metricStatQuery("m1", "Gen", "Wave", nil, "Average", 60)},
	})
	assertCode(t, err, "ValidationError")
}
