package logs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// virtualClock is a clock that only moves when something sleeps on it, so
// waits cost no wall time and their lengths can be asserted.
type virtualClock struct {
	base   time.Time
	offset atomic.Int64
}

func (c *virtualClock) now() time.Time { return c.base.Add(time.Duration(c.offset.Load())) }

func (c *virtualClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.offset.Add(int64(d))
	return nil
}

// startTrace records the StartQuery slots the pacer grants, per gate key.
type startTrace struct {
	mu    sync.Mutex
	slots map[string][]time.Time
}

func (s *startTrace) record(key string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil {
		s.slots = map[string][]time.Time{}
	}
	s.slots[key] = append(s.slots[key], t)
}

func (s *startTrace) get(key string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]time.Time(nil), s.slots[key]...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

type batchTestEnv struct {
	*mcptest.Env
	clock *virtualClock
	trace *startTrace
	pacer *batchPacer
	user  aws.Credentials
}

// newBatchEnv: env, fake and pacer all on one virtual clock; the caller's
// keys outlive any virtual time a test can burn. Pacing waits return at
// once without moving the clock (concurrent waits would otherwise add up),
// which leaves the limiter's granted slots, the thing under test, intact.
func newBatchEnv(t *testing.T) *batchTestEnv {
	t.Helper()
	te := mcptest.NewEnv(t)
	vc := &virtualClock{base: time.Now().UTC().Truncate(time.Second)}
	te.Env.Now, te.Env.Sleep = vc.now, vc.sleep
	te.Fake.SetClock(vc.now)
	tr := &startTrace{}
	p := batchPacerFor(te.Env)
	p.mu.Lock()
	p.now, p.trace = vc.now, tr.record
	p.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	p.mu.Unlock()
	user := te.Fake.IssueCredentials("alice", vc.base.Add(1000*time.Hour))
	return &batchTestEnv{Env: te, clock: vc, trace: tr, pacer: p, user: user}
}

func seedGroups(f *fakeaws.Fake, region string, n int) []string {
	names := make([]string, n)
	groups := make([]fakeaws.LogGroup, n)
	for i := range names {
		names[i] = fmt.Sprintf("/svc/g%03d", i)
		groups[i] = fakeaws.LogGroup{Name: names[i], Region: region}
	}
	fakeaws.LogsOf(f).AddLogGroup(groups...)
	return names
}

func (be *batchTestEnv) batch(t *testing.T, args map[string]any) batchResult {
	t.Helper()
	if _, ok := args["start_time"]; !ok {
		args["start_time"] = "2026-01-01T00:00:00Z"
		args["end_time"] = "2026-01-01T08:00:00Z"
	}
	var r batchResult
	mcptest.DecodeResult(t, be.CallTool(t, mcptest.UserCtx(be.user), "execute_cwl_insights_batch", args), &r)
	return r
}

