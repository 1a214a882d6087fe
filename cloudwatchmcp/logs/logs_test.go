package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// insightsClock is a fake clock shared by the tool env and the fake AWS:
// sleeping advances it instantly and records the gap, so polling schedules
// are asserted without wall-clock timing.
type insightsClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	// onSleep, if set, runs before each sleep (e.g. to cancel the caller).
	onSleep func(n int)
}

func (c *insightsClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// advance moves the clock without recording a sleep.
func (c *insightsClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func (c *insightsClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	n, hook := len(c.sleeps), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

func (c *insightsClock) gaps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// withInsightsClock makes te and its fake share a fake clock.
func withInsightsClock(te *mcptest.Env) *insightsClock {
	c := &insightsClock{t: time.Now()}
	te.Now, te.Sleep = c.now, c.sleep
	te.Fake.SetClock(c.now)
	return c
}

// assertOwner checks that every recorded call of op was signed with
// alice's vended key.
func assertOwner(t *testing.T, te *mcptest.Env, op string, wantCalls int) {
	t.Helper()
	calls := te.Fake.Calls(op)
	if wantCalls >= 0 && len(calls) != wantCalls {
		t.Fatalf("%s called %d times, want %d", op, len(calls), wantCalls)
	}
	for i, c := range calls {
		if c.Owner != "alice" || c.AccessKeyID != te.Alice.AccessKeyID {
			t.Fatalf("%s call %d signed by %q (%s), want alice", op, i, c.Owner, c.AccessKeyID)
		}
	}
}

// structuredResult returns the result's structuredContent as JSON.
func structuredResult(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("structuredContent is not an object: %s", b)
	}
	return m
}

// insightsDict decodes an Insights dictionary result, error or not.
func insightsDict(t testing.TB, res *mcp.CallToolResult) insightsDictView {
	t.Helper()
	var d insightsDictView
	if err := json.Unmarshal([]byte(mcptest.ResultText(t, res)), &d); err != nil {
		t.Fatalf("result is not an Insights dictionary: %s", mcptest.ResultText(t, res))
	}
	if sc := structuredResult(t, res); sc["result"] == nil {
		t.Fatalf("structuredContent must wrap the dictionary as {\"result\": ...}, got %v", sc)
	}
	return d
}

type insightsDictView struct {
	QueryID    string             `json:"queryId"`
	Status     string             `json:"status"`
	Statistics map[string]float64 `json:"statistics"`
	Message    string             `json:"message"`
	Results    []map[string]any   `json:"results"`
}

var lambdaGroup = fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}

// --- describe_log_groups ---

func TestDescribeLogGroupsWithSavedQueries(t *testing.T) {
	te := mcptest.NewEnv(t)
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fakeaws.LogsOf(te.Fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/aws/lambda/checkout", RetentionInDays: 30, StoredBytes: 1234, MetricFilterCount: 2, CreationTime: created, InheritedProperties: []string{"ACCOUNT_DATA_PROTECTION"}, DataProtectionStatus: "ACTIVATED"},
		fakeaws.LogGroup{Name: "/aws/lambda/billing", CreationTime: created.Add(1500 * time.Millisecond)},
		fakeaws.LogGroup{Name: "/ecs/web", Class: "INFREQUENT_ACCESS"},
	).AddQueryDefinition(
		fakeaws.QueryDefinition{Name: "by-name", QueryString: "fields @message | limit 5", LogGroupNames: []string{"/ecs/web", "/ecs/web"}},
		fakeaws.QueryDefinition{Name: "by-prefix", QueryString: `SOURCE logGroups(namePrefix: ["/aws/lambda", '/aws/ecs'], class: "STANDARD") | limit 5`},
		fakeaws.QueryDefinition{Name: "multiline-source", QueryString: "SOURCE logGroups(\n  namePrefix: [\"/aws/lambda/bill\"]\n)\n| stats count(*)"},
		fakeaws.QueryDefinition{Name: "empty-prefix", QueryString: `SOURCE logGroups(namePrefix: []) | limit 5`},
		fakeaws.QueryDefinition{Name: "unrelated", QueryString: "fields @message", LogGroupNames: []string{"/other"}},
		fakeaws.QueryDefinition{Name: "sql", QueryString: "SELECT * FROM `/ecs/web`", LogGroupNames: []string{"/ecs/web"}, Language: "SQL"},
	)
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "describe_log_groups", map[string]any{})
	var out logsMetadata
	mcptest.DecodeResult(t, res, &out)
	if len(out.LogGroupMetadata) != 3 {
		t.Fatalf("log groups %+v", out.LogGroupMetadata)
	}
	b := out.LogGroupMetadata[0]
	if b.LogGroupName != "/aws/lambda/billing" || *b.CreationTime != "2025-01-01T00:00:01.500000+00:00" || b.RetentionInDays != nil || b.LogGroupClass != "STANDARD" || b.KmsKeyID != nil || b.InheritedProperties == nil {
		t.Fatalf("billing metadata %+v", b)
	}
	c := out.LogGroupMetadata[1]
	if *c.CreationTime != "2025-01-01T00:00:00+00:00" || *c.RetentionInDays != 30 || *c.StoredBytes != 1234 || c.MetricFilterCount != 2 ||
		c.LogGroupArn != lambdaGroup.ARN() || *c.DataProtectionStatus != "ACTIVATED" || c.InheritedProperties[0] != "ACCOUNT_DATA_PROTECTION" {
		t.Fatalf("checkout metadata %+v", c)
	}
	if out.LogGroupMetadata[2].LogGroupClass != "INFREQUENT_ACCESS" {
		t.Fatalf("class %+v", out.LogGroupMetadata[2])
	}
	var got []string
	for _, q := range out.SavedQueries {
		got = append(got, q.Name+fmt.Sprint(q.LogGroupNames, q.LogGroupPrefixes))
	}
	// The empty namePrefix no longer matches everything, SQL queries are not
	// CWLI, and a SOURCE command may span lines.
	want := "[by-name[/ecs/web] [] by-prefix[] [/aws/ecs /aws/lambda] multiline-source[] [/aws/lambda/bill]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("saved queries\n got %v\nwant %s", got, want)
	}
	// Plain JSON text and the same object as structuredContent (a BaseModel
	// result is not wrapped).
	if sc := structuredResult(t, res); sc["log_group_metadata"] == nil || sc["saved_queries"] == nil {
		t.Fatalf("structuredContent %v", sc)
	}
	assertOwner(t, te, "DescribeLogGroups", 1)
	assertOwner(t, te, "DescribeQueryDefinitions", 1)
}

