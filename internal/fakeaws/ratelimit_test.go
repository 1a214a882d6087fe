package fakeaws

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func TestRateLimitThrottlesAboveTheRate(t *testing.T) {
	f := Start()
	t.Cleanup(f.Close)
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	f.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	alice := f.IssueCredentials("alice", time.Time{})
	cl := cloudwatchlogs.NewFromConfig(TestConfig(f, StaticCredentials(alice)))
	f.SetRateLimit("GetQueryResults", RateLimit{PerSecond: 2, Burst: 3})
	poll := func() error {
		_, err := cl.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("nope")})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ThrottlingException" {
			return err
		}
		return nil // ResourceNotFound: the call got through
	}
	for i := range 3 {
		if err := poll(); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	if err := poll(); err == nil {
		t.Fatal("4th call at once was not throttled")
	}
	mu.Lock()
	now = now.Add(500 * time.Millisecond) // one token
	mu.Unlock()
	if err := poll(); err != nil {
		t.Fatalf("after a refill: %v", err)
	}
	if err := poll(); err == nil {
		t.Fatal("second call after one refill was not throttled")
	}
	if got := f.Throttled("GetQueryResults"); got != 2 {
		t.Fatalf("Throttled = %d, want 2", got)
	}
	if got := f.CallCount("GetQueryResults"); got != 6 {
		t.Fatalf("%d calls recorded, want 6 (throttled ones count)", got)
	}
	f.SetRateLimit("GetQueryResults", RateLimit{})
	if err := poll(); err != nil {
		t.Fatalf("limit removed: %v", err)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	fx := newVendingFixture(t)
	ctx := context.Background()
	alice := fx.f.IssueCredentials("alice", time.Time{})
	bob := fx.f.IssueCredentials("bob", time.Time{})
	fx.f.SetAccount("bob", "210987654321")
	for _, c := range []struct {
		creds aws.Credentials
		want  string
	}{{alice, DefaultAccountID}, {bob, "210987654321"}} {
		out, err := sts.NewFromConfig(fx.cfg(StaticCredentials(c.creds))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(out.Account) != c.want {
			t.Fatalf("%s: %+v %v", c.creds.AccessKeyID, out, err)
		}
	}
	// A session vended for a role belongs to the role's account.
	role := "arn:aws:iam::555566667777:role/readers"
	fx.f.AddRole(Role{ARN: role, AssumeRoleBy: []string{"server"}})
	ar, err := sts.NewFromConfig(fx.cfg(StaticCredentials(fx.server))).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	vended := aws.Credentials{AccessKeyID: *ar.Credentials.AccessKeyId, SecretAccessKey: *ar.Credentials.SecretAccessKey, SessionToken: *ar.Credentials.SessionToken}
	out, err := sts.NewFromConfig(fx.cfg(StaticCredentials(vended))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(out.Account) != "555566667777" || aws.ToString(out.Arn) != "arn:aws:sts::555566667777:assumed-role/readers/carol" {
		t.Fatalf("vended: %+v %v", out, err)
	}
}