func TestBatchChunking120GroupsThreeRegions(t *testing.T) {
	be := newBatchEnv(t)
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	var names []string
	for _, r := range regions {
		names = seedGroups(be.Fake, r, 120)
	}
	fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
		fakeaws.Row("@timestamp", "2026-01-01 01:00:00.000", "@message", "a"),
		fakeaws.Row("@timestamp", "2026-01-01 02:00:00.000", "@message", "b"),
	}})
	r := be.batch(t, map[string]any{"log_group_names": names, "regions": regions, "query_string": "fields @timestamp, @message | limit 5", "account_label": "prod-123456789012"})

	s := r.Summary
	if s.TotalLogGroups != 120 || s.TotalRegions != 3 || s.TotalChunks != 9 || s.SuccessfulChunks != 9 ||
		s.RetriedChunks != 0 || s.ReChunked != 0 || s.FailedChunks != 0 || s.TotalRecordsReturned != 18 || len(s.Warnings) != 0 {
		t.Fatalf("summary %+v", s)
	}
	perRegion := map[string][]int{}
	for _, q := range fakeaws.LogsOf(be.Fake).Queries() {
		if q.LogGroupsParam != "logGroupNames" || q.Owner != "alice" {
			t.Errorf("query %+v", q)
		}
		perRegion[q.Region] = append(perRegion[q.Region], len(q.LogGroups))
	}
	for _, reg := range regions {
		sizes := perRegion[reg]
		sort.Ints(sizes)
		if fmt.Sprint(sizes) != "[20 50 50]" {
			t.Errorf("%s chunk sizes %v", reg, sizes)
		}
	}
	byRegion := map[string]int{}
	for _, row := range r.Results {
		byRegion[row["_region"].(string)]++
		if lg := row["_logGroups"]; lg != "50 log groups" && lg != "20 log groups" {
			t.Errorf("_logGroups %v", lg)
		}
		if row["_account"] != "prod-123456789012" || row["@message"] == nil {
			t.Errorf("row %v", row)
		}
	}
	for _, reg := range regions {
		if byRegion[reg] != 6 {
			t.Errorf("%s rows %d", reg, byRegion[reg])
		}
		// StartQuery paced per region: never closer than 0.7 s on the clock.
		slots := be.trace.get("key:" + be.user.AccessKeyID + "|" + reg)
		if len(slots) != 3 {
			t.Fatalf("%s: %d StartQuery slots", reg, len(slots))
		}
		for i := 1; i < len(slots); i++ {
			if gap := slots[i].Sub(slots[i-1]); gap < batchStartInterval {
				t.Errorf("%s: StartQuery %d only %v after the previous one", reg, i, gap)
			}
		}
	}
}

func TestBatchPacerSpacingOnFrozenClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newBatchPacer(8)
	var slept atomic.Int64
	p.now = func() time.Time { return t0 }
	p.sleep = func(ctx context.Context, d time.Duration) error { slept.Add(int64(d)); return ctx.Err() }
	tr := &startTrace{}
	p.trace = tr.record
	e := &toolkit.Env{}
	ga, relA := p.acquire("key:A|us-east-1")
	gb, relB := p.acquire("key:B|us-east-1")
	defer relA()
	defer relB()

	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.waitStart(context.Background(), e, "key:A|us-east-1", ga) }()
	}
	wg.Wait()
	// Another identity in the same region is not queued behind A's ten.
	if err := p.waitStart(context.Background(), e, "key:B|us-east-1", gb); err != nil {
		t.Fatal(err)
	}
	a := tr.get("key:A|us-east-1")
	for i, s := range a {
		if want := t0.Add(time.Duration(i) * batchStartInterval); !s.Equal(want) {
			t.Errorf("A slot %d at %v, want %v", i, s.Sub(t0), want.Sub(t0))
		}
	}
	if b := tr.get("key:B|us-east-1"); len(b) != 1 || !b[0].Equal(t0) {
		t.Errorf("B waited behind A: %v", b)
	}
	// 0.7+1.4+...+6.3 s of waiting, all on the injected clock.
	if got := time.Duration(slept.Load()); got != 45*batchStartInterval {
		t.Errorf("slept %v", got)
	}
	slept.Store(0)
	// A cancelled wait hands its slot back.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.waitStart(ctx, e, "key:A|us-east-1", ga); err == nil {
		t.Fatal("cancelled wait succeeded")
	}
	_ = p.waitStart(context.Background(), e, "key:A|us-east-1", ga)
	if a := tr.get("key:A|us-east-1"); !a[10].Equal(t0.Add(10 * batchStartInterval)) {
		t.Errorf("slot after a cancelled wait at %v", a[10].Sub(t0))
	}
}

func TestBatchPacerBoundedAndConcurrencySlots(t *testing.T) {
	p := newBatchPacer(2)
	g0, rel0 := p.acquire("k0")
	for i := 1; i <= 5; i++ {
		_, rel := p.acquire(fmt.Sprintf("k%d", i))
		rel()
		rel() // idempotent
	}
	if n := p.size(); n != 2 {
		t.Fatalf("pacer keeps %d gates, cap 2", n)
	}
	// The gate in use survived eviction and is shared by the next caller.
	if g, rel := p.acquire("k0"); g != g0 {
		t.Fatal("in-use gate was evicted")
	} else {
		rel()
	}
	rel0()
	for range batchConcurrencyPerRegion {
		g0.slots <- struct{}{}
	}
	select {
	case g0.slots <- struct{}{}:
		t.Fatalf("an 8th concurrent query got a slot")
	default:
	}
}