func TestDescribeLogGroupsPagingAndMaxItems(t *testing.T) {
	te := mcptest.NewEnv(t)
	l := fakeaws.LogsOf(te.Fake).SetPageSize(3)
	for i := range 7 {
		l.AddLogGroup(fakeaws.LogGroup{Name: fmt.Sprintf("/app/g%d", i)})
	}
	for i := range 4 {
		l.AddQueryDefinition(fakeaws.QueryDefinition{Name: fmt.Sprintf("q%d", i), QueryString: "fields @message", LogGroupNames: []string{fmt.Sprintf("/app/g%d", i*2)}})
	}
	ctx := mcptest.UserCtx(te.Alice)
	var out logsMetadata
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "describe_log_groups", map[string]any{"log_group_name_prefix": "/app/"}), &out)
	if len(out.LogGroupMetadata) != 7 || len(out.SavedQueries) != 4 {
		t.Fatalf("all pages: %d groups, %d saved queries", len(out.LogGroupMetadata), len(out.SavedQueries))
	}
	assertOwner(t, te, "DescribeLogGroups", 3)
	assertOwner(t, te, "DescribeQueryDefinitions", 2)

	te.Fake.ResetCalls()
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "describe_log_groups", map[string]any{"max_items": "4"}), &out)
	if len(out.LogGroupMetadata) != 4 || out.LogGroupMetadata[3].LogGroupName != "/app/g3" {
		t.Fatalf("max_items 4: %+v", out.LogGroupMetadata)
	}
	// Saved queries are matched only against the returned groups.
	if len(out.SavedQueries) != 2 {
		t.Fatalf("saved queries for 4 groups: %+v", out.SavedQueries)
	}
	if n := te.Fake.CallCount("DescribeLogGroups"); n != 2 {
		t.Fatalf("max_items 4 over pages of 3 took %d calls, want 2", n)
	}
}

