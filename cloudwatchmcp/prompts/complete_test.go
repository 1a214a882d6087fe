package prompts

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// completionEnv is a fake AWS where alice and bob own different log
// groups, alarms and metric namespaces, and an MCP server serving the
// prompts with the Completer, on a clock the test moves.
type completionEnv struct {
	*mcptest.Env
	bob aws.Credentials
	srv *server.MCPServer
	c   *Completer

	mu  sync.Mutex
	now time.Time
}

func newCompletionEnv(t *testing.T) *completionEnv {
	t.Helper()
	te := mcptest.NewEnv(t)
	ce := &completionEnv{Env: te, bob: te.Fake.IssueCredentials("bob", time.Now().Add(time.Hour)), now: promptNow}
	te.Now = func() time.Time {
		ce.mu.Lock()
		defer ce.mu.Unlock()
		return ce.now
	}
	fakeaws.LogsOf(te.Fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/ecs/checkout-web", Owners: []string{"alice"}},
		fakeaws.LogGroup{Name: "/ecs/checkout-worker", Owners: []string{"alice"}},
		fakeaws.LogGroup{Name: "/aws/lambda/ledger", Owners: []string{"alice"}},
		fakeaws.LogGroup{Name: "/ecs/billing-api", Owners: []string{"bob"}},
		fakeaws.LogGroup{Name: "/aws/lambda/payroll", Owners: []string{"bob"}},
	)
	al := fakeaws.AlarmsOf(te.Fake)
	for _, a := range []fakeaws.MetricAlarm{
		{Name: "checkout-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Owners: []string{"alice"}},
		{Name: "checkout-latency", Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Owners: []string{"alice"}},
		{Name: "billing-errors", Namespace: "AWS/Lambda", MetricName: "Errors", Owners: []string{"bob"}},
	} {
		if err := al.AddMetricAlarm(a); err != nil {
			t.Fatal(err)
		}
	}
	m := fakeaws.MetricsOf(te.Fake)
	pt := []fakeaws.MetricPoint{{T: promptNow.Add(-time.Minute), V: 1}}
	m.PutSeries("AWS/ApplicationELB", "RequestCount", map[string]string{"LoadBalancer": "app/checkout/1"}, pt)
	m.PutSeries("Checkout/Web", "Orders", nil, pt)
	m.PutSeries("AWS/Lambda", "Errors", map[string]string{"FunctionName": "payroll"}, pt)
	m.SetNamespaceOwners("AWS/ApplicationELB", "alice")
	m.SetNamespaceOwners("Checkout/Web", "alice")
	m.SetNamespaceOwners("AWS/Lambda", "bob")

	ce.c = NewCompleter(te.Env)
	ce.srv = server.NewMCPServer("test", "1", server.WithCompletions(), server.WithPromptCompletionProvider(ce.c))
	ce.srv.AddPrompts(Serve(te.Env, All())...)
	return ce
}

func (ce *completionEnv) advance(d time.Duration) {
	ce.mu.Lock()
	ce.now = ce.now.Add(d)
	ce.mu.Unlock()
}

type completeAnswer struct {
	Values  []string
	Total   int
	HasMore bool
	Error   string
}

// complete sends completion/complete as the user whose credentials are creds.
func (ce *completionEnv) complete(t *testing.T, creds aws.Credentials, prompt, arg, value string) completeAnswer {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "completion/complete", "params": map[string]any{
		"ref": map[string]any{"type": "ref/prompt", "name": prompt}, "argument": map[string]any{"name": arg, "value": value}}})
	b, _ := json.Marshal(ce.srv.HandleMessage(mcptest.UserCtx(creds), msg))
	var out struct {
		Result *struct {
			Completion struct {
				Values  []string `json:"values"`
				Total   int      `json:"total"`
				HasMore bool     `json:"hasMore"`
			} `json:"completion"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Error != nil {
		return completeAnswer{Error: out.Error.Message}
	}
	if out.Result == nil || out.Result.Completion.Values == nil {
		t.Fatalf("no completion values in %s", b)
	}
	c := out.Result.Completion
	return completeAnswer{Values: c.Values, Total: c.Total, HasMore: c.HasMore}
}

// calls returns the calls of op and who signed them.
func (ce *completionEnv) calls(op string) []string {
	var owners []string
	for _, c := range ce.Fake.Calls(op) {
		owners = append(owners, c.Owner)
	}
	return owners
}

func wantValues(t *testing.T, what string, got completeAnswer, want ...string) {
	t.Helper()
	if got.Error != "" {
		t.Fatalf("%s: error %s", what, got.Error)
	}
	if !slices.Equal(got.Values, want) {
		t.Fatalf("%s: values %q, want %q", what, got.Values, want)
	}
}

// Each caller completes to their own log groups, alarms and namespaces,
// fetched with their own credentials.
func TestCompletionsAreTheCallersOwn(t *testing.T) {
	ce := newCompletionEnv(t)
	wantValues(t, "alice log groups", ce.complete(t, ce.Alice, "log_error_spike", "log_group", "/ecs/"), "/ecs/checkout-web", "/ecs/checkout-worker")
	wantValues(t, "bob log groups", ce.complete(t, ce.bob, "log_error_spike", "log_group", "/ecs/"), "/ecs/billing-api")
	if got := ce.calls("DescribeLogGroups"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("DescribeLogGroups signed by %v", got)
	}
	wantValues(t, "alice alarms", ce.complete(t, ce.Alice, "investigate_alarm", "alarm_name", ""), "checkout-5xx", "checkout-latency")
	wantValues(t, "bob alarms", ce.complete(t, ce.bob, "investigate_alarm", "alarm_name", "b"), "billing-errors")
	if got := ce.calls("DescribeAlarms"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("DescribeAlarms signed by %v", got)
	}
	wantValues(t, "alice namespaces", ce.complete(t, ce.Alice, "deploy_watch", "metric_namespace", ""), "AWS/ApplicationELB", "Checkout/Web")
	wantValues(t, "alice namespaces AWS/", ce.complete(t, ce.Alice, "deploy_watch", "metric_namespace", "AWS/"), "AWS/ApplicationELB")
	wantValues(t, "bob namespaces", ce.complete(t, ce.bob, "deploy_watch", "metric_namespace", ""), "AWS/Lambda")
	if got := ce.calls("ListMetrics"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("ListMetrics signed by %v", got)
	}
	// A list completes its last element and keeps the ones before.
	wantValues(t, "list", ce.complete(t, ce.Alice, "deploy_watch", "log_groups", "/aws/lambda/ledger, /ecs/checkout-w"),
		"/aws/lambda/ledger, /ecs/checkout-web", "/aws/lambda/ledger, /ecs/checkout-worker")
	// Fixed suggestions cost nothing.
	n := len(ce.Fake.Calls(""))
	wantValues(t, "time range", ce.complete(t, ce.Alice, "log_error_spike", "time_range", "1"), "15m", "1h")
	wantValues(t, "unknown prompt", ce.complete(t, ce.Alice, "test_prompt_with_arguments", "arg1", "test"))
	wantValues(t, "unknown argument", ce.complete(t, ce.Alice, "investigate_alarm", "nope", ""))
	wantValues(t, "prefix AWS refuses", ce.complete(t, ce.Alice, "log_error_spike", "log_group", "/ecs/*"))
	if got := len(ce.Fake.Calls("")); got != n {
		t.Fatalf("%d AWS requests for completions that need none", got-n)
	}
}

// Answers are cached per identity for a minute: the same or a longer
// prefix costs no AWS request; bob never gets alice's answer; after a
// minute on the clock AWS is asked again.
func TestCompletionsAreCachedPerIdentity(t *testing.T) {
	ce := newCompletionEnv(t)
	wantValues(t, "first", ce.complete(t, ce.Alice, "slow_requests", "log_group", "/ecs/"), "/ecs/checkout-web", "/ecs/checkout-worker")
	wantValues(t, "again", ce.complete(t, ce.Alice, "slow_requests", "log_group", "/ecs/"), "/ecs/checkout-web", "/ecs/checkout-worker")
	wantValues(t, "typing on", ce.complete(t, ce.Alice, "log_error_spike", "log_group", "/ecs/checkout-wo"), "/ecs/checkout-worker")
	if got := ce.calls("DescribeLogGroups"); len(got) != 1 {
		t.Fatalf("%d DescribeLogGroups calls, want 1 (the rest from the cache)", len(got))
	}
	wantValues(t, "bob", ce.complete(t, ce.bob, "slow_requests", "log_group", "/ecs/"), "/ecs/billing-api")
	ce.advance(59 * time.Second)
	ce.complete(t, ce.Alice, "slow_requests", "log_group", "/ecs/")
	if got := ce.calls("DescribeLogGroups"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("before the minute is over: calls by %v", got)
	}
	fakeaws.LogsOf(ce.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/ecs/checkout-new", Owners: []string{"alice"}})
	ce.advance(time.Second)
	wantValues(t, "after a minute", ce.complete(t, ce.Alice, "slow_requests", "log_group", "/ecs/"),
		"/ecs/checkout-new", "/ecs/checkout-web", "/ecs/checkout-worker")
	if got := ce.calls("DescribeLogGroups"); !slices.Equal(got, []string{"alice", "bob", "alice"}) {
		t.Fatalf("after a minute: calls by %v", got)
	}
	// Namespaces are listed once per identity and filtered locally.
	ce.complete(t, ce.Alice, "deploy_watch", "metric_namespace", "")
	ce.complete(t, ce.Alice, "deploy_watch", "metric_namespace", "Che")
	if got := ce.calls("ListMetrics"); len(got) != 1 {
		t.Fatalf("%d ListMetrics calls", len(got))
	}
}

// An incomplete answer for a shorter prefix (AWS had more pages) is not
// used for a longer one: the groups it lacks could match.
func TestIncompleteAnswersAreNotNarrowed(t *testing.T) {
	ce := newCompletionEnv(t)
	var groups []fakeaws.LogGroup
	for i := range 60 {
		groups = append(groups, fakeaws.LogGroup{Name: "/many/" + strings.Repeat("x", 1+i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	fakeaws.LogsOf(ce.Fake).AddLogGroup(groups...)
	got := ce.complete(t, ce.Alice, "log_error_spike", "log_group", "/many/")
	if len(got.Values) != 50 || !got.HasMore {
		t.Fatalf("first page: %d values, hasMore %v", len(got.Values), got.HasMore)
	}
	ce.complete(t, ce.Alice, "log_error_spike", "log_group", "/many/xxx")
	if n := len(ce.calls("DescribeLogGroups")); n != 2 {
		t.Fatalf("%d DescribeLogGroups calls, want 2", n)
	}
}

// A prompt the caller may not see completes to nothing, without asking AWS.
func TestHiddenPromptsCompleteToNothing(t *testing.T) {
	ce := newCompletionEnv(t)
	ce.c.Visible = func(_ context.Context, name string) bool { return name != "investigate_alarm" }
	wantValues(t, "hidden", ce.complete(t, ce.Alice, "investigate_alarm", "alarm_name", ""))
	if n := len(ce.Fake.Calls("")); n != 0 {
		t.Fatalf("%d AWS requests for a hidden prompt", n)
	}
}

// AWS refusing the caller is an error naming the permission problem; no
// credentials at all is the tools' message.
func TestCompletionErrors(t *testing.T) {
	ce := newCompletionEnv(t)
	ce.Fake.SetFault("DescribeAlarms", fakeaws.Fault{Status: 400, Code: "AccessDenied", Message: "User: alice is not authorized to perform: cloudwatch:DescribeAlarms", Times: 1})
	got := ce.complete(t, ce.Alice, "investigate_alarm", "alarm_name", "c")
	if !strings.Contains(got.Error, "completing alarm names: AWS error AccessDenied") || !strings.Contains(got.Error, "lacks this permission") {
		t.Fatalf("error %q", got.Error)
	}
	// The failure is not cached.
	wantValues(t, "retry", ce.complete(t, ce.Alice, "investigate_alarm", "alarm_name", "c"), "checkout-5xx", "checkout-latency")
	got = ce.complete(t, aws.Credentials{}, "investigate_alarm", "alarm_name", "c")
	if !strings.Contains(got.Error, "no AWS credentials for this request") {
		t.Fatalf("no credentials: %q", got.Error)
	}
}

func TestCompletionCacheIsBounded(t *testing.T) {
	now := promptNow
	c := newCompletionCache(time.Minute, 2, func() time.Time { return now })
	c.put("a", []string{"1"}, true)
	c.put("b", []string{"2"}, true)
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.put("c", []string{"3"}, true)
	if _, ok := c.get("b"); ok || c.len() != 2 {
		t.Fatalf("b should have been evicted; %d entries", c.len())
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("a"); ok {
		t.Fatal("a minute-old entry served")
	}
}
