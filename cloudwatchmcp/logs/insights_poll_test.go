package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestInsightsScheduleNext(t *testing.T) {
	s := defaultInsightsSchedule
	for elapsed, want := range map[time.Duration]time.Duration{
		0:                       150 * time.Millisecond,
		time.Second:             150 * time.Millisecond,
		1600 * time.Millisecond: 200 * time.Millisecond,
		2 * time.Second:         250 * time.Millisecond,
		4 * time.Second:         500 * time.Millisecond,
		20 * time.Second:        time.Second,
	} {
		if got := s.next(elapsed); got != want {
			t.Errorf("next(%v) = %v, want %v", elapsed, got, want)
		}
	}
	if got := (insightsSchedule{}).next(0); got != defaultInsightsSchedule.Initial {
		t.Errorf("zero schedule: %v", got)
	}
}

// The wait polls fast while a query is young, so a query that completes
// within its first 2 s is seen within 250 ms. After that it watches the
// shared list of running queries every 250 ms (insights_watch.go), so a
// long query is seen within 250 ms too while its own GetQueryResults is
// asked only every 5 s. Without the watch (no DescribeQueries permission),
// it backs off to 1 s: about one call per second (awslabs: always 1 s).
func TestInsightsAdaptivePolling(t *testing.T) {
	for _, c := range []struct {
		runFor             time.Duration
		watch              bool
		maxLag, maxPolls   int // lag in ms between completion and the poll that saw it
		maxDescribeQueries int
	}{
		{300 * time.Millisecond, true, 150, 3, 0},
		{1900 * time.Millisecond, true, 250, 13, 0},
		{3 * time.Second, true, 250, 15, 4},
		// The fake keeps a query Scheduled for its first fifth (12 s here);
		// a Scheduled query is not in the running list, so it is polled on
		// the backing-off schedule until it runs: 13 + 10 + 12 / 5 s + 1.
		{60 * time.Second, true, 250, 40, 233},
		{3 * time.Second, false, 375, 17, 0},
		{60 * time.Second, false, 1000, 80, 0},
	} {
		t.Run(fmt.Sprintf("%v watch %v", c.runFor, c.watch), func(t *testing.T) {
			te := mcptest.NewEnv(t)
			if !c.watch {
				stateOf(te.Env).watch = nil
			}
			clk := withInsightsClock(te)
			d := runCompleteQuery(t, te, c.runFor)
			q, _ := fakeaws.LogsOf(te.Fake).Query(d.QueryID)
			lag := q.ReportedDoneAt.Sub(q.CompleteAt)
			if lag < 0 || lag > time.Duration(c.maxLag)*time.Millisecond || q.Polls > c.maxPolls {
				t.Fatalf("completion seen %v late after %d polls (want ≤ %dms, ≤ %d polls)", lag, q.Polls, c.maxLag, c.maxPolls)
			}
			dq := len(te.Fake.Calls("DescribeQueries"))
			if dq > c.maxDescribeQueries {
				t.Fatalf("%d DescribeQueries calls, want ≤ %d", dq, c.maxDescribeQueries)
			}
			assertOwner(t, te, "DescribeQueries", dq)
			t.Logf("seen %v after completion, %d polls, %d DescribeQueries", lag, q.Polls, dq)
			gaps := clk.gaps()
			if gaps[0] != 150*time.Millisecond {
				t.Fatalf("first gap %v", gaps[0])
			}
			var elapsed time.Duration
			for i, g := range gaps {
				if g > time.Second || (i > 0 && g < gaps[i-1]) || (elapsed < 2*time.Second && g > 250*time.Millisecond) {
					t.Fatalf("gap %d after %v is %v (gaps %v)", i, elapsed, g, gaps)
				}
				elapsed += g
			}
		})
	}
}

// runCompleteQuery runs execute_log_insights_query as alice on a query the
// fake completes after runFor, and requires it to complete.
func runCompleteQuery(t *testing.T, te *mcptest.Env, runFor time.Duration) insightsDictView {
	t.Helper()
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: runFor})
	res := te.CallTool(t, mcptest.UserCtx(te.Alice), "execute_log_insights_query", map[string]any{
		"log_group_names": []any{lambdaGroup.Name}, "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z",
		"query_string": "fields @message | limit 5", "max_timeout": 120,
	})
	d := insightsDict(t, res)
	if d.Status != "Complete" {
		t.Fatalf("status %s", d.Status)
	}
	return d
}