func TestDescribeLogGroupsLinkedAccounts(t *testing.T) {
	te := mcptest.NewEnv(t)
	fakeaws.LogsOf(te.Fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/own"},
		fakeaws.LogGroup{Name: "/src-a", AccountID: "111111111111"},
		fakeaws.LogGroup{Name: "/src-b", AccountID: "222222222222"},
	)
	ctx := mcptest.UserCtx(te.Alice)
	var out logsMetadata
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "describe_log_groups", map[string]any{}), &out)
	if len(out.LogGroupMetadata) != 1 {
		t.Fatalf("without linked accounts: %+v", out.LogGroupMetadata)
	}
	// FastMCP clients send lists as JSON-encoded strings too.
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "describe_log_groups", map[string]any{"include_linked_accounts": true, "account_identifiers": `["222222222222"]`}), &out)
	if len(out.LogGroupMetadata) != 2 || out.LogGroupMetadata[1].LogGroupArn != "arn:aws:logs:us-east-1:222222222222:log-group:/src-b" {
		t.Fatalf("linked: %+v", out.LogGroupMetadata)
	}
}

// awslabs required metricFilterCount and logGroupArn (and storedBytes
// until PR #2872); a log group without them failed the whole listing.
func TestDescribeLogGroupsToleratesMissingFields(t *testing.T) {
	te := mcptest.NewEnv(t)
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/sparse", Omit: []string{"storedBytes", "metricFilterCount", "logGroupArn", "logGroupClass", "creationTime"}})
	var out logsMetadata
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "describe_log_groups", map[string]any{}), &out)
	g := out.LogGroupMetadata[0]
	if g.StoredBytes != nil || g.MetricFilterCount != 0 || g.CreationTime != nil || g.LogGroupClass != "STANDARD" ||
		g.LogGroupArn != "arn:aws:logs:us-east-1:123456789012:log-group:/sparse" {
		t.Fatalf("sparse group %+v", g)
	}
}

func TestDescribeLogGroupsValidationAndErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"max_items": 0}, "max_items must be at least 1"},
		{map[string]any{"max_items": 2.5}, "max_items must be an integer"},
		{map[string]any{"log_group_class": "HOT"}, "log_group_class must be STANDARD or INFREQUENT_ACCESS"},
		{map[string]any{"include_linked_accounts": "maybe"}, "include_linked_accounts must be true or false"},
		{map[string]any{"account_identifiers": 7}, "account_identifiers must be a list of strings"},
		{map[string]any{"region": "mars-1"}, `region "mars-1" is not an AWS region (known: `},
		{map[string]any{"profile_name": "prod-admin"}, "profile_name is only honoured with `credentials default`"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "describe_log_groups", c.args), c.want)
	}
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "describe_log_groups", nil), toolkit.NoCredentialsMessage)
	if n := len(te.Fake.Calls("")); n != 0 {
		t.Fatalf("invalid input reached AWS (%d calls)", n)
	}

	te.Fake.SetFault("DescribeLogGroups", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/mcp/alice is not authorized to perform: logs:DescribeLogGroups", Times: 1})
	res := te.CallTool(t, ctx, "describe_log_groups", nil)
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/mcp/alice is not authorized")
	mcptest.WantToolError(t, res, "lacks this permission")
	// Until cleared, not Times: 1: the previous call's DescribeQueryDefinitions,
	// cancelled with it, may still reach the fake and would take a one-shot fault.
	te.Fake.SetFault("DescribeQueryDefinitions", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:DescribeQueryDefinitions"})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "describe_log_groups", nil), "logs:DescribeQueryDefinitions")
	te.Fake.ClearFaults()
	if strings.Contains(mcptest.ResultText(t, res), te.Alice.SecretAccessKey) {
		t.Fatal("secret leaked")
	}
}

// --- execute_log_insights_query ---

func TestExecuteLogInsightsQuery(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Polls: 3}).
		SetQueryResults("filter", fakeaws.QueryResult{
			Rows:  [][]fakeaws.ResultField{fakeaws.Row("@timestamp", "2025-01-01 00:00:01.000", "@message", "ERROR boom", "@ptr", "abc"), fakeaws.Row("@timestamp", "2025-01-01 00:00:02.000", "@message", "ERROR bang")},
			Stats: &fakeaws.QueryStats{RecordsMatched: 2, RecordsScanned: 900, BytesScanned: 12345, LogGroupsScanned: 1},
		})
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_log_insights_query", map[string]any{
		"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00", "end_time": "2025-01-01T01:00:00+01:00",
		"query_string": "fields @timestamp, @message | filter @message like /ERROR/", "limit": 20,
	})
	if res.IsError {
		t.Fatalf("error: %s", mcptest.ResultText(t, res))
	}
	d := insightsDict(t, res)
	if d.Status != "Complete" || d.QueryID == "" || len(d.Results) != 2 || d.Results[0]["@message"] != "ERROR boom" || d.Results[0]["@ptr"] != "abc" ||
		d.Statistics["recordsScanned"] != 900 || d.Statistics["bytesScanned"] != 12345 || d.Statistics["logGroupsScanned"] != 1 {
		t.Fatalf("result %+v", d)
	}
	q, _ := fakeaws.LogsOf(te.Fake).Query(d.QueryID)
	// A time without a zone is UTC; an offset is honoured.
	if q.LogGroupsParam != "logGroupNames" || q.Limit != 20 || !q.Start.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || !q.End.Equal(q.Start) || q.Polls != 3 {
		t.Fatalf("StartQuery saw %+v", q)
	}
	assertOwner(t, te, "StartQuery", 1)
	assertOwner(t, te, "GetQueryResults", 3)
	assertOwner(t, te, "StopQuery", 0)
}

