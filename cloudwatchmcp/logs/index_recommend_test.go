package logs

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// indexEnv is a test env on a frozen clock shared with the fake, with
// instant poll sleeps (the fake's queries finish on their second poll).
func indexEnv(t *testing.T) (*mcptest.Env, time.Time) {
	t.Helper()
	te := mcptest.NewEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	te.Env.Now = func() time.Time { return now }
	te.Env.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	te.Fake.SetClock(func() time.Time { return now })
	return te, now
}

const day = 24 * time.Hour

func TestIndexRecommendLogGroupScoring(t *testing.T) {
	te, now := indexEnv(t)
	const group = "/ecs/orders"
	fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: group, StoredBytes: 7_000_000})
	hist := fakeaws.LogsIndexOf(te.Fake).SetPageSize(3) // the history arrives in three pages
	hist.AddQueryHistory(
		fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-1 * day), QueryString: `filter customerId = "c1" | fields orderId`},
		fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-2 * day), QueryString: `filter customerId = "c2" and status = "FAILED"`},
		fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-7 * day), QueryString: `fields orderId, latencyMs | filter latencyMs > 500`},
		fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-40 * day), QueryString: `filter tooOld = 1`},
		fakeaws.HistoricQuery{LogGroupName: group, Language: "SQL", CreateTime: now.Add(-3 * day), QueryString: "SELECT orderId FROM `orders` WHERE customerId = 'c3'"},
		// No queryLanguage (older history): detected. @requestId must survive (the @field fix).
		fakeaws.HistoricQuery{LogGroupName: group, CreateTime: now.Add(-1 * day), QueryString: `fields @timestamp, @message | filter @requestId = "r-1"`},
		fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", CreateTime: now.Add(-5 * day), QueryString: `filter ghost = "x"`},
		fakeaws.HistoricQuery{LogGroupName: "/other", Language: "CWLI", CreateTime: now.Add(-1 * day), QueryString: `filter unrelated = 1`},
	)
	hist.SetIndexPolicy(fakeaws.IndexPolicy{LogGroup: group, Fields: []string{"status"}})
	logs := fakeaws.LogsOf(te.Fake)
	logs.SetQueryResults("fields ", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
		fakeaws.Row("customerId", "c9", "orderId", "o-7", "latencyMs", "12", "@requestId", "r-9"),
	}})
	logs.SetQueryResults("count_distinct", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
		fakeaws.Row("card_0", "5000", "card_1", "250", "card_2", "900", "card_3", "not-a-number"),
	}})

	var res indexRecommenderResult
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{"log_group_identifier": group}), &res)

	// Hand-computed: max_count 3; recency exp(-0.693*age/7): 1 day 0.905743, 7 days 0.500074.
	//   customerId 3 uses, 3 eq, 1 day:  .30*1   + .25*1 + .15*.905743 + .15*1 = .835861; top-1 card 5000 -> 1    => .985861
	//   @requestId 1 use, 1 eq, 1 day:   .30*1/3 + .25*1 + .15*.905743 + .15   = .635861; top-2 card 250  -> .25  => .673361
	//   orderId    3 uses, display:      .30*1   + 0     + .15*.905743 + .15   = .585861; top-3 card 900  -> .9   => .720861
	//   latencyMs  1 use, non-eq, 7 days: .30/3  + 0     + .15*.500074 + .15   = .325011; malformed card -> 0  => .325011
	want := []struct {
		name        string
		score       float64
		count, eq   int
		freq, eqr   float64
		recencyDays float64
		card        float64
	}{
		{"customerId", 0.9859, 3, 3, 1, 1, 1, 1},
		{"orderId", 0.7209, 3, 0, 1, 0, 1, 0.9},
		{"@requestId", 0.6734, 1, 1, 1.0 / 3, 1, 1, 0.25},
		{"latencyMs", 0.3250, 1, 0, 1.0 / 3, 0, 7, 0},
	}
	if len(res.Recommendations) != len(want) {
		t.Fatalf("recommendations %+v", res.Recommendations)
	}
	for i, w := range want {
		r := res.Recommendations[i]
		b := r.ScoreBreakdown
		if r.FieldName != w.name || r.Score != w.score || r.QueryCount != w.count || r.FilterEqualityCount != w.eq || r.Action != "CREATE_INDEX" {
			t.Errorf("#%d: got %s score %v count %d eq %d, want %+v", i, r.FieldName, r.Score, r.QueryCount, r.FilterEqualityCount, w)
		}
		if !near(b.FrequencyScore, w.freq) || !near(b.FilterEqualityScore, w.eqr) || !near(b.RecencyScore, math.Exp(-0.693*w.recencyDays/7)) || b.ScanVolumeScore != 1 {
			t.Errorf("%s breakdown %+v", r.FieldName, b)
		}
		if b.CardinalityScore == nil || !near(*b.CardinalityScore, w.card) {
			t.Errorf("%s cardinality %v, want %v", r.FieldName, b.CardinalityScore, w.card)
		}
	}
	if len(res.AlreadyIndexed) != 1 || res.AlreadyIndexed[0] != (alreadyIndexedField{"status", 1, "LOG_GROUP"}) {
		t.Errorf("already indexed %+v", res.AlreadyIndexed)
	}
	if len(res.FieldsNotFound) != 1 || res.FieldsNotFound[0] != (fieldNotFound{"ghost", 1}) {
		t.Errorf("not found %+v", res.FieldsNotFound)
	}
	if res.QueriesAnalyzed != 6 || res.UniqueQueries != 6 || res.TimeRangeDays != 30 || res.LogGroup != group || len(res.Warnings) != 0 {
		t.Errorf("summary %+v", res)
	}

	// Fields keep history order (newest query first, names sorted within a
	// query), so probes and ties are deterministic.
	// Wire: history paged with the group name, probes over the last hour,
	// limit 1, every call signed by the caller.
	if n := te.Fake.CallCount("DescribeQueries"); n != 3 {
		t.Errorf("DescribeQueries pages %d, want 3", n)
	}
	qs := logs.Queries()
	if len(qs) != 2 {
		t.Fatalf("want existence + cardinality probes, got %d queries", len(qs))
	}
	if !strings.HasPrefix(qs[0].QueryString, "fields customerId, orderId, @requestId, ghost, latencyMs | limit 1") ||
		qs[1].QueryString != "stats count_distinct(customerId) as card_0, count_distinct(@requestId) as card_1, count_distinct(orderId) as card_2, count_distinct(latencyMs) as card_3 | limit 1" {
		t.Errorf("probe queries %q / %q", qs[0].QueryString, qs[1].QueryString)
	}
	for _, q := range qs {
		if q.Limit != 1 || q.End.Sub(q.Start) != time.Hour || !q.End.Equal(now) || q.Owner != "alice" || q.LogGroupsParam != "logGroupIdentifiers" {
			t.Errorf("probe %+v", q)
		}
	}
	for _, c := range te.Fake.Calls("") {
		if c.Owner != "alice" {
			t.Fatalf("call not signed by the caller: %+v", c)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestIndexRecommendLogGroupEarlyExits(t *testing.T) {
	const group = "/app/api"
	hq := func(now time.Time, q string) fakeaws.HistoricQuery {
		return fakeaws.HistoricQuery{LogGroupName: group, Language: "CWLI", QueryString: q, CreateTime: now.Add(-day)}
	}
	cases := []struct {
		name  string
		setup func(te *mcptest.Env, now time.Time)
		check func(t *testing.T, te *mcptest.Env, r indexRecommenderResult)
	}{
		{"no history in 30 days", func(te *mcptest.Env, now time.Time) {
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(fakeaws.HistoricQuery{LogGroupName: group, QueryString: "filter a = 1", CreateTime: now.Add(-31 * day)})
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			wantWarnings(t, r.Warnings, warnNoHistoryGroup)
			if r.QueriesAnalyzed != 0 || te.Fake.CallCount("StartQuery") != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"only system fields", func(te *mcptest.Env, now time.Time) {
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(hq(now, `fields @timestamp, @message | filter @logStream = "x" | sort @timestamp desc`))
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			wantWarnings(t, r.Warnings, warnOnlySystem)
			if r.QueriesAnalyzed != 1 || r.UniqueQueries != 1 || te.Fake.CallCount("DescribeIndexPolicies") != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"all already indexed, @@ custom field mapped", func(te *mcptest.Env, now time.Time) {
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(hq(now, `filter tenant = "t" and @userId = "u"`)).
				SetIndexPolicy(fakeaws.IndexPolicy{LogGroup: group, Fields: []string{"tenant", "@@userId"}})
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			wantWarnings(t, r.Warnings, warnAllIndexed)
			if len(r.AlreadyIndexed) != 2 || r.AlreadyIndexed[0].FieldName != "@userId" || r.AlreadyIndexed[1].FieldName != "tenant" {
				t.Errorf("%+v", r.AlreadyIndexed)
			}
		}},
		{"no candidate in log data", func(te *mcptest.Env, now time.Time) {
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(hq(now, `filter tenant = "t"`))
			fakeaws.LogsOf(te.Fake).SetQueryResults("fields ", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("other", "1")}})
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			wantWarnings(t, r.Warnings, warnNoCandidates)
			if len(r.FieldsNotFound) != 1 || r.FieldsNotFound[0].FieldName != "tenant" || len(r.Recommendations) != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"history error is a warning, not a failure", func(te *mcptest.Env, now time.Time) {
			te.Fake.SetFault("DescribeQueries", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "not allowed"})
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "Error fetching query history: AWS error AccessDeniedException: not allowed") {
				t.Errorf("%q", r.Warnings)
			}
		}},
		{"index policy error and failed probes keep candidates", func(te *mcptest.Env, now time.Time) {
			fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(hq(now, `filter tenant = "t"`))
			te.Fake.SetFault("DescribeIndexPolicies", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "no policies for you"})
			te.Fake.SetFault("StartQuery", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "no queries for you"})
		}, func(t *testing.T, te *mcptest.Env, r indexRecommenderResult) {
			if len(r.Warnings) != 3 || !strings.Contains(r.Warnings[0], "Could not fetch index policies") ||
				!strings.Contains(r.Warnings[1], "Could not check whether 1 field(s) exist") || !strings.Contains(r.Warnings[2], "Cardinality check failed") {
				t.Errorf("%q", r.Warnings)
			}
			// Unverified, not "not found": awslabs reported every field missing here.
			if len(r.Recommendations) != 1 || r.Recommendations[0].ScoreBreakdown.CardinalityScore != nil || len(r.FieldsNotFound) != 0 {
				t.Errorf("%+v", r)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			te, now := indexEnv(t)
			fakeaws.LogsOf(te.Fake).AddLogGroup(fakeaws.LogGroup{Name: group})
			tc.setup(te, now)
			var r indexRecommenderResult
			mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{"log_group_identifier": group}), &r)
			if r.Recommendations == nil || r.AlreadyIndexed == nil || r.FieldsNotFound == nil {
				t.Fatalf("lists must be [] not null: %+v", r)
			}
			tc.check(t, te, r)
		})
	}
}

