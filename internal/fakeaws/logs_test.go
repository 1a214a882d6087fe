package fakeaws

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func logsClient(t *testing.T) (*Fake, *cloudwatchlogs.Client) {
	t.Helper()
	f := Start()
	t.Cleanup(f.Close)
	creds := f.IssueCredentials("alice", time.Now().Add(time.Hour))
	return f, cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(creds)))
}

// fakeClock is a settable clock for query state machines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestLogsDescribeLogGroupsPagingAndFilters(t *testing.T) {
	f, cl := logsClient(t)
	ctx := context.Background()
	for i := range 7 {
		LogsOf(f).AddLogGroup(LogGroup{Name: fmt.Sprintf("/aws/lambda/fn-%02d", i), RetentionInDays: 14, StoredBytes: int64(i * 100)})
	}
	LogsOf(f).AddLogGroup(
		LogGroup{Name: "/ecs/web", Class: "INFREQUENT_ACCESS"},
		LogGroup{Name: "/aws/lambda/other-region", Region: "eu-west-1"},
		LogGroup{Name: "/aws/lambda/linked", AccountID: "210987654321"},
		LogGroup{Name: "/legacy/no-bytes", Omit: []string{"storedBytes", "metricFilterCount"}},
	).SetPageSize(3)

	var names []string
	pages := 0
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(cl, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			if want := "arn:aws:logs:us-east-1:123456789012:log-group:" + aws.ToString(g.LogGroupName); aws.ToString(g.LogGroupArn) != want || aws.ToString(g.Arn) != want+":*" {
				t.Fatalf("arns %q %q", aws.ToString(g.LogGroupArn), aws.ToString(g.Arn))
			}
		}
	}
	if len(names) != 7 || pages != 3 || names[0] != "/aws/lambda/fn-00" {
		t.Fatalf("prefix listing: %d pages %v", pages, names)
	}

	out, err := cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true), AccountIdentifiers: []string{"210987654321"}, LogGroupNamePattern: aws.String("linked")})
	if err != nil || len(out.LogGroups) != 1 || out.LogGroups[0].MetricFilterCount != nil {
		t.Fatalf("linked pattern search: %+v %v", out, err)
	}
	out, _ = cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("linked")})
	if len(out.LogGroups) != 0 {
		t.Fatal("a source account's group is visible without includeLinkedAccounts")
	}
	out, _ = cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupClass: types.LogGroupClassInfrequentAccess})
	if len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/ecs/web" {
		t.Fatalf("class filter: %+v", out.LogGroups)
	}
	out, _ = cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/legacy/")})
	if g := out.LogGroups[0]; g.StoredBytes != nil || g.MetricFilterCount != nil || g.LogGroupArn == nil {
		t.Fatalf("Omit not honoured: %+v", g)
	}
	_, err = cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/a"), LogGroupNamePattern: aws.String("b")})
	assertCode(t, err, "InvalidParameterException")
	_, err = cl.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("bogus")})
	assertCode(t, err, "InvalidParameterException")
}