func TestExecuteLogInsightsQueryIdentifiers(t *testing.T) {
	te := mcptest.NewEnv(t)
	src := fakeaws.LogGroup{Name: "/src/app", Region: "us-east-1", AccountID: "210987654321"}
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup, src)
	// The ":*" form (describe_log_groups' "arn") is accepted and trimmed;
	// StartQuery itself refuses it.
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_log_insights_query", map[string]any{
		"log_group_identifiers": fmt.Sprintf(`[%q, %q]`, lambdaGroup.ARN()+":*", src.ARN()),
		"start_time":            "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "stats count(*)",
	})
	d := insightsDict(t, res)
	if res.IsError || d.Status != "Complete" {
		t.Fatalf("result %s", mcptest.ResultText(t, res))
	}
	q, _ := fakeaws.LogsOf(te.Fake).Query(d.QueryID)
	if q.LogGroupsParam != "logGroupIdentifiers" || q.LogGroups[0] != lambdaGroup.ARN() || q.Limit != 0 {
		t.Fatalf("StartQuery saw %+v", q)
	}
}

func TestExecuteLogInsightsQueryValidation(t *testing.T) {
	te := mcptest.NewEnv(t)
	ctx := mcptest.UserCtx(te.Alice)
	base := func(kv ...any) map[string]any {
		m := map[string]any{"log_group_names": []any{"/a"}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message | limit 5"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = fmt.Sprintf("/g/%d", i)
	}
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{base("log_group_identifiers", []any{"/b"}), "Exactly one of log_group_names or log_group_identifiers must be provided"},
		{base("log_group_names", nil), "Exactly one of log_group_names or log_group_identifiers must be provided"},
		{base("log_group_names", []any{}), "Exactly one of log_group_names or log_group_identifiers must be provided"},
		{base("log_group_names", many), "log_group_names has 51 entries but a query covers at most 50 log groups"},
		{base("log_group_names", nil, "log_group_identifiers", many), "log_group_identifiers has 51 entries"},
		{base("start_time", nil), "start_time is required"},
		{base("end_time", "tomorrow"), `is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)`},
		{base("end_time", "2024-12-31T00:00:00Z"), "end_time (2024-12-31T00:00:00Z) is before start_time"},
		{base("query_string", "  "), "query_string is required"},
		{base("limit", 0), "limit must be between 1 and 100000, got 0"},
		{base("max_timeout", -1), "max_timeout must be 0 or more seconds"},
		{base("region", "US-EAST-1"), `is not an AWS region (known: af-south-1`},
	} {
		res := te.CallTool(t, ctx, "execute_log_insights_query", c.args)
		mcptest.WantToolError(t, res, c.want)
		d := insightsDict(t, res)
		if d.Status != "Error" || d.QueryID != "" || d.Results == nil || !strings.HasPrefix(d.Message, "Error executing CloudWatch Logs Insights query: ") {
			t.Fatalf("%q: error dictionary %+v", c.want, d)
		}
	}
	if n := te.Fake.CallCount("StartQuery"); n != 0 {
		t.Fatalf("invalid input reached StartQuery %d times", n)
	}
}

func TestExecuteLogInsightsQueryAWSErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup)
	ctx := mcptest.UserCtx(te.Alice)
	args := map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message | limit 5"}

	te.Fake.SetFault("StartQuery", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:StartQuery", Times: 1})
	res := te.CallTool(t, ctx, "execute_log_insights_query", args)
	mcptest.WantToolError(t, res, "Error executing CloudWatch Logs Insights query: AWS error AccessDeniedException: not authorized to perform: logs:StartQuery")
	assertOwner(t, te, "StartQuery", 1)

	// A log group that does not exist (#860: agents hallucinate names).
	args["log_group_names"] = []any{"/made/up"}
	mcptest.WantToolError(t, te.CallTool(t, ctx, "execute_log_insights_query", args), "ResourceNotFoundException: Log group '/made/up' does not exist")
	args["log_group_names"] = []any{lambdaGroup.Name}

	// A failure while polling keeps the query ID.
	te.Fake.SetFault("GetQueryResults", fakeaws.Fault{Status: 500, Code: "ServiceUnavailableException", Message: "try later", Times: 1})
	res = te.CallTool(t, ctx, "execute_log_insights_query", args)
	mcptest.WantToolError(t, res, "Error occurred while polling: AWS error ServiceUnavailableException: try later")
	if d := insightsDict(t, res); d.QueryID == "" || d.Status != "Error" {
		t.Fatalf("polling error %+v", d)
	}
}

func TestExecuteLogInsightsQueryTerminalStatuses(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	l := fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup)
	ctx := mcptest.UserCtx(te.Alice)
	for _, status := range []string{"Failed", "Timeout", "Unknown"} {
		l.SetQueryResults("", fakeaws.QueryResult{Status: status})
		res := te.CallTool(t, ctx, "execute_log_insights_query", map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message"})
		// As in awslabs, a final status is a result, not a tool error.
		if d := insightsDict(t, res); res.IsError || d.Status != status || d.Results == nil || d.Statistics == nil {
			t.Fatalf("%s: %s", status, mcptest.ResultText(t, res))
		}
	}
	// Statistics is {} rather than absent when AWS sends none.
	if !strings.Contains(mcptest.ResultText(t, processResultsJSON(t)), `"statistics":{}`) {
		t.Fatal("empty statistics must be {}")
	}
}

func processResultsJSON(t *testing.T) *mcp.CallToolResult {
	t.Helper()
	return logsDictResult(insightsQueryResult{QueryID: "q", Status: "Complete", Statistics: map[string]float64{}, Results: []map[string]any{}, hasStats: true}, false)
}

func TestExecuteLogInsightsQueryPollingTimeout(t *testing.T) {
	te := mcptest.NewEnv(t)
	clk := withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: time.Hour})
	ctx := mcptest.UserCtx(te.Alice)
	args := map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message", "max_timeout": 3}
	res := te.CallTool(t, ctx, "execute_log_insights_query", args)
	d := insightsDict(t, res)
	want := "Query " + d.QueryID + " did not complete within 3 seconds. Use get_logs_insight_query_results with the returned queryId to try again to retrieve query results."
	if res.IsError || d.Status != "Polling Timeout" || d.Message != want || len(d.Results) != 0 {
		t.Fatalf("timeout result %+v", d)
	}
	var waited time.Duration
	for _, g := range clk.gaps() {
		waited += g
	}
	if waited != 3*time.Second {
		t.Fatalf("waited %v in total, want exactly max_timeout", waited)
	}
	// The query keeps running for get_logs_insight_query_results.
	if q, _ := fakeaws.LogsOf(te.Fake).Query(d.QueryID); q.Stopped || te.Fake.CallCount("StopQuery") != 0 {
		t.Fatal("a polling timeout must not stop the query")
	}

	// max_timeout is capped by the handler's max_query_timeout.
	te.MaxQueryTimeout = 2 * time.Second
	args["max_timeout"] = 600
	if d := insightsDict(t, te.CallTool(t, ctx, "execute_log_insights_query", args)); !strings.Contains(d.Message, "within 2 seconds") {
		t.Fatalf("cap not applied: %+v", d)
	}
	// max_timeout 0 starts the query, polls once and hands back its ID.
	args["max_timeout"] = 0
	if d := insightsDict(t, te.CallTool(t, ctx, "execute_log_insights_query", args)); d.Status != "Polling Timeout" || d.QueryID == "" {
		t.Fatalf("max_timeout 0: %+v", d)
	}
}

func TestExecuteLogInsightsQueryResultPaging(t *testing.T) {
	te := mcptest.NewEnv(t)
	rows := make([][]fakeaws.ResultField, 7)
	for i := range rows {
		rows[i] = fakeaws.Row("n", fmt.Sprint(i))
	}
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{}).SetQueryResults("", fakeaws.QueryResult{Rows: rows}).SetPageSize(3)
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_log_insights_query", map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields n"})
	d := insightsDict(t, res)
	if len(d.Results) != 7 || d.Results[6]["n"] != "6" {
		t.Fatalf("paged results %+v", d.Results)
	}
	assertOwner(t, te, "GetQueryResults", 3)
}

