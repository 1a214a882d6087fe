package fakeaws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func TestCoreProtocolsAndSigV4(t *testing.T) {
	f := Start()
	defer f.Close()
	f.Handle("logs", "DescribeLogGroups", func(r *Request) (any, error) {
		return map[string]any{"logGroups": []any{map[string]any{"logGroupName": "/app/" + r.Owner, "creationTime": int64(1700000000000)}}}, nil
	})
	f.Handle("monitoring", "DescribeAlarms", func(r *Request) (any, error) {
		n, _ := r.Int("MaxRecords")
		return map[string]any{"MetricAlarms": []any{map[string]any{
			"AlarmName": "high-cpu", "StateValue": "ALARM", "Threshold": 80.0,
			"StateUpdatedTimestamp": time.Unix(1700000000, 0), "EvaluationPeriods": n,
		}}}, nil
	})
	f.Handle("sts", "AssumeRole", func(r *Request) (any, error) {
		c := r.Fake().IssueCredentials("role-for-"+r.Form.Get("RoleSessionName"), r.Now().Add(time.Hour))
		return RawXML(`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>` + c.AccessKeyID +
			`</AccessKeyId><SecretAccessKey>` + c.SecretAccessKey + `</SecretAccessKey><SessionToken>` + c.SessionToken +
			`</SessionToken><Expiration>` + c.Expires.UTC().Format(time.RFC3339) + `</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`), nil
	})

	alice := f.IssueCredentials("alice", time.Now().Add(time.Hour))
	ctx := context.Background()
	cfg := TestConfig(f, StaticCredentials(alice))

	lg, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(lg.LogGroups[0].LogGroupName); got != "/app/alice" {
		t.Fatalf("log group %q", got)
	}
	al, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(7)})
	if err != nil {
		t.Fatal(err)
	}
	a := al.MetricAlarms[0]
	if aws.ToString(a.AlarmName) != "high-cpu" || aws.ToFloat64(a.Threshold) != 80 || aws.ToInt32(a.EvaluationPeriods) != 7 || !a.StateUpdatedTimestamp.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("alarm decoded wrong: %+v", a)
	}
	ar, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if owner, _ := f.Owner(aws.ToString(ar.Credentials.AccessKeyId)); owner != "role-for-bob" {
		t.Fatalf("owner %q", owner)
	}
	for _, c := range f.Calls("") {
		if !c.Signed || c.Owner != "alice" || c.Region != "us-east-1" {
			t.Fatalf("call not attributed to alice: %+v", c)
		}
	}

	// A wrong secret, an unknown key and an expired key are all refused.
	bad := alice
	bad.SecretAccessKey = "wrong"
	_, err = cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(bad))).DescribeLogGroups(ctx, nil)
	assertCode(t, err, "InvalidSignatureException")
	_, err = cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}))).DescribeAlarms(ctx, nil)
	assertCode(t, err, "InvalidClientTokenId")
	old := f.IssueCredentials("old", time.Now().Add(-time.Minute))
	_, err = cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(old))).DescribeLogGroups(ctx, nil)
	assertCode(t, err, "ExpiredTokenException")

	// Faults.
	f.SetFault("DescribeAlarms", Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded", Times: 1})
	_, err = cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, nil)
	assertCode(t, err, "Throttling")
	if _, err = cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, nil); err != nil {
		t.Fatalf("fault should apply once: %v", err)
	}
	f.SetFault("logs.DescribeLogGroups", Fault{Status: 400, Code: "AccessDeniedException", Message: "no"})
	_, err = cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, nil)
	assertCode(t, err, "AccessDeniedException")
	f.ClearFaults()

	// Unimplemented operations say so.
	_, err = cloudwatch.NewFromConfig(cfg).ListDashboards(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Fatalf("want not implemented, got %v", err)
	}
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}
