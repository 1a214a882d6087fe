package fakeaws

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestLogsIndexOperationsThroughSDK(t *testing.T) {
	f := Start()
	defer f.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.SetClock(func() time.Time { return now })
	x := LogsIndexOf(f).SetPageSize(2)
	x.AddQueryHistory(
		HistoricQuery{QueryString: "fields a", LogGroupName: "/app/a", Language: "CWLI", CreateTime: now.Add(-3 * time.Hour)},
		HistoricQuery{QueryString: "fields b", LogGroupName: "/app/a", CreateTime: now.Add(-1 * time.Hour)},
		HistoricQuery{QueryString: "fields c", LogGroupName: "/app/b", Language: "SQL", CreateTime: now.Add(-2 * time.Hour)},
		HistoricQuery{QueryString: "fields d", LogGroupName: "/app/a", Status: "Failed"},
		HistoricQuery{QueryString: "fields e", LogGroupName: "/app/a", Region: "eu-west-1"},
	)
	x.SetIndexPolicy(IndexPolicy{LogGroup: "/app/a", Fields: []string{"requestId"}})
	x.AddAccountPolicy(AccountPolicy{Name: "acct", Fields: []string{"tenant"}, Prefixes: []string{"/app/"}})

	cl := cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("alice", now.Add(time.Hour)))))
	ctx := context.Background()
	var got []types.QueryInfo
	p := cloudwatchlogs.DescribeQueriesInput{Status: types.QueryStatusComplete}
	for {
		out, err := cl.DescribeQueries(ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Queries...)
		if out.NextToken == nil {
			break
		}
		p.NextToken = out.NextToken
	}
	if len(got) != 3 || aws.ToString(got[0].QueryString) != "fields b" || aws.ToString(got[2].QueryString) != "fields a" {
		t.Fatalf("history not newest-first or filtered: %+v", got)
	}
	if got[0].QueryLanguage != "" || got[1].QueryLanguage != types.QueryLanguageSql || aws.ToInt64(got[2].CreateTime) != now.Add(-3*time.Hour).UnixMilli() {
		t.Fatalf("members decoded wrong: %+v", got)
	}
	one, err := cl.DescribeQueries(ctx, &cloudwatchlogs.DescribeQueriesInput{LogGroupName: aws.String("/app/b")})
	if err != nil || len(one.Queries) != 1 {
		t.Fatalf("by group: %+v %v", one, err)
	}

	ip, err := cl.DescribeIndexPolicies(ctx, &cloudwatchlogs.DescribeIndexPoliciesInput{LogGroupIdentifiers: []string{"/app/a"}})
	if err != nil || len(ip.IndexPolicies) != 1 || ip.IndexPolicies[0].Source != types.IndexSourceLogGroup {
		t.Fatalf("log group policy: %+v %v", ip, err)
	}
	ip, err = cl.DescribeIndexPolicies(ctx, &cloudwatchlogs.DescribeIndexPoliciesInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:123456789012:log-group:/app/b:*"}})
	if err != nil || len(ip.IndexPolicies) != 1 || ip.IndexPolicies[0].Source != types.IndexSourceAccount {
		t.Fatalf("account policy applies: %+v %v", ip, err)
	}
	var doc struct{ Fields []string }
	if err := json.Unmarshal([]byte(aws.ToString(ip.IndexPolicies[0].PolicyDocument)), &doc); err != nil || doc.Fields[0] != "tenant" {
		t.Fatalf("document %v %v", doc, err)
	}
	ip, err = cl.DescribeIndexPolicies(ctx, &cloudwatchlogs.DescribeIndexPoliciesInput{LogGroupIdentifiers: []string{"/other"}})
	if err != nil || len(ip.IndexPolicies) != 0 {
		t.Fatalf("prefix must scope the account policy: %+v %v", ip, err)
	}

	ap, err := cl.DescribeAccountPolicies(ctx, &cloudwatchlogs.DescribeAccountPoliciesInput{PolicyType: types.PolicyTypeFieldIndexPolicy})
	if err != nil || len(ap.AccountPolicies) != 1 || aws.ToString(ap.AccountPolicies[0].SelectionCriteria) != `LogGroupNamePrefix IN ["/app/"]` {
		t.Fatalf("account policies: %+v %v", ap, err)
	}
	if _, err := cl.DescribeQueries(ctx, &cloudwatchlogs.DescribeQueriesInput{MaxResults: aws.Int32(5000)}); err == nil {
		t.Fatal("maxResults above 1000 must be refused")
	}
}