func TestLogsQueryDefinitions(t *testing.T) {
	f, cl := logsClient(t)
	LogsOf(f).AddQueryDefinition(
		QueryDefinition{Name: "a", QueryString: "fields @message", LogGroupNames: []string{"/x"}},
		QueryDefinition{Name: "b", QueryString: "SELECT 1", Language: "SQL"},
		QueryDefinition{Name: "c", QueryString: "SOURCE logGroups(namePrefix: [\"/aws\"]) | limit 1"},
	).SetPageSize(1)
	var got []string
	var tok *string
	for {
		out, err := cl.DescribeQueryDefinitions(context.Background(), &cloudwatchlogs.DescribeQueryDefinitionsInput{QueryLanguage: types.QueryLanguageCwli, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.QueryDefinitions {
			got = append(got, aws.ToString(d.Name))
			if d.QueryDefinitionId == nil || d.LastModified == nil {
				t.Fatalf("definition lacks id/lastModified: %+v", d)
			}
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if fmt.Sprint(got) != "[a c]" {
		t.Fatalf("CWLI definitions %v", got)
	}
}

func TestLogsStartQueryValidation(t *testing.T) {
	f, cl := logsClient(t)
	g := LogGroup{Name: "/app/api"}
	LogsOf(f).AddLogGroup(g, LogGroup{Name: "/src/app", AccountID: "210987654321"})
	g.Region, g.AccountID = "us-east-1", DefaultAccountID
	ctx := context.Background()
	in := func(mod func(*cloudwatchlogs.StartQueryInput)) *cloudwatchlogs.StartQueryInput {
		q := &cloudwatchlogs.StartQueryInput{QueryString: aws.String("fields @message"), StartTime: aws.Int64(1700000000), EndTime: aws.Int64(1700003600)}
		mod(q)
		return q
	}
	fifty1 := make([]string, 51)
	for i := range fifty1 {
		fifty1[i] = "/app/api"
	}
	for name, c := range map[string]struct {
		mod  func(*cloudwatchlogs.StartQueryInput)
		code string
	}{
		"both": {func(q *cloudwatchlogs.StartQueryInput) {
			q.LogGroupNames = []string{"/app/api"}
			q.LogGroupIdentifiers = []string{"/app/api"}
		}, "InvalidParameterException"},
		"neither":       {func(q *cloudwatchlogs.StartQueryInput) {}, "InvalidParameterException"},
		"arn as name":   {func(q *cloudwatchlogs.StartQueryInput) { q.LogGroupNames = []string{g.ARN()} }, "InvalidParameterException"},
		"arn with :*":   {func(q *cloudwatchlogs.StartQueryInput) { q.LogGroupIdentifiers = []string{g.ARN() + ":*"} }, "InvalidParameterException"},
		"51 groups":     {func(q *cloudwatchlogs.StartQueryInput) { q.LogGroupNames = fifty1 }, "InvalidParameterException"},
		"missing group": {func(q *cloudwatchlogs.StartQueryInput) { q.LogGroupNames = []string{"/nope"} }, "ResourceNotFoundException"},
		"end<start": {func(q *cloudwatchlogs.StartQueryInput) {
			q.LogGroupNames = []string{"/app/api"}
			q.EndTime = aws.Int64(1)
		}, "InvalidParameterException"},
		"limit 0": {func(q *cloudwatchlogs.StartQueryInput) {
			q.LogGroupNames = []string{"/app/api"}
			q.Limit = aws.Int32(0)
		}, "InvalidParameterException"},
	} {
		_, err := cl.StartQuery(ctx, in(c.mod))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		assertCode(t, err, c.code)
	}
	// Source-account groups are queryable by ARN; SOURCE queries need no groups.
	src := LogGroup{Name: "/src/app", Region: "us-east-1", AccountID: "210987654321"}
	for _, mod := range []func(*cloudwatchlogs.StartQueryInput){
		func(q *cloudwatchlogs.StartQueryInput) {
			q.LogGroupIdentifiers = []string{g.ARN(), src.ARN(), "/app/api"}
		},
		func(q *cloudwatchlogs.StartQueryInput) {
			q.QueryString = aws.String("SOURCE logGroups(namePrefix: [\"/app\"]) | limit 5")
		},
	} {
		if _, err := cl.StartQuery(ctx, in(mod)); err != nil {
			t.Fatal(err)
		}
	}
	if qs := LogsOf(f).Queries(); len(qs) != 2 || qs[0].LogGroupsParam != "logGroupIdentifiers" || qs[0].Owner != "alice" {
		t.Fatalf("queries %+v", qs)
	}
}

func TestLogsQueryLifecycle(t *testing.T) {
	f, cl := logsClient(t)
	clk := &fakeClock{t: time.Now()}
	f.SetClock(clk.now)
	ctx := context.Background()
	l := LogsOf(f).AddLogGroup(LogGroup{Name: "/app/api"})
	l.SetQueryResults("", QueryResult{Rows: [][]ResultField{Row("@message", "a"), Row("@message", "b"), Row("@message", "c")}})
	l.SetQueryResults("filter", QueryResult{Status: "Failed", Plan: &QueryPlan{Polls: 1}})
	start := func(q string, limit int32) string {
		in := &cloudwatchlogs.StartQueryInput{QueryString: aws.String(q), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{"/app/api"}}
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		out, err := cl.StartQuery(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueryId)
	}
	poll := func(id string) *cloudwatchlogs.GetQueryResultsOutput {
		out, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Default plan: Scheduled, then Complete on the second poll.
	id := start("fields @message", 2)
	if s := poll(id).Status; s != types.QueryStatusScheduled {
		t.Fatalf("first poll %s", s)
	}
	out := poll(id)
	if out.Status != types.QueryStatusComplete || len(out.Results) != 2 || aws.ToString(out.Results[1][0].Value) != "b" || out.Statistics.RecordsMatched != 2 {
		t.Fatalf("second poll %+v", out)
	}
	if _, err := cl.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)}); err == nil {
		t.Fatal("stopping a finished query must fail")
	}

	// Per-rule plan and status.
	if s := poll(start("fields @message | filter x", 0)).Status; s != types.QueryStatusFailed {
		t.Fatalf("rule status %s", s)
	}

	// Duration plan on the fake clock.
	l.SetQueryPlan(QueryPlan{Duration: 2 * time.Second})
	id = start("fields @message", 0)
	for _, step := range []struct {
		adv  time.Duration
		want types.QueryStatus
	}{{0, "Scheduled"}, {time.Second, "Running"}, {999 * time.Millisecond, "Running"}, {time.Millisecond, "Complete"}} {
		clk.advance(step.adv)
		if s := poll(id).Status; s != step.want {
			t.Fatalf("after %v: %s, want %s", step.adv, s, step.want)
		}
	}
	q, _ := l.Query(id)
	if !q.ReportedDoneAt.Equal(q.CompleteAt) || q.Polls != 4 {
		t.Fatalf("snapshot %+v", q)
	}

	// StopQuery cancels a running query.
	id = start("fields @message", 0)
	if o, err := cl.StopQuery(ctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)}); err != nil || !o.Success {
		t.Fatalf("stop: %v", err)
	}
	if s := poll(id).Status; s != types.QueryStatusCancelled {
		t.Fatalf("stopped query reports %s", s)
	}
	_, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("nope")})
	assertCode(t, err, "ResourceNotFoundException")

	// Concurrency limit.
	l.SetMaxConcurrentQueries(1)
	_, err = cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("x"), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{"/app/api"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("x"), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{"/app/api"}})
	assertCode(t, err, "LimitExceededException")
}

