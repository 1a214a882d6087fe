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

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

type tailOut struct {
	SessionID           string   `json:"session_id"`
	LogGroupIdentifiers []string `json:"log_group_identifiers"`
	EndReason           string   `json:"end_reason"`
	Message             *string  `json:"message"`
	Updates             int      `json:"updates"`
	SampledUpdates      int      `json:"sampled_updates"`
	EventsReceived      int      `json:"events_received"`
	Events              []struct {
		Timestamp          string `json:"timestamp"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		Message            string `json:"message"`
	} `json:"events"`
}

// tailEnv is an Env whose fake sends Live Tail updates every 20 ms.
func tailEnv(t *testing.T) (*mcptest.Env, *fakeaws.Logs) {
	te := mcptest.NewEnv(t)
	return te, fakeaws.LogsOf(te.Fake).SetLiveTailOptions(fakeaws.LiveTailOptions{UpdateInterval: 20 * time.Millisecond})
}

// waitSessions waits (up to a minute, which only ends a hung test) until
// cond holds for the fake's Live Tail sessions.
func waitSessions(t *testing.T, l *fakeaws.Logs, within time.Duration, what string, cond func([]fakeaws.LiveTailSession) bool) []fakeaws.LiveTailSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	ss, err := l.WaitLiveTail(ctx, cond)
	if err != nil {
		t.Fatalf("%s: not within %v: %+v", what, within, ss)
	}
	return ss
}

func openSessions(n int) func([]fakeaws.LiveTailSession) bool {
	return func(ss []fakeaws.LiveTailSession) bool {
		open := 0
		for _, s := range ss {
			if s.Open() {
				open++
			}
		}
		return open == n
	}
}

func allClosed(ss []fakeaws.LiveTailSession) bool {
	for _, s := range ss {
		if s.Open() {
			return false
		}
	}
	return len(ss) > 0
}

// callAsync runs a tool call in the background.
func callAsync(t *testing.T, te *mcptest.Env, ctx context.Context, tool string, args map[string]any) <-chan *mcp.CallToolResult {
	h := te.ToolHandler(t, tool)
	ch := make(chan *mcp.CallToolResult, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = tool, args
		res, err := h(ctx, req)
		if err != nil {
			res = mcp.NewToolResultError("protocol error: " + err.Error())
		}
		ch <- res
	}()
	return ch
}

func TestTailLogGroupCollectsNewEvents(t *testing.T) {
	te, l := tailEnv(t)
	l.AddLogGroup(eventsGroup)
	if err := l.AppendEvents(eventsGroup.Name, fakeaws.LogEvent{Message: "ERROR before the tail"}); err != nil {
		t.Fatal(err)
	}
	done := callAsync(t, te, mcptest.UserCtx(te.Alice), "tail_log_group", map[string]any{
		"log_group_identifiers": []any{eventsGroup.Name}, "filter_pattern": "ERROR", "max_events": 2, "duration_seconds": 300,
	})
	ss := waitSessions(t, l, time.Minute, "a session", openSessions(1))
	if ss[0].Owner != "alice" || ss[0].AccessKeyID != te.Alice.AccessKeyID || ss[0].LogGroups[0] != eventsGroup.ARN() || ss[0].FilterPattern != "ERROR" {
		t.Fatalf("session %+v", ss[0])
	}
	if err := l.AppendEvents(eventsGroup.Name,
		fakeaws.LogEvent{Stream: "web/1", Message: "INFO fine"},
		fakeaws.LogEvent{Stream: "web/1", Message: "ERROR one"},
		fakeaws.LogEvent{Stream: "web/2", Message: "ERROR two"},
	); err != nil {
		t.Fatal(err)
	}
	var out tailOut
	mcptest.DecodeResult(t, <-done, &out)
	if out.EndReason != "max_events_reached" || len(out.Events) != 2 || out.Events[0].Message != "ERROR one" || out.Events[1].LogStreamName != "web/2" ||
		out.Events[0].LogGroupIdentifier != eventsGroup.ARN() || out.EventsReceived != 2 || out.SessionID != ss[0].ID || out.Updates < 1 {
		t.Fatalf("result %+v", out)
	}
	// The stream is closed as soon as the tool is done.
	waitSessions(t, l, time.Second, "the stream closed", allClosed)
	assertOwner(t, te, "StartLiveTail", 1)
	assertOwner(t, te, "DescribeLogGroups", 1) // the name's ARN
}

// TestTailLogGroupCancelClosesTheStream: a cancelled call (MCP cancel or a
// closed connection both cancel its context) ends the AWS stream at once.
func TestTailLogGroupCancelClosesTheStream(t *testing.T) {
	te, l := tailEnv(t)
	l.AddLogGroup(eventsGroup)
	ctx, cancel := context.WithCancel(mcptest.UserCtx(te.Alice))
	defer cancel()
	done := callAsync(t, te, ctx, "tail_log_group", map[string]any{"log_group_identifiers": []any{eventsGroup.ARN()}, "duration_seconds": 300})
	waitSessions(t, l, time.Minute, "a session", openSessions(1))
	cancel()
	ss := waitSessions(t, l, time.Second, "the stream closed within 1 s of the cancel", allClosed)
	if r := ss[0].EndReason; r != "client closed" && r != "write failed" {
		t.Fatalf("ended %+v", ss[0])
	}
	mcptest.WantToolError(t, <-done, "the request was cancelled")
}

func TestTailLogGroupDurationAndAWSEnd(t *testing.T) {
	te, l := tailEnv(t)
	l.AddLogGroup(eventsGroup)
	ctx := mcptest.UserCtx(te.Alice)
	var out tailOut
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "tail_log_group", map[string]any{"log_group_identifiers": []any{eventsGroup.ARN()}, "duration_seconds": 1}), &out)
	if out.EndReason != "duration_elapsed" || len(out.Events) != 0 || out.Message != nil {
		t.Fatalf("%+v", out)
	}
	waitSessions(t, l, time.Second, "the stream closed", allClosed)

	done := callAsync(t, te, ctx, "tail_log_group", map[string]any{"log_group_identifiers": []any{eventsGroup.ARN()}, "duration_seconds": 300})
	waitSessions(t, l, time.Minute, "a second session", openSessions(1))
	l.FailLiveTails("internal streaming error")
	mcptest.DecodeResult(t, <-done, &out)
	if out.EndReason != "ended_by_aws" || out.Message == nil || !strings.Contains(*out.Message, "internal streaming error") {
		t.Fatalf("%+v", out)
	}
}

func TestTailLogGroupErrors(t *testing.T) {
	te, l := tailEnv(t)
	g := eventsGroup
	g.Readers = []string{"bob"}
	l.AddLogGroup(g)
	ctx := mcptest.UserCtx(te.Alice)
	res := te.CallTool(t, ctx, "tail_log_group", map[string]any{"log_group_identifiers": []any{g.ARN()}})
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: User: alice is not authorized to perform: logs:StartLiveTail")
	mcptest.WantToolError(t, res, "ask for it to be granted")
	assertOwner(t, te, "StartLiveTail", 1)
	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = g.ARN()
	}
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"log_group_identifiers": []any{"/nope"}}, `no log group named "/nope"`},
		{map[string]any{}, "must name 1 to 10 log groups, got 0"},
		{map[string]any{"log_group_identifiers": eleven}, "got 11"},
		{map[string]any{"log_group_identifiers": []any{g.ARN()}, "duration_seconds": 0}, "duration_seconds must be at least 1"},
		{map[string]any{"log_group_identifiers": []any{g.ARN()}, "max_events": 0}, "max_events must be between 1 and 10000"},
		{map[string]any{"log_group_identifiers": []any{g.ARN(), g.ARN() + "2"}, "log_stream_names": []any{"a"}}, "exactly one log group"},
		{map[string]any{"log_group_identifiers": []any{g.ARN()}, "filter_pattern": "{ $.a = "}, "InvalidParameterException"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "tail_log_group", c.args), c.want)
	}
}

// TestTailLogGroupTwentyUsersAtOnce: twenty users tail their own log group
// at the same time; each sees only its own events, signed with its own key.
func TestTailLogGroupTwentyUsersAtOnce(t *testing.T) {
	te, l := tailEnv(t)
	const users = 20
	type user struct {
		name  string
		creds aws.Credentials
		group fakeaws.LogGroup
		done  <-chan *mcp.CallToolResult
	}
	us := make([]*user, users)
	for i := range us {
		name := fmt.Sprintf("user%02d", i)
		g := fakeaws.LogGroup{Name: "/team/" + name, Region: "us-east-1", AccountID: fakeaws.DefaultAccountID, Readers: []string{name}}
		l.AddLogGroup(g)
		us[i] = &user{name: name, creds: te.Fake.IssueCredentials(name, time.Now().Add(time.Hour)), group: g}
	}
	for _, u := range us {
		u.done = callAsync(t, te, mcptest.UserCtx(u.creds), "tail_log_group", map[string]any{
			"log_group_identifiers": []any{u.group.ARN()}, "max_events": 3, "duration_seconds": 300})
	}
	waitSessions(t, l, time.Minute, "twenty sessions", openSessions(users))
	for _, u := range us {
		for j := range 3 {
			if err := l.AppendEvents(u.group.Name, fakeaws.LogEvent{Message: fmt.Sprintf("%s line %d", u.name, j)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for _, u := range us {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out tailOut
			res := <-u.done
			if res.IsError {
				t.Errorf("%s: %s", u.name, mcptest.ResultText(t, res))
				return
			}
			if err := json.Unmarshal([]byte(mcptest.ResultText(t, res)), &out); err != nil {
				t.Errorf("%s: %v", u.name, err)
				return
			}
			if len(out.Events) != 3 {
				t.Errorf("%s got %d events: %+v", u.name, len(out.Events), out.Events)
			}
			for _, e := range out.Events {
				if !strings.HasPrefix(e.Message, u.name+" line") || e.LogGroupIdentifier != u.group.ARN() {
					t.Errorf("%s saw %+v", u.name, e)
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range waitSessions(t, l, time.Minute, "all streams closed", allClosed) {
		if "/team/"+s.Owner != s.LogGroups[0][strings.Index(s.LogGroups[0], ":log-group:")+len(":log-group:"):] {
			t.Errorf("session of %s tailed %v", s.Owner, s.LogGroups)
		}
	}
}

// TestTailLogGroupResultCap: a tail that collected more than the cap
// keeps its newest events and says how many it dropped.
func TestTailLogGroupResultCap(t *testing.T) {
	te, l := tailEnv(t)
	l.AddLogGroup(eventsGroup)
	srv := mcptest.ServedTools(t, te, 4096)
	done := make(chan mcptest.WireResult, 1)
	go func() {
		done <- mcptest.CallServed(t, srv, mcptest.UserCtx(te.Alice), "tail_log_group", map[string]any{
			"log_group_identifiers": []any{eventsGroup.ARN()}, "max_events": 100, "duration_seconds": 300})
	}()
	waitSessions(t, l, time.Minute, "a session", openSessions(1))
	batch := make([]fakeaws.LogEvent, 100)
	for i := range batch {
		batch[i] = fakeaws.LogEvent{Message: fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 100))}
	}
	if err := l.AppendEvents(eventsGroup.Name, batch...); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.IsError || len(res.StructuredContent) > 4096 {
		t.Fatalf("%v %d bytes: %.300s", res.IsError, len(res.StructuredContent), res.Text())
	}
	var out struct {
		tailOut
		Truncated struct {
			Dropped int    `json:"dropped"`
			Hint    string `json:"hint"`
		} `json:"truncated"`
	}
	if err := json.Unmarshal(res.StructuredContent, &out); err != nil {
		t.Fatal(err)
	}
	n := len(out.Events)
	if n == 0 || out.Truncated.Dropped != 100-n || out.EventsReceived != 100 || out.Events[n-1].Message[:8] != "line 099" ||
		!strings.Contains(out.Truncated.Hint, "filter_pattern") {
		t.Fatalf("kept %d, %+v", n, out.Truncated)
	}
}
