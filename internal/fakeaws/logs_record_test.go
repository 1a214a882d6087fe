package fakeaws

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestGetLogRecordFromInsightsPtr runs an Insights query whose rows come
// from stored events, then recovers the whole event behind a row's @ptr.
func TestGetLogRecordFromInsightsPtr(t *testing.T) {
	f := Start()
	defer f.Close()
	l := LogsOf(f).SetQueryPlan(QueryPlan{})
	l.AddLogGroup(LogGroup{Name: "/orders", MaskPatterns: []string{MaskEmailAddress}})
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	long := `{"level":"ERROR","user":{"email":"jane@example.com"},"items":[{"sku":"A1"}],"detail":"` + strings.Repeat("y", 300) + `"}`
	_ = l.AppendEvents("/orders",
		LogEvent{Stream: "orders/1", Time: t0, Message: "INFO started"},
		LogEvent{Stream: "orders/1", Time: t0.Add(time.Minute), Message: long},
		LogEvent{Stream: "orders/2", Time: t0.Add(2 * time.Minute), Message: "ERROR short one"},
	)
	l.SetQueryResults("", QueryResult{FromEvents: true, MessageLimit: 100})
	l.AllowUnmask("auditor")
	ctx := context.Background()
	client := func(owner string) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials(owner, time.Now().Add(time.Hour)))))
	}
	alice := client("alice")

	q, err := alice.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{QueryString: aws.String("fields @timestamp, @message | filter @message like /ERROR/ | limit 5"),
		StartTime: aws.Int64(t0.Unix()), EndTime: aws.Int64(t0.Add(time.Hour).Unix()), LogGroupNames: []string{"/orders"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := alice.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil || len(res.Results) != 2 {
		t.Fatalf("rows %+v %v", res, err)
	}
	row := map[string]string{}
	for _, fl := range res.Results[1] { // newest first: the long event is second
		row[aws.ToString(fl.Field)] = aws.ToString(fl.Value)
	}
	if len(row["@message"]) != 100 || strings.Contains(row["@message"], "jane@") || row["@log"] != "123456789012:/orders" || row["@logStream"] != "orders/1" || row["@timestamp"] != "2025-06-01 12:01:00.000" {
		t.Fatalf("row %v", row)
	}

	rec, err := alice.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(row["@ptr"])})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.LogRecord
	if len(r["@message"]) != len(long) || strings.Contains(r["@message"], "jane@") || r["user.email"] != "****************" || r["items.0.sku"] != "A1" ||
		r["level"] != "ERROR" || r["@timestamp"] != "1748779260000" || r["@logStream"] != "orders/1" || r["@log"] != "123456789012:/orders" || r["@ingestionTime"] == "" {
		t.Fatalf("record %v", r)
	}
	_, err = alice.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(row["@ptr"]), Unmask: true})
	assertCode(t, err, "AccessDeniedException")
	rec, err = client("auditor").GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(row["@ptr"]), Unmask: true})
	if err != nil || rec.LogRecord["@message"] != long || rec.LogRecord["user.email"] != "jane@example.com" {
		t.Fatalf("unmasked %v %v", rec, err)
	}
	if c := f.Calls("GetLogRecord"); len(c) != 3 || c[0].Owner != "alice" || c[2].Owner != "auditor" || !c[2].Signed {
		t.Fatalf("calls %+v", c)
	}

	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("something else")),
		recordPointer("arn:aws:logs:us-east-1:123456789012:log-group:/nope", 1)} {
		_, err = alice.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(bad)})
		assertCode(t, err, "InvalidParameterException")
	}
	_, err = alice.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(recordPointer(l.Events("/orders")[0].Group, 999))})
	assertCode(t, err, "ResourceNotFoundException")
	l.AddLogGroup(LogGroup{Name: "/private", Readers: []string{"bob"}})
	_ = l.AppendEvents("/private", LogEvent{Message: "bob's"})
	_, err = alice.GetLogRecord(ctx, &cloudwatchlogs.GetLogRecordInput{LogRecordPointer: aws.String(l.Events("/private")[0].Pointer)})
	assertCode(t, err, "AccessDeniedException")
}