// Cancelling the tool call (client cancel or disconnect) stops the query.
func TestExecuteLogInsightsQueryCancellationStopsQuery(t *testing.T) {
	te := mcptest.NewEnv(t)
	clk := withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: time.Minute})
	ctx, cancel := context.WithCancel(mcptest.UserCtx(te.Alice))
	defer cancel()
	clk.onSleep = func(n int) {
		if n == 3 {
			cancel()
		}
	}
	res := te.CallTool(t, ctx, "execute_log_insights_query", map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message"})
	mcptest.WantToolError(t, res, "cancelled")
	assertOwner(t, te, "StopQuery", 1)
	qs := fakeaws.LogsOf(te.Fake).Queries()
	// Every poll, the first too, follows a sleep: two polls, then the
	// third sleep was cancelled.
	if len(qs) != 1 || !qs[0].Stopped || qs[0].Polls != 2 {
		t.Fatalf("query after cancellation %+v", qs)
	}
}

// --- get_logs_insight_query_results / cancel_logs_insight_query ---

func TestGetLogsInsightQueryResultsAndCancel(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Polls: 2}).
		SetQueryResults("", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("@message", "hello")}})
	ctx := mcptest.UserCtx(te.Alice)
	start := func() string {
		d := insightsDict(t, te.CallTool(t, ctx, "execute_log_insights_query", map[string]any{"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message", "max_timeout": 0}))
		if d.Status != "Polling Timeout" {
			t.Fatalf("start: %+v", d)
		}
		return d.QueryID
	}
	id := start()
	res := te.CallTool(t, ctx, "get_logs_insight_query_results", map[string]any{"query_id": id})
	if d := insightsDict(t, res); res.IsError || d.Status != "Complete" || d.QueryID != id || d.Results[0]["@message"] != "hello" {
		t.Fatalf("get: %s", mcptest.ResultText(t, res))
	}

	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_logs_insight_query_results", map[string]any{}), "query_id is required")
	res = te.CallTool(t, ctx, "get_logs_insight_query_results", map[string]any{"query_id": "nope"})
	mcptest.WantToolError(t, res, "Error retrieving CloudWatch Logs Insights query results: AWS error ResourceNotFoundException")
	if d := insightsDict(t, res); d.QueryID != "nope" || d.Status != "Error" || d.Results == nil {
		t.Fatalf("get error dict %+v", d)
	}

	// Cancel a running query, then cancelling it again fails like StopQuery.
	id = start()
	var ok struct{ Success *bool }
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "cancel_logs_insight_query", map[string]any{"query_id": id}), &ok)
	if ok.Success == nil || !*ok.Success {
		t.Fatalf("cancel: %+v", ok)
	}
	if q, _ := fakeaws.LogsOf(te.Fake).Query(id); !q.Stopped {
		t.Fatal("query not stopped")
	}
	mcptest.WantToolError(t, te.CallTool(t, ctx, "cancel_logs_insight_query", map[string]any{"query_id": id}), "AWS error InvalidParameterException: Query "+id+" is not running")
	mcptest.WantToolError(t, te.CallTool(t, ctx, "cancel_logs_insight_query", map[string]any{"query_id": ""}), "query_id is required")
	te.Fake.SetFault("StopQuery", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:StopQuery", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "cancel_logs_insight_query", map[string]any{"query_id": start()}), "AccessDeniedException: not authorized to perform: logs:StopQuery")
	te.Fake.SetFault("GetQueryResults", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:GetQueryResults", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "get_logs_insight_query_results", map[string]any{"query_id": id}), "logs:GetQueryResults")
	assertOwner(t, te, "GetQueryResults", -1)
	assertOwner(t, te, "StopQuery", -1)
}

// --- analyze_log_group ---

func seedAnalyze(te *mcptest.Env, g fakeaws.LogGroup) (detector string, t0 time.Time) {
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := fakeaws.LogsOf(te.Fake).AddLogGroup(g)
	other := "arn:aws:logs:" + g.Region + ":123456789012:log-group:/other"
	detector = l.AddAnomalyDetector(fakeaws.AnomalyDetector{Name: "checkout-detector", Region: g.Region, LogGroupARNs: []string{g.ARN(), other}})
	l.AddAnomalyDetector(fakeaws.AnomalyDetector{Name: "unrelated", Region: g.Region, LogGroupARNs: []string{other}})
	in := fakeaws.Anomaly{DetectorARN: detector, LogGroupARNs: []string{g.ARN()}, FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(10 * time.Minute),
		Description: "new error pattern", Priority: "HIGH", PatternString: "ERROR <*> timed out", PatternRegex: `ERROR \S+ timed out`,
		Histogram: map[time.Time]int64{t0: 3, t0.Add(5 * time.Minute): 7},
		Samples:   []fakeaws.LogSample{{Time: t0, Message: "ERROR db timed out"}, {Time: t0.Add(time.Minute), Message: "ERROR cache timed out"}}}
	before, other1, suppressed := in, in, in
	before.FirstSeen, before.LastSeen, before.Description = t0.Add(-48*time.Hour), t0.Add(-47*time.Hour), "too early"
	other1.LogGroupARNs, other1.Description = []string{other}, "other group"
	suppressed.Suppressed, suppressed.Description = true, "suppressed"
	l.AddAnomaly(in, before, other1, suppressed)
	samples := `[{"timestamp":"2025-03-01 12:00:00.000","message":"ERROR db timed out"},{"timestamp":"2025-03-01 12:01:00.000","message":"ERROR cache timed out"}]`
	l.SetQueryResults("pattern @message | sort", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
		fakeaws.Row("@pattern", "INFO <*> ok", "@sampleCount", "40", "@ratio", "0.8", "@logSamples", samples, "@tokens", "[]", "@visualization", "{}"),
		fakeaws.Row("@pattern", "WARN <*>", "@sampleCount", "10", "@logSamples", "not json"),
	}})
	l.SetQueryResults("(?i)(error|exception|fail|timeout|fatal)", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
		fakeaws.Row("@pattern", "ERROR <*> timed out", "@sampleCount", "10", "@logSamples", samples, "@tokens", "[]"),
	}})
	return detector, t0
}