func TestBatchPacingSharedPerIdentityNotAcrossIdentities(t *testing.T) {
	be := newBatchEnv(t)
	t0 := be.clock.now()
	// Freeze the pacer's clock so every granted slot is exactly computable.
	be.pacer.mu.Lock()
	be.pacer.now = func() time.Time { return t0 }
	be.pacer.mu.Unlock()
	names := seedGroups(be.Fake, "us-east-1", 560) // 12 chunks
	fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("@message", "m")}})
	bob := be.Fake.IssueCredentials("bob", t0.Add(1000*time.Hour))
	args := func(groups []string) map[string]any {
		return map[string]any{"log_group_names": groups, "regions": []string{"us-east-1"}, "query_string": "fields @message | limit 1",
			"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"}
	}
	aliceKey := "key:" + be.user.AccessKeyID + "|us-east-1"
	bobKey := "key:" + bob.AccessKeyID + "|us-east-1"

	first := be.batch(t, args(names))
	if first.Summary.SuccessfulChunks != 12 {
		t.Fatalf("first %+v", first.Summary)
	}
	var r batchResult
	mcptest.DecodeResult(t, be.CallTool(t, mcptest.UserCtx(bob), "execute_cwl_insights_batch", args(names[:1])), &r)
	be.batch(t, args(names[:1]))

	a := be.trace.get(aliceKey)
	if len(a) != 13 || !a[11].Equal(t0.Add(11*batchStartInterval)) {
		t.Fatalf("alice slots %v", a)
	}
	// Alice's second call queues behind her first (shared pacing)...
	if !a[12].Equal(t0.Add(12 * batchStartInterval)) {
		t.Errorf("alice's second batch started at %v, want after her first", a[12].Sub(t0))
	}
	// ...but bob, another identity in the same region, does not.
	if b := be.trace.get(bobKey); len(b) != 1 || !b[0].Equal(t0) {
		t.Errorf("bob's batch waited behind alice's: %v", b)
	}
	if r.Summary.SuccessfulChunks != 1 || len(r.Results) != 1 || r.Results[0]["_logGroups"] != names[0] {
		t.Errorf("bob %+v", r)
	}
	owners := map[string]int{}
	for _, q := range fakeaws.LogsOf(be.Fake).Queries() {
		owners[q.Owner]++
	}
	if owners["alice"] != 13 || owners["bob"] != 1 {
		t.Errorf("queries per signer %v", owners)
	}
}

func TestBatchRetry(t *testing.T) {
	cases := []struct {
		name                string
		fault               fakeaws.Fault
		starts              int
		ok, retried, failed int
		warning             string
	}{
		{"transient then success", fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1}, 2, 1, 1, 0, ""},
		{"transient twice", fakeaws.Fault{Status: 503, Code: "ServiceUnavailableException", Message: "try later"}, 2, 0, 1, 1, "after 2 retries"},
		{"not retryable", fakeaws.Fault{Status: 400, Code: "AccessDeniedException", Message: "denied"}, 1, 0, 0, 1, "with AccessDeniedException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be := newBatchEnv(t)
			names := seedGroups(be.Fake, "us-east-1", 1)
			be.Fake.SetFault("StartQuery", tc.fault)
			before := be.clock.now()
			r := be.batch(t, map[string]any{"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": "fields @message"})
			s := r.Summary
			if be.Fake.CallCount("StartQuery") != tc.starts || s.SuccessfulChunks != tc.ok || s.RetriedChunks != tc.retried || s.FailedChunks != tc.failed {
				t.Fatalf("starts %d summary %+v", be.Fake.CallCount("StartQuery"), s)
			}
			if tc.warning != "" && (len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], tc.warning) || !strings.Contains(s.Warnings[0], "['/svc/g000']")) {
				t.Errorf("warnings %q", s.Warnings)
			}
			if tc.retried > 0 && be.clock.now().Sub(before) < batchRetryBackoff {
				t.Errorf("no backoff before the retry")
			}
		})
	}
	t.Run("failed status is not retried", func(t *testing.T) {
		be := newBatchEnv(t)
		names := seedGroups(be.Fake, "us-east-1", 1)
		fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Status: "Failed"})
		s := be.batch(t, map[string]any{"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": "fields x"}).Summary
		if be.Fake.CallCount("StartQuery") != 1 || s.FailedChunks != 1 || !strings.Contains(s.Warnings[0], "likely query error") {
			t.Errorf("%+v", s)
		}
	})
}