func wantWarnings(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings %q, want %q", got, want)
	}
}

func TestIndexRecommendLogGroupARNAndCustomAtField(t *testing.T) {
	te, now := indexEnv(t)
	src := fakeaws.LogGroup{Name: "/aws/lambda/ledger", AccountID: "210987654321", StoredBytes: 10}
	fakeaws.LogsOf(te.Fake).AddLogGroup(src)
	fakeaws.LogsIndexOf(te.Fake).AddQueryHistory(fakeaws.HistoricQuery{LogGroupName: src.Name, Language: "CWLI", CreateTime: now, QueryString: `filter @tenant = "a"`})
	fakeaws.LogsOf(te.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("@tenant", "a", "card_0", "10")}})
	arn := "arn:aws:logs:us-east-1:210987654321:log-group:" + src.Name + ":*"

	var r indexRecommenderResult
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{"log_group_identifier": arn}), &r)
	if r.LogGroup != arn || len(r.Recommendations) != 1 || r.Recommendations[0].FieldName != "@tenant" || r.Recommendations[0].ScoreBreakdown.ScanVolumeScore != 1 {
		t.Fatalf("%+v", r)
	}
	wantWarnings(t, r.Warnings, "@tenant begin(s) with @: write an extra @ in the index policy (e.g. @@tenant).")
	// The probes ran against the source account's group (by ARN), not a
	// same-named group of the monitoring account.
	for _, q := range fakeaws.LogsOf(te.Fake).Queries() {
		if q.LogGroupsParam != "logGroupIdentifiers" || q.LogGroups[0] != strings.TrimSuffix(arn, ":*") {
			t.Errorf("probe %+v", q)
		}
	}
}

