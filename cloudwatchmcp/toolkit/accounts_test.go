package toolkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"

	// The tools these tests call through: accounts apply to every group.
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/alarms"
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/logs"
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/metrics"
)

const (
	prodRole = "arn:aws:iam::111111111111:role/cloudwatch-readonly"
	devRole  = "arn:aws:iam::222222222222:role/cloudwatch-readonly"
)

// accountsEnv is an mcptest.Env with two configured accounts: alice may enter
// prod (the role's trust policy lists her), bob may not; nobody may enter
// dev.
type accountsEnv struct {
	*mcptest.Env
	bob   aws.Credentials
	clock *accountClock
}

type wireResultCaller func(t testing.TB, ctx context.Context, name string, args map[string]any) mcptest.WireResult

type accountClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *accountClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *accountClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newAccountsEnv(t *testing.T) (*accountsEnv, wireResultCaller) {
	t.Helper()
	te := mcptest.NewEnv(t)
	clock := &accountClock{t: time.Now()}
	te.Accounts = toolkit.NewAccounts([]toolkit.Account{
		{Name: "prod", RoleARN: prodRole, Region: "eu-west-1"},
		{Name: "dev", RoleARN: devRole},
	}, te.Clients, te.DefaultRegion, context.Background(), clock.now)
	te.Fake.SetClock(clock.now)
	te.Fake.AddRole(fakeaws.Role{ARN: prodRole, AssumeRoleBy: []string{"alice"}})
	te.Fake.AddRole(fakeaws.Role{ARN: devRole})
	s := mcptest.ServedTools(t, te, toolkit.DefaultMaxResultBytes)
	call := func(t testing.TB, ctx context.Context, name string, args map[string]any) mcptest.WireResult {
		t.Helper()
		return mcptest.CallServed(t, s, ctx, name, args)
	}
	return &accountsEnv{Env: te, bob: te.Fake.IssueCredentials("bob", time.Now().Add(time.Hour)), clock: clock}, call
}

// wantReadableError asserts an isError result naming want and showing no
// SDK internals.
func wantReadableError(t *testing.T, res mcptest.WireResult, want ...string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a tool error, got %.300s", res.Text())
	}
	msg := res.Text()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("error %q does not contain %q", msg, w)
		}
	}
	for _, leak := range []string{"operation error", "StatusCode", "status code", "403", "arn:", "api error", "https://", "RequestID"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error %q leaks SDK internals (%q)", msg, leak)
		}
	}
}

