package cloudwatchmcp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// These tests run tail_log_group through the module's HTTP edge, as
// provisioned (with its per-call SDK timeout), against the fake's Live
// Tail: the MCP cancel, a closed connection, progress and stateless mode.

var tailGroup = fakeaws.LogGroup{Name: "/ecs/checkout", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}

func newTailServer(t *testing.T, stateless bool) (*testServer, *fakeaws.Logs) {
	t.Helper()
	ts := newTestServer(t, &Handler{Tools: []string{"logs"}, Stateless: stateless})
	l := fakeaws.LogsOf(ts.fake).SetLiveTailOptions(fakeaws.LiveTailOptions{UpdateInterval: 20 * time.Millisecond})
	l.AddLogGroup(tailGroup)
	return ts, l
}

// postTail POSTs a tools/call of tail_log_group with request id 7 and
// returns the response; ctx ends the HTTP request.
func (ts *testServer) postTail(t *testing.T, ctx context.Context, session string, args map[string]any, progressToken any) (*http.Response, error) {
	t.Helper()
	params := map[string]any{"name": "tail_log_group", "arguments": args}
	if progressToken != nil {
		params["_meta"] = map[string]any{"progressToken": progressToken}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.endpoint(), strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(testUserHeader, "alice")
	if session != "" {
		req.Header.Set(server.HeaderKeySessionID, session)
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	return ts.Client().Do(req)
}

// jsonMessages reads the JSON-RPC messages of a response, SSE or JSON,
// handing each to fn until it returns false or the body ends.
func jsonMessages(t *testing.T, resp *http.Response, fn func(map[string]any) bool) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "data: ")
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad message %q: %v", line, err)
		}
		if !fn(m) {
			return
		}
	}
}

func waitTail(t *testing.T, l *fakeaws.Logs, within time.Duration, what string, cond func([]fakeaws.LiveTailSession) bool) []fakeaws.LiveTailSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	ss, err := l.WaitLiveTail(ctx, cond)
	if err != nil {
		t.Fatalf("%s: not within %v: %+v", what, within, ss)
	}
	return ss
}

func tailOpen(ss []fakeaws.LiveTailSession) bool { return len(ss) == 1 && ss[0].Open() }

func tailClosed(ss []fakeaws.LiveTailSession) bool { return len(ss) == 1 && !ss[0].Open() }

// TestTailOverHTTPProgressThenMCPCancel: updates arrive as progress
// notifications with the new lines; notifications/cancelled ends the
// Live Tail stream within a second.
func TestTailOverHTTPProgressThenMCPCancel(t *testing.T) {
	ts, l := newTailServer(t, false)
	session := ts.rawInit(t, "alice")
	resp, err := ts.postTail(t, context.Background(), session, map[string]any{"log_group_identifiers": []any{tailGroup.ARN()}, "duration_seconds": 300}, "tok-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	waitTail(t, l, time.Minute, "a session", tailOpen)
	// The stream outlives StartLiveTail's return: the provisioned per-call
	// timeout must not apply to it.
	if err := l.AppendEvents(tailGroup.Name, fakeaws.LogEvent{Stream: "web/1", Message: "ERROR payment declined for order 42"}); err != nil {
		t.Fatal(err)
	}
	var progress string
	jsonMessages(t, resp, func(m map[string]any) bool {
		if m["method"] != "notifications/progress" {
			t.Fatalf("unexpected message before the cancel: %v", m)
		}
		p := m["params"].(map[string]any)
		if p["progressToken"] != "tok-1" || p["total"] != 300.0 {
			t.Fatalf("progress %v", p)
		}
		progress, _ = p["message"].(string)
		return !strings.Contains(progress, "payment declined")
	})
	if !strings.Contains(progress, "Live Tail: 1 new events, 1 so far\n[web/1] ERROR payment declined for order 42") {
		t.Fatalf("progress message %q", progress)
	}

	cancel := ts.rawRequest(t, http.MethodPost, "alice", session, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user stopped it"}}`)
	wantStatus(t, cancel, http.StatusAccepted)
	ss := waitTail(t, l, time.Second, "the stream closed within 1 s of notifications/cancelled", tailClosed)
	if ss[0].Owner != "alice" {
		t.Fatalf("session %+v", ss[0])
	}
}

// TestTailOverHTTPClosedConnection: a client that goes away ends the
// Live Tail stream within a second.
func TestTailOverHTTPClosedConnection(t *testing.T) {
	ts, l := newTailServer(t, false)
	session := ts.rawInit(t, "alice")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		resp, err := ts.postTail(t, ctx, session, map[string]any{"log_group_identifiers": []any{tailGroup.ARN()}, "duration_seconds": 300}, nil)
		if err == nil {
			_, err = bufio.NewReader(resp.Body).ReadString(0)
			resp.Body.Close()
		}
		errc <- err
	}()
	waitTail(t, l, time.Minute, "a session", tailOpen)
	cancel()
	waitTail(t, l, time.Second, "the stream closed within 1 s of the connection", tailClosed)
	if err := <-errc; err == nil {
		t.Fatal("the request should have been cut off")
	}
}

// TestTailOverHTTPStateless: without sessions the tool still tails and
// returns what it collected.
func TestTailOverHTTPStateless(t *testing.T) {
	ts, l := newTailServer(t, true)
	done := make(chan map[string]any, 1)
	go func() {
		resp, err := ts.postTail(t, context.Background(), "", map[string]any{"log_group_identifiers": []any{tailGroup.Name}, "max_events": 2, "duration_seconds": 300}, "tok-s")
		if err != nil {
			done <- map[string]any{"error": err.Error()}
			return
		}
		defer resp.Body.Close()
		var last map[string]any
		jsonMessages(t, resp, func(m map[string]any) bool {
			if m["id"] != nil {
				last = m
				return false
			}
			return true
		})
		done <- last
	}()
	waitTail(t, l, time.Minute, "a session", tailOpen)
	for i := range 2 {
		if err := l.AppendEvents(tailGroup.Name, fakeaws.LogEvent{Message: fmt.Sprintf("line %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	m := <-done
	res, _ := m["result"].(map[string]any)
	sc, _ := res["structuredContent"].(map[string]any)
	events, _ := sc["events"].([]any)
	if res == nil || res["isError"] == true || len(events) != 2 || sc["end_reason"] != "max_events_reached" {
		t.Fatalf("response %v", m)
	}
	waitTail(t, l, time.Second, "the stream closed", tailClosed)
	if c := ts.fake.Calls("StartLiveTail"); len(c) != 1 || c[0].Owner != "alice" || c[0].AccessKeyID != ts.creds["alice"].AccessKeyID {
		t.Fatalf("calls %+v", c)
	}
}