func TestLogsQueryResultPaging(t *testing.T) {
	f, cl := logsClient(t)
	rows := make([][]ResultField, 5)
	for i := range rows {
		rows[i] = Row("n", fmt.Sprint(i))
	}
	l := LogsOf(f).AddLogGroup(LogGroup{Name: "/g"}).SetQueryPlan(QueryPlan{}).SetQueryResults("", QueryResult{Rows: rows}).SetPageSize(2)
	ctx := context.Background()
	out, err := cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("x"), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{"/g"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var tok *string
	for {
		r, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: out.QueryId, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range r.Results {
			got = append(got, aws.ToString(row[0].Value))
		}
		if tok = r.NextToken; tok == nil {
			break
		}
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("paged rows %v", got)
	}
	_ = l
}

func TestLogsAnomalies(t *testing.T) {
	f, cl := logsClient(t)
	ctx := context.Background()
	l := LogsOf(f)
	g := LogGroup{Name: "/app/api", Region: "us-east-1", AccountID: DefaultAccountID}
	det := l.AddAnomalyDetector(AnomalyDetector{Name: "d1", LogGroupARNs: []string{g.ARN()}})
	l.AddAnomalyDetector(AnomalyDetector{Name: "other", LogGroupARNs: []string{"arn:aws:logs:us-east-1:123456789012:log-group:/other"}})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l.AddAnomaly(
		Anomaly{DetectorARN: det, LogGroupARNs: []string{g.ARN()}, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Description: "new pattern", Priority: "HIGH",
			PatternString: "ERROR <*> failed", Histogram: map[time.Time]int64{t0: 4}, Samples: []LogSample{{t0, "ERROR x failed"}}},
		Anomaly{DetectorARN: det, LogGroupARNs: []string{g.ARN()}, FirstSeen: t0, LastSeen: t0, Suppressed: true},
	)
	ds, err := cl.ListLogAnomalyDetectors(ctx, &cloudwatchlogs.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String(g.ARN())})
	if err != nil || len(ds.AnomalyDetectors) != 1 || aws.ToString(ds.AnomalyDetectors[0].AnomalyDetectorArn) != det || ds.AnomalyDetectors[0].AnomalyDetectorStatus != "ANALYZING" {
		t.Fatalf("detectors %+v %v", ds, err)
	}
	as, err := cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String(det), SuppressionState: types.SuppressionStateUnsuppressed})
	if err != nil || len(as.Anomalies) != 1 {
		t.Fatalf("anomalies %+v %v", as, err)
	}
	a := as.Anomalies[0]
	if a.FirstSeen != t0.UnixMilli() || a.Histogram[fmt.Sprint(t0.UnixMilli())] != 4 || aws.ToString(a.LogSamples[0].Message) != "ERROR x failed" || len(a.PatternTokens) != 3 {
		t.Fatalf("anomaly decoded wrong: %+v", a)
	}
	_, err = cl.ListLogAnomalyDetectors(ctx, &cloudwatchlogs.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String("/app/api")})
	assertCode(t, err, "InvalidParameterException")
}

