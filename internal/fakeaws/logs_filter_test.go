package fakeaws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// seedEvents adds /app/api with 30 events, one a minute from t0 on three
// streams, every third an ERROR, and returns t0.
func seedEvents(t *testing.T, l *Logs) time.Time {
	t.Helper()
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	l.AddLogGroup(LogGroup{Name: "/app/api"})
	var evs []LogEvent
	for i := range 30 {
		level := "INFO"
		if i%3 == 0 {
			level = "ERROR"
		}
		evs = append(evs, LogEvent{Stream: fmt.Sprintf("api/%d", i%3), Time: t0.Add(time.Duration(i) * time.Minute), Message: fmt.Sprintf(`{"level":"%s","n":%d}`, level, i)})
	}
	if err := l.AppendEvents("/app/api", evs...); err != nil {
		t.Fatal(err)
	}
	return t0
}

func filterAll(t *testing.T, cl *cloudwatchlogs.Client, in cloudwatchlogs.FilterLogEventsInput) (msgs []string, pages int) {
	t.Helper()
	p := cloudwatchlogs.NewFilterLogEventsPaginator(cl, &in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
	}
	return msgs, pages
}

func TestFilterLogEvents(t *testing.T) {
	f, cl := logsClient(t)
	l := LogsOf(f)
	t0 := seedEvents(t, l)
	ctx := context.Background()

	out, err := cl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	e := out.Events[0]
	if len(out.Events) != 2 || aws.ToString(e.Message) != `{"level":"ERROR","n":0}` || aws.ToString(e.LogStreamName) != "api/0" ||
		aws.ToInt64(e.Timestamp) != t0.UnixMilli() || aws.ToInt64(e.IngestionTime) == 0 || len(aws.ToString(e.EventId)) != 56 || out.NextToken == nil {
		t.Fatalf("first page %+v", out)
	}

	// Paging is stable while events keep arriving: a page run sees the
	// events of its first page's moment, each once, in order.
	l.SetPageSize(4)
	g := LogGroup{Name: "/app/api", Region: "us-east-1", AccountID: DefaultAccountID}
	in := cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String(g.ARN()), FilterPattern: aws.String(`{ $.level = "ERROR" }`)}
	first, err := cl.FilterLogEvents(ctx, &in)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.AppendEvents("/app/api", LogEvent{Stream: "api/9", Time: t0.Add(-time.Hour), Message: `{"level":"ERROR","n":-1}`})
	got := []string{}
	for _, e := range first.Events {
		got = append(got, aws.ToString(e.Message))
	}
	in.NextToken = first.NextToken
	rest, pages := filterAll(t, cl, in)
	got = append(got, rest...)
	if len(got) != 10 || pages != 2 || got[0] != `{"level":"ERROR","n":0}` || got[9] != `{"level":"ERROR","n":27}` {
		t.Fatalf("ERROR events over pages: %d pages %v", pages+1, got)
	}
	// The next listing sees the late event, oldest first.
	in.NextToken = nil
	if all, _ := filterAll(t, cl, in); len(all) != 11 || all[0] != `{"level":"ERROR","n":-1}` {
		t.Fatalf("new listing %v", all)
	}
	l.SetPageSize(0)

	for name, c := range map[string]struct {
		in   cloudwatchlogs.FilterLogEventsInput
		want string // first;last;count
	}{
		"time range":   {cloudwatchlogs.FilterLogEventsInput{StartTime: aws.Int64(t0.Add(10 * time.Minute).UnixMilli()), EndTime: aws.Int64(t0.Add(12 * time.Minute).UnixMilli())}, `{"level":"INFO","n":10};{"level":"ERROR","n":12};3`},
		"streams":      {cloudwatchlogs.FilterLogEventsInput{LogStreamNames: []string{"api/1", "api/2"}}, `{"level":"INFO","n":1};{"level":"INFO","n":29};20`},
		"prefix":       {cloudwatchlogs.FilterLogEventsInput{LogStreamNamePrefix: aws.String("api/2")}, `{"level":"INFO","n":2};{"level":"INFO","n":29};10`},
		"terms":        {cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`?"\"n\":7}" ?"\"n\":8}"`)}, `{"level":"INFO","n":7};{"level":"INFO","n":8};2`},
		"numbers":      {cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String(`{ $.n >= 28 }`)}, `{"level":"INFO","n":28};{"level":"INFO","n":29};2`},
		"newest first": {cloudwatchlogs.FilterLogEventsInput{StartFromHead: aws.Bool(false), StartTime: aws.Int64(t0.UnixMilli()), Limit: aws.Int32(3)}, `{"level":"INFO","n":29};{"level":"ERROR","n":27};3`},
	} {
		c.in.LogGroupName = aws.String("/app/api")
		if c.in.Limit == nil {
			c.in.Limit = aws.Int32(100)
		}
		out, err := cl.FilterLogEvents(ctx, &c.in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := len(out.Events)
		if n == 0 {
			t.Fatalf("%s: no events", name)
		}
		if got := aws.ToString(out.Events[0].Message) + ";" + aws.ToString(out.Events[n-1].Message) + ";" + fmt.Sprint(n); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
	for _, c := range f.Calls("FilterLogEvents") {
		if !c.Signed || c.Owner != "alice" {
			t.Fatalf("call not signed by alice: %+v", c)
		}
	}
}

func TestFilterLogEventsErrors(t *testing.T) {
	f, cl := logsClient(t)
	l := LogsOf(f)
	seedEvents(t, l)
	l.AddLogGroup(LogGroup{Name: "/secret", Readers: []string{"bob"}})
	ctx := context.Background()
	for name, c := range map[string]struct {
		in   cloudwatchlogs.FilterLogEventsInput
		code string
	}{
		"no group":         {cloudwatchlogs.FilterLogEventsInput{}, "InvalidParameterException"},
		"name and ident":   {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), LogGroupIdentifier: aws.String("/app/api")}, "InvalidParameterException"},
		"arn as name":      {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/app/api")}, "InvalidParameterException"},
		"unknown group":    {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/nope")}, "ResourceNotFoundException"},
		"streams+prefix":   {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("b")}, "InvalidParameterException"},
		"limit 0":          {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), Limit: aws.Int32(0)}, "InvalidParameterException"},
		"limit 10001":      {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), Limit: aws.Int32(10001)}, "InvalidParameterException"},
		"end before":       {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), StartTime: aws.Int64(10), EndTime: aws.Int64(5)}, "InvalidParameterException"},
		"tail before 2024": {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), StartFromHead: aws.Bool(false), StartTime: aws.Int64(1)}, "InvalidParameterException"},
		"bad pattern":      {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), FilterPattern: aws.String(`{ $.level = `)}, "InvalidParameterException"},
		"bad token":        {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), NextToken: aws.String("bogus")}, "InvalidParameterException"},
		"not a reader":     {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/secret")}, "AccessDeniedException"},
		"unmask refused":   {cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), Unmask: true}, "AccessDeniedException"},
	} {
		_, err := cl.FilterLogEvents(ctx, &c.in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		assertCode(t, err, c.code)
	}
	// A token only continues the listing it came from.
	l.SetPageSize(2)
	out, err := cl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), FilterPattern: aws.String("ERROR")})
	if err != nil || out.NextToken == nil {
		t.Fatal(err)
	}
	_, err = cl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), FilterPattern: aws.String("INFO"), NextToken: out.NextToken})
	assertCode(t, err, "InvalidParameterException")
	f.SetFault("FilterLogEvents", Fault{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform: logs:FilterLogEvents"})
	_, err = cl.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api")})
	assertCode(t, err, "AccessDeniedException")
}

func TestFilterLogEventsPageBytes(t *testing.T) {
	f, cl := logsClient(t)
	l := LogsOf(f)
	l.AddLogGroup(LogGroup{Name: "/big"})
	big := strings.Repeat("x", 200_000)
	for range 7 {
		_ = l.AppendEvents("/big", LogEvent{Message: big})
	}
	msgs, pages := filterAll(t, cl, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/big")})
	if len(msgs) != 7 || pages != 2 {
		t.Fatalf("7 × 200 KB came in %d pages (%d events); AWS pages at 1 MB", pages, len(msgs))
	}
}

func TestMaskingAndUnmask(t *testing.T) {
	f := Start()
	defer f.Close()
	l := LogsOf(f)
	l.AddLogGroup(LogGroup{Name: "/orders", MaskPatterns: []string{MaskEmailAddress, MaskCreditCardNumber}})
	msg := "order 7 by jane.doe@example.com paid with 4111 1111 1111 1111"
	_ = l.AppendEvents("/orders", LogEvent{Message: msg})
	l.AllowUnmask("auditor")
	ctx := context.Background()
	client := func(owner string) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials(owner, time.Now().Add(time.Hour)))))
	}
	masked := "order 7 by " + strings.Repeat("*", len("jane.doe@example.com")) + " paid with " + strings.Repeat("*", len("4111 1111 1111 1111"))

	out, err := client("alice").FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/orders")})
	if err != nil || aws.ToString(out.Events[0].Message) != masked {
		t.Fatalf("masked: %v %v", out, err)
	}
	_, err = client("alice").FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/orders"), Unmask: true})
	assertCode(t, err, "AccessDeniedException")
	out, err = client("auditor").FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/orders"), Unmask: true})
	if err != nil || aws.ToString(out.Events[0].Message) != msg {
		t.Fatalf("unmasked: %v %v", out, err)
	}
	groups, _ := client("alice").DescribeLogGroups(ctx, nil)
	if aws.ToString((*string)(&groups.LogGroups[0].DataProtectionStatus)) != "ACTIVATED" {
		t.Fatalf("data protection status %q", groups.LogGroups[0].DataProtectionStatus)
	}
}
