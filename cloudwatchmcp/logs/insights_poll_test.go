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
		Timeout: 5500 * time.Millisecond, StopOnTimeout: true,
		OnPoll: func(_ *cloudwatchlogs.GetQueryResultsOutput, _ time.Duration, polls int) { seen = append(seen, polls) },
	})
	if err != nil || !out.TimedOut || out.Timeout != 5500*time.Millisecond {
		t.Fatalf("outcome %+v %v", out, err)
	}
	// The plan: 0.4, 0.8, 1.6, 2.4, 3.4, 4.4, 5.4 s, then the deadline.
	if got := fmt.Sprint(clk.gaps()); got != "[400ms 400ms 800ms 800ms 1s 1s 1s 100ms]" {
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
