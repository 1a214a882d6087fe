package cloudwatchmcp

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/prompts"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// promptsHandler serves the CloudWatch groups with two rules: the alarms
// group needs membership in oncall (hiding investigate_alarm and
// deploy_watch, which call alarm tools), and recommend_indexes_loggroup
// needs the scope logs:admin (hiding slow_requests).
func promptsHandler() *Handler {
	return &Handler{
		Tools: []string{"logs", "metrics", "alarms"},
		Authorize: []AuthorizeRule{
			{Tools: []string{"alarms"}, Groups: []string{"oncall"}},
			{Tools: []string{"recommend_indexes_loggroup"}, Scopes: []string{"logs:admin"}},
		},
	}
}

// sdkSession connects the official Go SDK client as user with the given
// scope and groups.
func sdkSession(t *testing.T, ts *testServer, user, scope, groups string) *sdk.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: userTransport{user: user, base: grants(scope, groups)}}
	c := sdk.NewClient(&sdk.Implementation{Name: "prompts-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ts.endpoint(), HTTPClient: hc, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func promptNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListPrompts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Prompts {
		if p.Description == "" {
			t.Errorf("%s has no description", p.Name)
		}
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

func completeArg(t *testing.T, cs *sdk.ClientSession, prompt, arg, value string) []string {
	t.Helper()
	res, err := cs.Complete(context.Background(), &sdk.CompleteParams{
		Ref:      &sdk.CompleteReference{Type: "ref/prompt", Name: prompt},
		Argument: sdk.CompleteParamsArgument{Name: arg, Value: value},
	})
	if err != nil {
		t.Fatalf("complete %s.%s: %v", prompt, arg, err)
	}
	return res.Completion.Values
}

// prompts/list, prompts/get and completion/complete through the Go SDK
// client: each caller sees the prompts whose tools they may call, gets
// only those, and completes to their own AWS resources.
func TestPromptsThroughTheGoSDK(t *testing.T) {
	ts, logs := auditedServer(t, promptsHandler())
	fakeaws.LogsOf(ts.fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/ecs/checkout-web", Owners: []string{"alice"}},
		fakeaws.LogGroup{Name: "/ecs/billing-api", Owners: []string{"bob"}},
	)
	for _, a := range []fakeaws.MetricAlarm{
		{Name: "checkout-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Owners: []string{"alice"}},
		{Name: "billing-errors", Namespace: "AWS/Lambda", MetricName: "Errors", Owners: []string{"bob"}},
	} {
		if err := fakeaws.AlarmsOf(ts.fake).AddMetricAlarm(a); err != nil {
			t.Fatal(err)
		}
	}

	plain := sdkSession(t, ts, "alice", "", "")
	caps := plain.InitializeResult().Capabilities
	if caps.Prompts == nil || caps.Completions == nil {
		t.Fatalf("capabilities lack prompts or completions: %+v", caps)
	}
	if got := promptNames(t, plain); !slices.Equal(got, []string{"log_error_spike"}) {
		t.Fatalf("alice without grants sees %v", got)
	}
	oncall := sdkSession(t, ts, "alice", "logs:admin", "oncall")
	if got := promptNames(t, oncall); !slices.Equal(got, []string{"deploy_watch", "investigate_alarm", "log_error_spike", "slow_requests"}) {
		t.Fatalf("alice on call sees %v", got)
	}
	bob := sdkSession(t, ts, "bob", "", "oncall")
	if got := promptNames(t, bob); !slices.Equal(got, []string{"deploy_watch", "investigate_alarm", "log_error_spike"}) {
		t.Fatalf("bob on call sees %v", got)
	}

	// prompts/get: a hidden prompt is not found; a visible one is the plan.
	args := map[string]string{"alarm_name": "checkout-5xx"}
	if _, err := plain.GetPrompt(context.Background(), &sdk.GetPromptParams{Name: "investigate_alarm", Arguments: args}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("a hidden prompt was served: %v", err)
	}
	res, err := oncall.GetPrompt(context.Background(), &sdk.GetPromptParams{Name: "investigate_alarm", Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	tc, ok := res.Messages[0].Content.(*sdk.TextContent)
	if !ok || !strings.Contains(tc.Text, `"checkout-5xx"`) || !strings.Contains(tc.Text, "get_alarm_history") {
		t.Fatalf("plan: %+v", res.Messages[0].Content)
	}
	if _, err := oncall.GetPrompt(context.Background(), &sdk.GetPromptParams{Name: "investigate_alarm"}); err == nil || !strings.Contains(err.Error(), "needs the argument alarm_name") {
		t.Fatalf("missing argument: %v", err)
	}

	// Completions: hidden prompts complete to nothing and ask AWS nothing;
	// visible ones complete to the caller's own resources, once a minute.
	if got := completeArg(t, plain, "investigate_alarm", "alarm_name", ""); len(got) != 0 {
		t.Fatalf("hidden prompt completed to %v", got)
	}
	if n := ts.fake.CallCount("DescribeAlarms"); n != 0 {
		t.Fatalf("%d DescribeAlarms calls for a hidden prompt", n)
	}
	if got := completeArg(t, oncall, "investigate_alarm", "alarm_name", ""); !slices.Equal(got, []string{"checkout-5xx"}) {
		t.Fatalf("alice's alarms: %v", got)
	}
	if got := completeArg(t, oncall, "investigate_alarm", "alarm_name", "check"); !slices.Equal(got, []string{"checkout-5xx"}) {
		t.Fatalf("alice's alarms again: %v", got)
	}
	if got := completeArg(t, bob, "investigate_alarm", "alarm_name", ""); !slices.Equal(got, []string{"billing-errors"}) {
		t.Fatalf("bob's alarms: %v", got)
	}
	if got := completeArg(t, bob, "log_error_spike", "log_group", "/ecs/"); !slices.Equal(got, []string{"/ecs/billing-api"}) {
		t.Fatalf("bob's log groups: %v", got)
	}
	var owners []string
	for _, c := range ts.fake.Calls("DescribeAlarms") {
		owners = append(owners, c.Owner)
	}
	if !slices.Equal(owners, []string{"alice", "bob"}) {
		t.Fatalf("DescribeAlarms signed by %v", owners)
	}

	// One audit entry per completion, with what it cost.
	entries, _ := auditJSON(t, logs)
	var costs []float64
	for _, e := range entries {
		if e["msg"] != "completion" {
			continue
		}
		if e["sub"] == "" || e["issuer"] == "" || e["prompt"] == "" || e["argument"] == "" || e["outcome"] != "ok" {
			t.Fatalf("entry %v", e)
		}
		costs = append(costs, e["aws_requests"].(float64))
	}
	if !slices.Equal(costs, []float64{0, 1, 0, 1, 1}) {
		t.Fatalf("aws_requests per completion %v, want [0 1 0 1 1]", costs)
	}
}

// A prompt whose tool groups the handler does not serve is not offered.
func TestPromptsFollowServedGroups(t *testing.T) {
	ts := newTestServer(t, &Handler{Tools: []string{"logs"}})
	got := promptNames(t, sdkSession(t, ts, "alice", "", ""))
	if !slices.Equal(got, []string{"log_error_spike", "slow_requests"}) {
		t.Fatalf("logs only: %v", got)
	}
}

// Every tool a prompt names exists in its group.
func TestPromptToolsAreRegistered(t *testing.T) {
	for _, p := range prompts.All() {
		for _, ref := range p.Tools {
			rt, ok := toolkit.Lookup(ref.Name)
			switch {
			case !ok:
				t.Errorf("%s names the unknown tool %s", p.Name, ref.Name)
			case ok && rt.Group != ref.Group:
				t.Errorf("%s puts %s in group %s; it is in %s", p.Name, ref.Name, ref.Group, rt.Group)
			}
		}
	}
}