func TestAnalyzeLogGroup(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "eu-west-1", AccountID: fakeaws.DefaultAccountID}
	detector, t0 := seedAnalyze(te, g)
	// Naive times (no offset) are UTC; awslabs raised TypeError comparing
	// them with the anomalies' aware times. No region: the ARN's is used.
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "analyze_log_group", map[string]any{
		"log_group_arn": g.ARN() + ":*", "start_time": "2025-03-01T11:30:00", "end_time": "2025-03-01T12:30:00",
	})
	var out struct {
		LogAnomalyResults struct {
			AnomalyDetectors []logAnomalyDetector `json:"anomaly_detectors"`
			Anomalies        []logAnomaly         `json:"anomalies"`
		} `json:"log_anomaly_results"`
		TopPatterns      insightsDictView `json:"top_patterns"`
		TopErrorPatterns insightsDictView `json:"top_patterns_containing_errors"`
	}
	mcptest.DecodeResult(t, res, &out)
	dets := out.LogAnomalyResults.AnomalyDetectors
	if len(dets) != 1 || dets[0].AnomalyDetectorArn != detector || dets[0].DetectorName != "checkout-detector" || dets[0].AnomalyDetectorStatus != "ANALYZING" {
		t.Fatalf("detectors %+v", dets)
	}
	as := out.LogAnomalyResults.Anomalies
	if len(as) != 1 {
		t.Fatalf("anomalies %+v", as)
	}
	a := as[0]
	if a.Description != "new error pattern" || a.FirstSeen != "2025-03-01T11:00:00+00:00" || a.LastSeen != "2025-03-01T12:10:00+00:00" ||
		*a.Priority != "HIGH" || len(a.LogSamples) != 1 || a.LogSamples[0]["timestamp"] != "2025-03-01T12:00:00+00:00" || a.LogSamples[0]["message"] != "ERROR db timed out" ||
		a.Histogram["2025-03-01T12:05:00+00:00"] != 7 || len(a.Histogram) != 2 {
		t.Fatalf("anomaly %+v", a)
	}
	tp := out.TopPatterns
	if tp.Status != "Complete" || len(tp.Results) != 2 {
		t.Fatalf("top patterns %+v", tp)
	}
	if _, ok := tp.Results[0]["@tokens"]; ok || tp.Results[0]["@visualization"] != nil {
		t.Fatalf("pattern row not cleaned: %+v", tp.Results[0])
	}
	if s, ok := tp.Results[0]["@logSamples"].([]any); !ok || len(s) != 1 || s[0].(map[string]any)["message"] != "ERROR db timed out" {
		t.Fatalf("@logSamples not cut to the first sample: %+v", tp.Results[0]["@logSamples"])
	}
	if tp.Results[1]["@logSamples"] != "not json" {
		t.Fatalf("unparseable samples must be kept: %+v", tp.Results[1])
	}
	if te := out.TopErrorPatterns; te.Status != "Complete" || len(te.Results) != 1 || te.Results[0]["@pattern"] != "ERROR <*> timed out" {
		t.Fatalf("error patterns %+v", te)
	}
	qs := fakeaws.LogsOf(te.Fake).Queries()
	if len(qs) != 2 {
		t.Fatalf("queries %+v", qs)
	}
	for _, q := range qs {
		if q.LogGroupsParam != "logGroupIdentifiers" || q.LogGroups[0] != g.ARN() || q.Limit != 5 || q.Region != "eu-west-1" ||
			!q.Start.Equal(t0.Add(-30*time.Minute)) || (q.QueryString != topPatternsQuery && q.QueryString != topErrorPatternsQuery) {
			t.Fatalf("query %+v", q)
		}
	}
	for _, op := range []string{"ListLogAnomalyDetectors", "ListAnomalies", "StartQuery", "GetQueryResults"} {
		assertOwner(t, te, op, -1)
		for _, c := range te.Fake.Calls(op) {
			if c.Region != "eu-west-1" {
				t.Fatalf("%s went to %s", op, c.Region)
			}
		}
	}
}