// startHourLongQuery starts, as alice, a query the fake runs for an hour.
func startHourLongQuery(t *testing.T, te *mcptest.Env) (*cloudwatchlogs.Client, string) {
	t.Helper()
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Duration: time.Hour})
	cl, err := te.LogsClient(mcptest.UserCtx(te.Alice), "", "")
	if err != nil {
		t.Fatal(err)
	}
	q, err := cl.StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{QueryString: aws.String("fields @message"), StartTime: aws.Int64(1), EndTime: aws.Int64(2), LogGroupNames: []string{lambdaGroup.Name}})
	if err != nil {
		t.Fatal(err)
	}
	return cl, aws.ToString(q.QueryId)
}

func TestInsightsWaitStopOnTimeout(t *testing.T) {
	te := mcptest.NewEnv(t)
	clk := withInsightsClock(te)
	cl, id := startHourLongQuery(t, te)
	ctx := context.Background()
	var seen []int
	out, err := waitInsightsQuery(ctx, te.Env, cl, id, insightsWait{
		Timeout: 10 * time.Second, StopOnTimeout: true,
		Schedule: insightsSchedule{Initial: time.Second, Max: 4 * time.Second, Fraction: 0.5},
		OnPoll:   func(_ *cloudwatchlogs.GetQueryResultsOutput, _ time.Duration, polls int) { seen = append(seen, polls) },
	})
	if err != nil || !out.TimedOut || out.Timeout != 10*time.Second {
		t.Fatalf("outcome %+v %v", out, err)
	}
	// Custom schedule: 1, 1, 1, 1.5 (elapsed 3 s), 2.25, then cut to the deadline.
	if got := fmt.Sprint(clk.gaps()); got != "[1s 1s 1s 1.5s 2.25s 3.25s]" {
		t.Fatalf("gaps %s", got)
	}
	if len(seen) != out.Polls-1 {
		t.Fatalf("OnPoll saw %v of %d polls", seen, out.Polls)
	}
	assertOwner(t, te, "StopQuery", 1)
	if sq, _ := fakeaws.LogsOf(te.Fake).Query(id); !sq.Stopped {
		t.Fatal("query still running after a stopping timeout")
	}
}

// progressSession is a minimal initialized MCP client session that keeps
// the notifications the server sends.
type progressSession struct{ ch chan mcp.JSONRPCNotification }

func (s *progressSession) Initialize()                                         {}
func (s *progressSession) Initialized() bool                                   { return true }
func (s *progressSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return s.ch }
func (s *progressSession) SessionID() string                                   { return "progress-test" }

func TestInsightsProgressNotifications(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup).SetQueryPlan(fakeaws.QueryPlan{Polls: 4})
	srv := server.NewMCPServer("test", "0", server.WithToolCapabilities(false))
	tools, err := te.Tools([]string{"logs"})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddTools(tools...)
	call := func(meta string) ([]mcp.JSONRPCNotification, string) {
		sess := &progressSession{ch: make(chan mcp.JSONRPCNotification, 64)}
		msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_log_insights_query",` + meta +
			`"arguments":{"log_group_names":["` + lambdaGroup.Name + `"],"start_time":"2025-01-01T00:00:00Z","end_time":"2025-01-01T01:00:00Z","query_string":"fields @message"}}}`
		resp := srv.HandleMessage(srv.WithContext(mcptest.UserCtx(te.Alice), sess), json.RawMessage(msg))
		b, _ := json.Marshal(resp)
		close(sess.ch)
		var ns []mcp.JSONRPCNotification
		for n := range sess.ch {
			ns = append(ns, n)
		}
		return ns, string(b)
	}
	ns, resp := call(`"_meta":{"progressToken":"tok-7"},`)
	if !strings.Contains(resp, `\"status\":\"Complete\"`) {
		t.Fatalf("response %s", resp)
	}
	var progress []float64
	for _, n := range ns {
		if n.Method != "notifications/progress" {
			continue
		}
		p := n.Params.AdditionalFields
		if p["progressToken"] != "tok-7" || p["total"] != 30.0 || !strings.Contains(fmt.Sprint(p["message"]), "Logs Insights query") {
			t.Fatalf("progress params %v", p)
		}
		progress = append(progress, p["progress"].(float64))
	}
	// Three unfinished polls plus the completion.
	if len(progress) != 4 {
		t.Fatalf("progress notifications %v (all: %+v)", progress, ns)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Fatalf("progress must increase: %v", progress)
		}
	}
	if ns, _ := call(""); len(ns) != 0 {
		for _, n := range ns {
			if n.Method == "notifications/progress" {
				t.Fatalf("progress sent without a progressToken: %+v", n)
			}
		}
	}
}