func TestIndexRecommendAccount(t *testing.T) {
	te, now := indexEnv(t)
	x := fakeaws.LogsIndexOf(te.Fake).SetPageSize(2)
	x.AddQueryHistory(
		fakeaws.HistoricQuery{LogGroupName: "/a/web", Language: "CWLI", CreateTime: now.Add(-1 * day), QueryString: `filter tenant = "t" | fields path`},
		fakeaws.HistoricQuery{LogGroupName: "/a/web", Language: "CWLI", CreateTime: now.Add(-7 * day), QueryString: `fields path | filter latency > 3`},
		fakeaws.HistoricQuery{LogGroupName: "/b/jobs", Language: "CWLI", CreateTime: now.Add(-2 * day), QueryString: `filter tenant = "x"`},
		fakeaws.HistoricQuery{LogGroupName: "/c/sys", Language: "CWLI", CreateTime: now.Add(-2 * day), QueryString: `fields @timestamp, @message`},
		fakeaws.HistoricQuery{Language: "CWLI", CreateTime: now.Add(-2 * day), QueryString: `filter dropped = 1`},
		fakeaws.HistoricQuery{LogGroupName: "/a/web", CreateTime: now.Add(-45 * day), QueryString: `filter ancient = 1`},
	)
	// Applies to /b only: awslabs treated every account policy as covering every group.
	x.AddAccountPolicy(fakeaws.AccountPolicy{Name: "jobs", Fields: []string{"tenant"}, Prefixes: []string{"/b/"}})

	var r accountIndexRecommenderResult
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", map[string]any{}), &r)
	if r.TotalLogGroupsAnalyzed != 3 || r.TotalQueriesAnalyzed != 4 || r.TimeRangeDays != 30 || len(r.Warnings) != 0 {
		t.Fatalf("%+v", r)
	}
	if len(r.LogGroupResults) != 2 || r.LogGroupResults[0].LogGroup != "/a/web" || r.LogGroupResults[1].LogGroup != "/b/jobs" {
		t.Fatalf("groups %+v", r.LogGroupResults)
	}
	// Hand-computed, 0.40 freq + 0.35 eq + 0.25 recency, max_count 2:
	//   tenant  1 use eq, 1 day:   .4*.5 + .35 + .25*.905743 = .776436
	//   path    2 uses, 1 day:     .4    + 0   + .25*.905743 = .626436
	//   latency 1 use non-eq, 7 d: .4*.5 + 0   + .25*.500074 = .325018
	web := r.LogGroupResults[0]
	for i, w := range []struct {
		name  string
		score float64
	}{{"tenant", 0.7764}, {"path", 0.6264}, {"latency", 0.3250}} {
		rec := web.Recommendations[i]
		if rec.FieldName != w.name || rec.Score != w.score || rec.ScoreBreakdown.ScanVolumeScore != 0 || rec.ScoreBreakdown.CardinalityScore != nil {
			t.Errorf("#%d %+v, want %+v", i, rec, w)
		}
	}
	jobs := r.LogGroupResults[1]
	if len(jobs.Recommendations) != 0 || len(jobs.AlreadyIndexed) != 1 || jobs.AlreadyIndexed[0] != (alreadyIndexedField{"tenant", 1, "ACCOUNT"}) {
		t.Errorf("jobs %+v", jobs)
	}
	if n := te.Fake.CallCount("StartQuery"); n != 0 {
		t.Errorf("the triage must not run Insights queries, ran %d", n)
	}

	// The cap warns only when history was actually left unread.
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", map[string]any{"max_queries": 3}), &r)
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "Query history was capped at 3 queries.") {
		t.Errorf("cap warning %q", r.Warnings)
	}
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", map[string]any{"max_queries": 6}), &r)
	if len(r.Warnings) != 0 {
		t.Errorf("exactly max_queries entries is not a cap: %q", r.Warnings)
	}
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", map[string]any{"max_queries": -1}), "max_queries must be 0")
}