// The anomaly lookup and both pattern queries run at the same time: the
// detector listing answers only once both queries have started, which a
// sequential implementation never reaches.
func TestAnalyzeLogGroupRunsConcurrently(t *testing.T) {
	te := mcptest.NewEnv(t)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}
	seedAnalyze(te, g)
	te.Fake.Handle("logs", "ListLogAnomalyDetectors", func(r *fakeaws.Request) (any, error) {
		for range 500 {
			if r.Fake().CallCount("StartQuery") >= 2 {
				return map[string]any{"anomalyDetectors": []any{}}, nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil, fakeaws.Errorf("ThrottlingException", "the pattern queries never started while anomalies were listed")
	})
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "analyze_log_group", map[string]any{"log_group_arn": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z"})
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
}

func TestAnalyzeLogGroupValidationAndErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	g := fakeaws.LogGroup{Name: "/aws/lambda/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}
	seedAnalyze(te, g)
	ctx := mcptest.UserCtx(te.Alice)
	args := func(kv ...string) map[string]any {
		m := map[string]any{"log_group_arn": g.ARN(), "start_time": "2025-03-01T11:30:00Z", "end_time": "2025-03-01T12:30:00Z"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{args("log_group_arn", ""), "log_group_arn is required"},
		{args("log_group_arn", "/aws/lambda/checkout"), `log_group_arn "/aws/lambda/checkout" is not a log group ARN; pass logGroupArn from describe_log_groups`},
		{args("start_time", ""), "start_time is required"},
		{args("end_time", "2025-02-01T00:00:00Z"), "end_time (2025-02-01T00:00:00Z) is before start_time"},
		{args("region", "nowhere"), `region "nowhere" is not an AWS region`},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_log_group", c.args), c.want)
	}
	if n := len(te.Fake.Calls("")); n != 0 {
		t.Fatalf("invalid input reached AWS (%d calls)", n)
	}

	// An anomaly API failure fails the tool, as in awslabs.
	te.Fake.SetFault("ListAnomalies", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:ListAnomalies", Times: 1})
	mcptest.WantToolError(t, te.CallTool(t, ctx, "analyze_log_group", args()), "AWS error AccessDeniedException: not authorized to perform: logs:ListAnomalies")

	// A failing pattern query is reported inside the result instead. The
	// fault has no count: a StartQuery of the call above, cancelled by its
	// anomaly failure, may still reach the fake after this point and would
	// use up a counted fault.
	te.Fake.SetFault("StartQuery", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:StartQuery"})
	var out struct {
		TopPatterns insightsDictView `json:"top_patterns"`
	}
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "analyze_log_group", args()), &out)
	if out.TopPatterns.Status != "Error" || !strings.Contains(out.TopPatterns.Message, "logs:StartQuery") {
		t.Fatalf("top patterns %+v", out.TopPatterns)
	}
}