// splitResolver answers every query with one row naming its time range and
// recordsMatched = perHour × hours; status Timeout where timeoutAbove says.
func splitResolver(perHour float64, timeoutAbove time.Duration) func(fakeaws.StartedQuery) (fakeaws.QueryResult, bool) {
	return func(q fakeaws.StartedQuery) (fakeaws.QueryResult, bool) {
		span := q.End.Sub(q.Start)
		if timeoutAbove > 0 && span > timeoutAbove {
			return fakeaws.QueryResult{Status: "Timeout"}, true
		}
		return fakeaws.QueryResult{
			Rows:  [][]fakeaws.ResultField{fakeaws.Row("range", q.Start.Format("15:04")+"-"+q.End.Format("15:04"))},
			Stats: &fakeaws.QueryStats{RecordsMatched: perHour * span.Hours(), RecordsScanned: 1e6},
		}, true
	}
}

func TestBatchRecursiveSplit(t *testing.T) {
	run := func(t *testing.T, resolver func(fakeaws.StartedQuery) (fakeaws.QueryResult, bool), query string) (*batchTestEnv, batchSummary, []map[string]any) {
		be := newBatchEnv(t)
		names := seedGroups(be.Fake, "us-east-1", 2)
		fakeaws.LogsOf(be.Fake).SetQueryResolver(resolver)
		r := be.batch(t, map[string]any{"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": query})
		return be, r.Summary, r.Results
	}

	t.Run("output limit halves until under 10k", func(t *testing.T) {
		// 8 h at 5000/h: 8h and 4h and 2h (10000) split, 1 h pieces fit.
		be, s, rows := run(t, splitResolver(5000, 0), "fields @message")
		if s.ReChunked != 7 || s.SuccessfulChunks != 8 || s.FailedChunks != 0 || s.TotalChunks != 1 || len(rows) != 8 {
			t.Fatalf("%+v", s)
		}
		if be.Fake.CallCount("StartQuery") != 15 {
			t.Errorf("StartQuery %d", be.Fake.CallCount("StartQuery"))
		}
		var got []string
		for _, r := range rows {
			got = append(got, r["range"].(string))
			if r["_logGroups"] != "2 log groups" || r["_region"] != "us-east-1" {
				t.Errorf("row %v", r)
			}
		}
		if strings.Join(got, " ") != "00:00-01:00 01:00-02:00 02:00-03:00 03:00-04:00 04:00-05:00 05:00-06:00 06:00-07:00 07:00-08:00" {
			t.Errorf("halves out of order or not covering the range: %v", got)
		}
		if !strings.Contains(s.Warnings[0], "hit output record limit; splitting time range into halves") {
			t.Errorf("%q", s.Warnings)
		}
	})
	t.Run("depth cap", func(t *testing.T) {
		be, s, rows := run(t, splitResolver(1e6, 0), "fields @message")
		if s.ReChunked != 15 || s.SuccessfulChunks != 16 || len(rows) != 16 || be.Fake.CallCount("StartQuery") != 31 {
			t.Fatalf("%+v", s)
		}
		if n := strings.Count(strings.Join(s.Warnings, "\n"), "max re-chunk depth (4) reached; returning partial results"); n != 16 {
			t.Errorf("%d depth warnings", n)
		}
	})
	t.Run("timeout splits", func(t *testing.T) {
		_, s, rows := run(t, splitResolver(1, 2*time.Hour), "fields @message")
		if s.ReChunked != 3 || s.SuccessfulChunks != 4 || len(rows) != 4 || !strings.Contains(s.Warnings[0], "hit timeout") {
			t.Fatalf("%+v", s)
		}
	})
	for _, q := range []string{"fields @message | limit 100", "filter level = \"ERROR\" | stats count(*) by bin(1h)", "fields x | LIMIT 9999"} {
		t.Run("no split when output is capped: "+q, func(t *testing.T) {
			be, s, rows := run(t, splitResolver(1e6, 0), q)
			if s.ReChunked != 0 || s.SuccessfulChunks != 1 || len(rows) != 1 || be.Fake.CallCount("StartQuery") != 1 {
				t.Errorf("%+v", s)
			}
		})
	}
	t.Run("limit parameter also caps", func(t *testing.T) {
		be := newBatchEnv(t)
		names := seedGroups(be.Fake, "us-east-1", 1)
		fakeaws.LogsOf(be.Fake).SetQueryResolver(splitResolver(1e6, 0))
		r := be.batch(t, map[string]any{"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": "fields @message", "limit": 50})
		if r.Summary.ReChunked != 0 || fakeaws.LogsOf(be.Fake).Queries()[0].Limit != 50 {
			t.Errorf("%+v", r.Summary)
		}
	})
}