func TestIndexRecommendAccountEarlyExitsAndErrors(t *testing.T) {
	te, _ := indexEnv(t)
	var r accountIndexRecommenderResult
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", nil), &r)
	wantWarnings(t, r.Warnings, warnNoHistoryAccount)
	if r.LogGroupResults == nil {
		t.Fatal("log_group_results must be [] not null")
	}
	te.Fake.SetFault("DescribeQueries", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "denied"})
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_account", nil), &r)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "Error fetching query history: AWS error AccessDeniedException") {
		t.Errorf("%q", r.Warnings)
	}
	// No credentials, bad region and profile_name are tool errors.
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "recommend_indexes_account", nil), toolkit.NoCredentialsMessage)
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{"log_group_identifier": "/x", "region": "mars"}), "is not an AWS region")
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{}), "log_group_identifier is required")
	mcptest.WantToolError(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "recommend_indexes_loggroup", map[string]any{"log_group_identifier": "/x", "profile_name": "admin"}), "profile_name is only honoured")
}

func TestIndexLogGroupNameOfARN(t *testing.T) {
	for in, want := range map[string]string{
		"/aws/lambda/f": "/aws/lambda/f",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*":      "/aws/lambda/f",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f":        "/aws/lambda/f",
		"arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:gov-app:*": "gov-app",
		"arn:aws:logs:us-east-1:123456789012:log-group:trailing:":            "trailing",
	} {
		if got := logGroupNameOf(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
	if got := accountPolicyScope(`LogGroupNamePrefix IN ["/a/", "/b"]`); strings.Join(got, ",") != "/a/,/b" {
		t.Errorf("scope %q", got)
	}
	if got := accountPolicyScope(`DataSourceName = "amazon_vpc" AND DataSourceType = "flow"`); got != nil {
		t.Errorf("non-prefix criteria apply everywhere, got %q", got)
	}
}