func TestAccountRoleChainingPerUser(t *testing.T) {
	ae, call := newAccountsEnv(t)
	fakeaws.LogsOf(ae.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/prod/app", Region: "eu-west-1"})
	alice := mcptest.IdentityCtx(ae.Alice, "alice")

	// Alice enters prod: the AssumeRole is signed with her own vended key,
	// and the tool's call with the chained key of the prod role, in the
	// account's region.
	res := call(t, alice, "describe_log_groups", map[string]any{"account": "prod"})
	if res.IsError || !strings.Contains(res.Text(), "/prod/app") {
		t.Fatalf("alice in prod: %.300s", res.Text())
	}
	ar := ae.Fake.Calls("AssumeRole")
	if len(ar) != 1 || ar[0].AccessKeyID != ae.Alice.AccessKeyID || ar[0].Owner != "alice" || !ar[0].Signed {
		t.Fatalf("AssumeRole must be signed with alice's vended key: %+v", ar)
	}
	dl := ae.Fake.Calls("DescribeLogGroups")
	if len(dl) == 0 {
		t.Fatal("no DescribeLogGroups call")
	}
	sess, ok := ae.Fake.Session(dl[0].AccessKeyID)
	if !ok || sess.RoleARN != prodRole || sess.Op != "AssumeRole" || dl[0].AccessKeyID == ae.Alice.AccessKeyID || dl[0].Region != "eu-west-1" {
		t.Fatalf("DescribeLogGroups signed by %s (session %+v) in %s: want the prod role's chained key in eu-west-1", dl[0].AccessKeyID, sess, dl[0].Region)
	}
	if name := awsname.Session(mcptest.Issuer, "alice"); sess.RoleSessionName != name || sess.SourceIdentity != name || dl[0].Owner != name {
		t.Fatalf("the chained session must name alice: %+v", sess)
	}

	// Cached: the next call chains no more, even with an explicit region.
	res = call(t, alice, "describe_log_groups", map[string]any{"account": "prod", "region": "us-east-1"})
	if res.IsError || ae.Fake.CallCount("AssumeRole") != 1 {
		t.Fatalf("second call: error=%v, %d AssumeRole calls", res.IsError, ae.Fake.CallCount("AssumeRole"))
	}
	if last := ae.Fake.Calls("DescribeLogGroups"); last[len(last)-1].Region != "us-east-1" {
		t.Fatal("an explicit region must win over the account's")
	}

	// Without account, alice's own key is used.
	ae.Fake.ResetCalls()
	if res = call(t, alice, "describe_log_groups", nil); res.IsError {
		t.Fatal(res.Text())
	}
	if c := ae.Fake.Calls("DescribeLogGroups"); c[0].AccessKeyID != ae.Alice.AccessKeyID {
		t.Fatal("a call without account must use the caller's own credentials")
	}

	// Bob may not enter prod: IAM (the fake's trust policy) refuses his
	// own key, and he learns it in words, not SDK internals.
	ae.Fake.ResetCalls()
	res = call(t, mcptest.IdentityCtx(ae.bob, "bob"), "describe_log_groups", map[string]any{"account": "prod"})
	wantReadableError(t, res, `account "prod"`, "not allowed")
	if ar := ae.Fake.Calls("AssumeRole"); len(ar) != 1 || ar[0].Owner != "bob" {
		t.Fatalf("bob's AssumeRole must be signed with his own key: %+v", ar)
	}
	if ae.Fake.CallCount("DescribeLogGroups") != 0 {
		t.Fatal("no CloudWatch call may follow a refused chain")
	}
	// Nobody may enter dev.
	wantReadableError(t, call(t, alice, "get_active_alarms", map[string]any{"account": "dev"}), `account "dev"`)
}

func TestAccountUnknownAndInvalid(t *testing.T) {
	ae, call := newAccountsEnv(t)
	alice := mcptest.IdentityCtx(ae.Alice, "alice")
	res := call(t, alice, "describe_log_groups", map[string]any{"account": "staging"})
	wantReadableError(t, res, `unknown account "staging"`, "prod, dev")
	wantReadableError(t, call(t, alice, "describe_log_groups", map[string]any{"account": 7}), "account must be a string")
	if ae.Fake.CallCount("AssumeRole")+ae.Fake.CallCount("DescribeLogGroups") != 0 {
		t.Fatal("a bad account name must not reach AWS")
	}
	// null or "" mean the caller's own account.
	for _, v := range []any{nil, ""} {
		if res := call(t, alice, "describe_log_groups", map[string]any{"account": v}); res.IsError {
			t.Fatalf("account %v: %s", v, res.Text())
		}
	}

	// Without configured accounts, naming one is an error too.
	te := mcptest.NewEnv(t)
	s := mcptest.ServedTools(t, te, toolkit.DefaultMaxResultBytes)
	res = mcptest.CallServed(t, s, mcptest.IdentityCtx(te.Alice, "alice"), "describe_log_groups", map[string]any{"account": "prod"})
	wantReadableError(t, res, "no accounts configured")
	if s.GetTool(toolkit.ListAccountsTool) != nil {
		t.Fatal("list_accounts is served only when accounts are configured")
	}
}

func TestListAccountsAndSchemas(t *testing.T) {
	ae, call := newAccountsEnv(t)
	res := call(t, mcptest.IdentityCtx(ae.Alice, "alice"), toolkit.ListAccountsTool, nil)
	if res.IsError {
		t.Fatal(res.Text())
	}
	var out struct {
		Accounts []toolkit.AccountInfo `json:"accounts"`
	}
	if err := json.Unmarshal(res.StructuredContent, &out); err != nil {
		t.Fatal(err)
	}
	want := []toolkit.AccountInfo{{"prod", "eu-west-1"}, {"dev", "us-east-1"}}
	if fmt.Sprint(out.Accounts) != fmt.Sprint(want) || strings.Contains(res.Text(), "arn:") {
		t.Fatalf("list_accounts = %s", res.Text())
	}

	s := mcptest.ServedTools(t, ae.Env, toolkit.DefaultMaxResultBytes)
	for name, st := range s.ListTools() {
		var schema struct {
			Properties map[string]struct {
				AnyOf []struct {
					Enum []string `json:"enum"`
				} `json:"anyOf"`
			} `json:"properties"`
			Required []string `json:"required"`
		}
		if err := json.Unmarshal(st.Tool.RawInputSchema, &schema); err != nil {
			t.Fatal(err)
		}
		p, has := schema.Properties[toolkit.AccountArg]
		_, aws := schema.Properties["profile_name"]
		switch {
		case aws && (!has || len(p.AnyOf) == 0 || fmt.Sprint(p.AnyOf[0].Enum) != "[prod dev]"):
			t.Errorf("%s calls AWS but has no account argument listing the accounts", name)
		case !aws && has:
			t.Errorf("%s does not call AWS but takes account", name)
		}
		for _, r := range schema.Required {
			if r == toolkit.AccountArg {
				t.Errorf("%s: account must be optional", name)
			}
		}
	}
	if s.GetTool("get_metric_metadata") == nil || s.GetTool(toolkit.ListAccountsTool) == nil {
		t.Fatal("tools missing")
	}
}

func TestAccountChainSingleflightAndRenewal(t *testing.T) {
	ae, call := newAccountsEnv(t)
	alice := mcptest.IdentityCtx(ae.Alice, "alice")

	// Concurrent first calls share one AssumeRole.
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := call(t, alice, "get_active_alarms", map[string]any{"account": "prod"}); res.IsError {
				errs <- res.Text()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if n := ae.Fake.CallCount("AssumeRole"); n != 1 {
		t.Fatalf("%d AssumeRole calls for 8 concurrent first calls, want 1", n)
	}
	first := ae.Fake.Calls("DescribeAlarms")[0].AccessKeyID

	// Within the refresh window the cached key still serves the call while
	// a renewal runs in the background.
	ae.clock.advance(toolkit.ChainedDuration - toolkit.ChainRefreshBefore + time.Minute)
	if res := call(t, alice, "get_active_alarms", map[string]any{"account": "prod"}); res.IsError {
		t.Fatal(res.Text())
	}
	key := mcptest.Issuer + "\x00alice\x00prod"
	deadline := time.Now().Add(5 * time.Second)
	for _, fresh := ae.Accounts.Get(key); !fresh && time.Now().Before(deadline); _, fresh = ae.Accounts.Get(key) {
		time.Sleep(10 * time.Millisecond)
	}
	if ae.Fake.CallCount("AssumeRole") != 2 {
		t.Fatal("credentials in the refresh window must be renewed")
	}
	// The renewed key is used from then on.
	ae.Fake.ResetCalls()
	if res := call(t, alice, "get_active_alarms", map[string]any{"account": "prod"}); res.IsError {
		t.Fatal(res.Text())
	}
	if c := ae.Fake.Calls("DescribeAlarms"); c[0].AccessKeyID == first || ae.Fake.CallCount("AssumeRole") != 0 {
		t.Fatalf("after renewal: key %s (first %s), %d AssumeRole", c[0].AccessKeyID, first, ae.Fake.CallCount("AssumeRole"))
	}

	// Revoked access: once the cached credentials expire, the refusal
	// shows and the entry is dropped.
	ae.Fake.AddRole(fakeaws.Role{ARN: prodRole})
	ae.clock.advance(2 * toolkit.ChainedDuration)
	alice = mcptest.IdentityCtx(ae.Fake.IssueCredentials("alice", ae.clock.now().Add(time.Hour)), "alice")
	wantReadableError(t, call(t, alice, "get_active_alarms", map[string]any{"account": "prod"}), `account "prod"`, "not allowed")
	if ae.Accounts.Len() != 0 {
		t.Fatalf("%d cached entries after a refusal", ae.Accounts.Len())
	}
}

func TestAccountChainCacheIsPerIdentityAndBounded(t *testing.T) {
	ae, call := newAccountsEnv(t)
	ae.Fake.AddRole(fakeaws.Role{ARN: prodRole, AssumeRoleBy: []string{"alice", "bob", "carol"}})
	ae.Accounts.SetMax(2)
	carol := ae.Fake.IssueCredentials("carol", time.Now().Add(time.Hour))
	keys := map[string]bool{}
	for _, u := range []struct {
		c   aws.Credentials
		sub string
	}{{ae.Alice, "alice"}, {ae.bob, "bob"}, {carol, "carol"}} {
		ae.Fake.ResetCalls()
		if res := call(t, mcptest.IdentityCtx(u.c, u.sub), "get_active_alarms", map[string]any{"account": "prod"}); res.IsError {
			t.Fatal(res.Text())
		}
		c := ae.Fake.Calls("DescribeAlarms")[0]
		if c.Owner != awsname.Session(mcptest.Issuer, u.sub) || keys[c.AccessKeyID] {
			t.Fatalf("%s's call used %s (owner %s): chained credentials must never be shared", u.sub, c.AccessKeyID, c.Owner)
		}
		keys[c.AccessKeyID] = true
	}
	if ae.Accounts.Len() != 2 {
		t.Fatalf("cache holds %d entries, bound is 2", ae.Accounts.Len())
	}
}

func TestChainSessionName(t *testing.T) {
	if got := toolkit.ChainSessionName("", ""); got != "caddy-cloudwatch-mcp" {
		t.Errorf("anonymous: %q", got)
	}
	// The name cognito_auth gives the vended session: two issuers' users
	// with one sub are two names.
	a, b := toolkit.ChainSessionName(mcptest.Issuer, "alice"), toolkit.ChainSessionName("https://other.example.com", "alice")
	if a != awsname.Session(mcptest.Issuer, "alice") || a == b || !strings.HasPrefix(a, "alice@") {
		t.Errorf("names %q and %q", a, b)
	}
}