func TestBatchPollingTimeoutStopsAndSplits(t *testing.T) {
	be := newBatchEnv(t)
	names := seedGroups(be.Fake, "us-east-1", 1)
	logs := fakeaws.LogsOf(be.Fake)
	// Queries over more than 4 h never finish within max_timeout.
	logs.SetQueryResolver(func(q fakeaws.StartedQuery) (fakeaws.QueryResult, bool) {
		if q.End.Sub(q.Start) > 4*time.Hour {
			return fakeaws.QueryResult{Plan: &fakeaws.QueryPlan{Polls: 1 << 30}}, true
		}
		return fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("n", "1")}}, true
	})
	r := be.batch(t, map[string]any{"log_group_names": names, "regions": []string{"us-east-1"}, "query_string": "fields n", "max_timeout": 30})
	if r.Summary.ReChunked != 1 || r.Summary.SuccessfulChunks != 2 || len(r.Results) != 2 {
		t.Fatalf("%+v", r.Summary)
	}
	if q := logs.Queries()[0]; !q.Stopped {
		t.Errorf("the timed-out query was left running: %+v", q)
	}
}

func TestBatchCancellationStopsQueriesInFlight(t *testing.T) {
	be := newBatchEnv(t)
	names := seedGroups(be.Fake, "us-east-1", 120) // 3 chunks
	logs := fakeaws.LogsOf(be.Fake).SetQueryPlan(fakeaws.QueryPlan{Polls: 1 << 30})
	// Poll waits block until the client goes away.
	var sleeping atomic.Int32
	be.Env.Sleep = func(ctx context.Context, _ time.Duration) error {
		sleeping.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}

	ctx, cancel := context.WithCancel(mcptest.UserCtx(be.user))
	done := make(chan *mcp.CallToolResult)
	go func() {
		done <- be.CallTool(t, ctx, "execute_cwl_insights_batch", map[string]any{"log_group_names": names, "regions": []string{"us-east-1"},
			"query_string": "fields @message", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"})
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		// All three started and waiting for their first poll.
		qs := logs.Queries()
		if len(qs) == 3 && sleeping.Load() == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queries never got in flight: %+v", qs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	res := <-done
	mcptest.WantToolError(t, res, "cancelled")
	for _, q := range logs.Queries() {
		if !q.Stopped {
			t.Errorf("query %s still running after cancellation", q.ID)
		}
	}
	stops := be.Fake.Calls("StopQuery")
	if len(stops) != 3 {
		t.Fatalf("StopQuery called %d times", len(stops))
	}
	for _, c := range stops {
		if c.Owner != "alice" {
			t.Errorf("StopQuery not signed by the caller: %+v", c)
		}
	}
}

func TestBatchARNsAsIdentifiers(t *testing.T) {
	be := newBatchEnv(t)
	const src = "210987654321"
	fakeaws.LogsOf(be.Fake).AddLogGroup(
		fakeaws.LogGroup{Name: "/aws/lambda/ledger", AccountID: src},
		fakeaws.LogGroup{Name: "/aws/lambda/billing", AccountID: src},
	)
	fakeaws.LogsOf(be.Fake).SetQueryResults("", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("m", "x")}})
	arns := []string{
		"arn:aws:logs:us-east-1:" + src + ":log-group:/aws/lambda/ledger:*",
		"arn:aws:logs:us-east-1:" + src + ":log-group:/aws/lambda/billing",
		"arn:aws:logs:ap-south-1:" + src + ":log-group:/aws/lambda/ledger",
	}
	r := be.batch(t, map[string]any{"log_group_names": arns, "regions": []string{"us-east-1", "eu-west-1"}, "query_string": "fields m"})
	if r.Summary.TotalChunks != 1 || r.Summary.SuccessfulChunks != 1 || r.Summary.FailedChunks != 0 || r.Summary.TotalLogGroups != 3 {
		t.Fatalf("%+v", r.Summary)
	}
	if len(r.Summary.Warnings) != 1 || !strings.Contains(r.Summary.Warnings[0], "Skipped 1 log group ARN(s) whose region is not in regions") {
		t.Errorf("%q", r.Summary.Warnings)
	}
	q := fakeaws.LogsOf(be.Fake).Queries()[0]
	if q.LogGroupsParam != "logGroupIdentifiers" || q.LogGroups[0] != strings.TrimSuffix(arns[0], ":*") || len(q.LogGroups) != 2 {
		t.Errorf("query %+v", q)
	}
	if row := r.Results[0]; row["_account"] != src || row["_logGroups"] != "2 log groups" {
		t.Errorf("row %v", row)
	}
}

func TestBatchValidation(t *testing.T) {
	be := newBatchEnv(t)
	base := func() map[string]any {
		return map[string]any{"log_group_names": []any{"/a"}, "regions": []any{"us-east-1"}, "query_string": "fields x",
			"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z"}
	}
	for _, tc := range []struct {
		key  string
		val  any
		want string
	}{
		{"log_group_names", []any{}, "log_group_names cannot be empty"},
		{"regions", []any{}, "regions cannot be empty"},
		{"regions", []any{"moon-1"}, "is not an AWS region"},
		{"start_time", "yesterday", "Invalid ISO 8601 timestamp 'yesterday'"},
		{"start_time", "2026-01-01T02:00:00Z", "start_time must be before end_time"},
		{"max_timeout", 0, "max_timeout must be positive"},
		{"limit", -5, "limit must be positive"},
		{"query_string", "", "query_string is required"},
		{"profile_name", "admin", "profile_name is only honoured"},
	} {
		args := base()
		args[tc.key] = tc.val
		mcptest.WantToolError(t, be.CallTool(t, mcptest.UserCtx(be.user), "execute_cwl_insights_batch", args), tc.want)
	}
	mcptest.WantToolError(t, be.CallTool(t, mcptest.UserCtx(aws.Credentials{}), "execute_cwl_insights_batch", base()), toolkit.NoCredentialsMessage)
	// JSON-encoded lists are accepted, as FastMCP does.
	args := base()
	args["log_group_names"], args["regions"] = `["/a"]`, `["us-east-1"]`
	fakeaws.LogsOf(be.Fake).AddLogGroup(fakeaws.LogGroup{Name: "/a"})
	var r batchResult
	mcptest.DecodeResult(t, be.CallTool(t, mcptest.UserCtx(be.user), "execute_cwl_insights_batch", args), &r)
	if r.Summary.SuccessfulChunks != 1 || r.Results == nil {
		t.Errorf("%+v", r)
	}
}
