package fakeaws

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// TestPagedCallsSurviveSDKConnectionRace pages through large CBOR answers
// many times. Before TestConfig retried connection errors this failed every
// few runs with "use of closed network connection" (aws/aws-sdk-go-v2#2737).
func TestPagedCallsSurviveSDKConnectionRace(t *testing.T) {
	for round := 0; round < 15; round++ {
		f := Start()
		a := AlarmsOf(f)
		_ = a.AddMetricAlarm(MetricAlarm{Name: "noisy", Namespace: "AWS/EC2", MetricName: "CPUUtilization", Threshold: 80, State: "OK", StateUpdated: time.Now().Add(-48 * time.Hour)})
		_ = a.Flap("noisy", time.Now().Add(-20*time.Hour), 5*time.Minute, 120)
		c := f.IssueCredentials("alice", time.Now().Add(time.Hour))
		cl := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(c)))
		for i := 0; i < 4; i++ {
			var tok *string
			for p := 0; p < 3; p++ {
				out, err := cl.DescribeAlarmHistory(context.Background(), &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("noisy"), MaxRecords: aws.Int32(100), NextToken: tok})
				if err != nil {
					t.Fatalf("round %d call %d page %d: %v", round, i, p, err)
				}
				tok = out.NextToken
				if tok == nil {
					break
				}
			}
		}
		f.Close()
	}
}
