package toolkit_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestCallerCredentialsModes(t *testing.T) {
	te := mcptest.NewEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	if _, _, err := te.CallerCredentials(mcptest.UserCtx(aws.Credentials{}), ""); err == nil || err.Error() != toolkit.NoCredentialsMessage {
		t.Fatalf("request mode without vended credentials: %v", err)
	}
	_, key, err := te.CallerCredentials(ctx, "")
	if err != nil || key != "key:"+te.Alice.AccessKeyID {
		t.Fatalf("key %q err %v", key, err)
	}
	if _, _, err := te.CallerCredentials(ctx, "prod-admin"); err == nil {
		t.Fatal("profile_name must be refused outside credentials default")
	}
}

func TestClientCachePerIdentityAndBounded(t *testing.T) {
	te := mcptest.NewEnv(t)
	te.Clients.SetMax(2)
	bob := te.Fake.IssueCredentials("bob", time.Now().Add(time.Hour))
	a1, err := te.LogsClient(mcptest.UserCtx(te.Alice), "", "")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := te.LogsClient(mcptest.UserCtx(te.Alice), "us-east-1", "")
	b1, _ := te.LogsClient(mcptest.UserCtx(bob), "", "")
	if a1 != a2 || a1 == b1 {
		t.Fatal("clients must be shared per identity and never across identities")
	}
	_, _ = te.LogsClient(mcptest.UserCtx(bob), "eu-west-1", "")
	if n := te.Clients.Len(); n != 2 {
		t.Fatalf("cache holds %d clients, bound is 2", n)
	}
	if _, err := te.LogsClient(mcptest.UserCtx(te.Alice), "not a region", ""); err == nil {
		t.Fatal("a malformed region must be a tool error")
	}
}

func TestParseTimeNoZoneIsUTC(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2025-01-02T03:04:05Z":      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		"2025-01-02T03:04:05":       time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		"2025-01-02T05:04:05+02:00": time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		"2025-01-02":                time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		got, err := toolkit.ParseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v", in, got, err)
		}
	}
	if _, err := toolkit.ParseTime("yesterday"); err == nil {
		t.Error("garbage time accepted")
	}
}

func TestStrListAcceptsJSONEncodedString(t *testing.T) {
	a := toolkit.Args{"x": `["a","b"]`, "y": []any{"c"}, "z": "solo"}
	for name, want := range map[string]int{"x": 2, "y": 1, "z": 1} {
		l, err := a.StrList(name)
		if err != nil || len(l) != want {
			t.Errorf("%s: %v %v", name, l, err)
		}
	}
}