// TestLogsListAnomaliesFilters covers what list_log_anomalies relies on:
// the detector and suppression filters (the API has no time filter),
// region scoping, paging and the suppression details.
func TestLogsListAnomaliesFilters(t *testing.T) {
	f, cl := logsClient(t)
	ctx := context.Background()
	l := LogsOf(f)
	d1 := l.AddAnomalyDetector(AnomalyDetector{Name: "d1"})
	d2 := l.AddAnomalyDetector(AnomalyDetector{Name: "d2"})
	dEU := l.AddAnomalyDetector(AnomalyDetector{Name: "eu", Region: "eu-west-1"})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		l.AddAnomaly(Anomaly{DetectorARN: d1, FirstSeen: t0, LastSeen: t0, Description: fmt.Sprintf("d1-%d", i), PatternString: "ERROR <*> in <*>"})
	}
	l.AddAnomaly(
		Anomaly{DetectorARN: d2, FirstSeen: t0, LastSeen: t0, Description: "d2-suppressed", Suppressed: true, SuppressedAt: t0.Add(time.Hour), SuppressedUntil: t0.Add(25 * time.Hour), PatternLevelSuppression: true},
		Anomaly{DetectorARN: dEU, FirstSeen: t0, LastSeen: t0, Description: "eu"},
	)
	l.SetPageSize(2)
	list := func(in cloudwatchlogs.ListAnomaliesInput) (descs []string, pages int) {
		p := cloudwatchlogs.NewListAnomaliesPaginator(cl, &in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, a := range out.Anomalies {
				descs = append(descs, aws.ToString(a.Description))
			}
		}
		return descs, pages
	}
	if got, pages := list(cloudwatchlogs.ListAnomaliesInput{}); len(got) != 6 || pages != 3 || slices.Contains(got, "eu") {
		t.Fatalf("all in us-east-1: %d pages %v", pages, got)
	}
	if got, _ := list(cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String(d1), SuppressionState: types.SuppressionStateUnsuppressed}); len(got) != 5 || got[4] != "d1-4" {
		t.Fatalf("d1 unsuppressed: %v", got)
	}
	out, err := cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{SuppressionState: types.SuppressionStateSuppressed})
	if err != nil || len(out.Anomalies) != 1 {
		t.Fatalf("suppressed: %+v %v", out, err)
	}
	a := out.Anomalies[0]
	if !aws.ToBool(a.Suppressed) || a.SuppressedDate != t0.Add(time.Hour).UnixMilli() || a.SuppressedUntil != t0.Add(25*time.Hour).UnixMilli() || !aws.ToBool(a.IsPatternLevelSuppression) || a.State != types.StateSuppressed {
		t.Fatalf("suppression details %+v", a)
	}
	out, _ = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String(d1), Limit: aws.Int32(1)})
	toks := out.Anomalies[0].PatternTokens
	if len(toks) != 4 || toks[0].DynamicTokenPosition != 0 || toks[1].DynamicTokenPosition != 1 || toks[3].DynamicTokenPosition != 2 || !aws.ToBool(toks[3].IsDynamic) {
		t.Fatalf("pattern tokens %+v", toks)
	}
	// A token continues only its own listing.
	_, err = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String(d2), NextToken: out.NextToken})
	assertCode(t, err, "InvalidParameterException")
	_, err = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String(dEU)})
	assertCode(t, err, "ResourceNotFoundException")
	_, err = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{AnomalyDetectorArn: aws.String("not an arn")})
	assertCode(t, err, "InvalidParameterException")
	_, err = cl.ListAnomalies(ctx, &cloudwatchlogs.ListAnomaliesInput{Limit: aws.Int32(51)})
	assertCode(t, err, "InvalidParameterException")
}

func TestLogsSeedDemo(t *testing.T) {
	f, cl := logsClient(t)
	LogsOf(f).SeedDemo().SetQueryPlan(QueryPlan{})
	ctx := context.Background()
	out, err := cl.DescribeLogGroups(ctx, nil)
	if err != nil || len(out.LogGroups) != 7 {
		t.Fatalf("demo groups: %d %v", len(out.LogGroups), err)
	}
	q, err := cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("pattern @message | sort @sampleCount desc | limit 5"), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{"/aws/lambda/checkout-api"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil || r.Status != types.QueryStatusComplete || len(r.Results) != 2 {
		t.Fatalf("demo pattern query: %+v %v", r, err)
	}
}

// Owners limit who sees a log group in DescribeLogGroups.
func TestDescribeLogGroupsOwners(t *testing.T) {
	f := Start()
	t.Cleanup(f.Close)
	LogsOf(f).AddLogGroup(LogGroup{Name: "/a/alice", Owners: []string{"alice"}}, LogGroup{Name: "/a/shared"})
	for owner, want := range map[string][]string{"alice": {"/a/alice", "/a/shared"}, "bob": {"/a/shared"}} {
		cl := cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials(owner, time.Now().Add(time.Hour)))))
		out, err := cl.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/a/")})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range out.LogGroups {
			got = append(got, aws.ToString(g.LogGroupName))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s sees %v, want %v", owner, got, want)
		}
	}
}
