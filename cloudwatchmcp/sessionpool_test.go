package cloudwatchmcp

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"go.uber.org/zap"
)

// TestSessionsSurviveReload replays Caddy's reload order against one
// listener: the new config is provisioned, then the old one cleaned up.
// The client keeps its session ID and its replayable events through a
// reload that leaves the handler's configuration alone, and the session
// stays bound to its owner; a changed configuration starts afresh, and the
// last config to go ends every session.
func TestSessionsSurviveReload(t *testing.T) {
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	creds := map[string]aws.Credentials{"alice": f.IssueCredentials("alice", time.Now().Add(time.Hour))}
	var cur atomic.Pointer[Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveLikeCaddy(cur.Load(), creds, w, r)
	}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, fake: f, creds: creds}
	reload := func(next *Handler) *Handler {
		old := cur.Swap(provisionTestHandler(t, next, f))
		if old != nil {
			if err := old.Cleanup(); err != nil {
				t.Fatal(err)
			}
		}
		return cur.Load()
	}
	reload(&Handler{})
	active := activeSessionsGauge(t)

	c := ts.newClient(t, "alice")
	if res := callMCP(t, c, "test_notify", map[string]any{"count": 2}); res.IsError {
		t.Fatalf("before the reload: %v", res.Content)
	}
	for gen := range 3 {
		h := reload(&Handler{}) // same configuration
		if res := callMCP(t, c, "test_whoami", map[string]any{}); res.IsError {
			t.Fatalf("after reload %d: %v", gen+1, res.Content)
		}
		// The old transport's shutdown must not purge what a live session
		// may still replay.
		if n := eventStoreOf(t, h).sessionCount(); n != 1 {
			t.Fatalf("after reload %d: %d sessions with recorded events, want 1", gen+1, n)
		}
	}
	session := c.GetSessionId()
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "bob", session, toolsListBody), http.StatusForbidden)
	if got := active(); got != 1 {
		t.Fatalf("sessions_active %v after reloads, want 1", got)
	}

	// Another configuration is another session table.
	h := cur.Load()
	reload(&Handler{MaxResultBytes: 4096})
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, toolsListBody), http.StatusNotFound)
	if got := active(); got != 0 {
		t.Fatalf("sessions_active %v after the configuration changed, want 0", got)
	}
	if n := eventStoreOf(t, h).sessionCount(); n != 0 {
		t.Fatalf("the retired table kept events of %d sessions", n)
	}
	last := cur.Load()
	ts.rawInit(t, "alice")
	if err := last.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if got := active(); got != 0 {
		t.Fatalf("sessions_active %v after the last config went, want 0", got)
	}
	if n := last.sessions.len(); n != 0 {
		t.Fatalf("the last config left %d sessions", n)
	}
}

// activeSessionsGauge reads caddy_cloudwatch_mcp_sessions_active relative
// to now.
func activeSessionsGauge(t *testing.T) func() float64 {
	t.Helper()
	reg := testRegistry(t)
	const gauge = `caddy_cloudwatch_mcp_sessions_active{}`
	start := scrape(t, reg)[gauge]
	return func() float64 { return scrape(t, reg)[gauge] - start }
}

// Two handlers with one configuration in one server keep separate
// sessions; a reload gives each its own table back.
func TestSessionTablePerHandler(t *testing.T) {
	load := func() (*Handler, *Handler, func()) {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		a := &Handler{Tools: []string{testToolGroup}, logger: zap.NewNop(), auditLogger: zap.NewNop()}
		b := &Handler{Tools: []string{testToolGroup}, logger: zap.NewNop(), auditLogger: zap.NewNop()}
		for _, h := range []*Handler{a, b} {
			if err := h.Provision(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return a, b, func() { _ = a.Cleanup(); _ = b.Cleanup(); cancel() }
	}
	a1, b1, unload1 := load()
	if a1.sessions == b1.sessions {
		t.Fatal("two handlers share one session table")
	}
	a2, b2, unload2 := load()
	defer unload2()
	unload1()
	if a2.sessions != a1.sessions || b2.sessions != b1.sessions {
		t.Fatal("a reload did not hand each handler its table back")
	}
}

// A client resumes an SSE stream of the old config on the new one: the
// events after its Last-Event-ID are replayed.
func TestStreamResumesAcrossReload(t *testing.T) {
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	creds := map[string]aws.Credentials{"alice": f.IssueCredentials("alice", time.Now().Add(time.Hour))}
	var cur atomic.Pointer[Handler]
	cur.Store(provisionTestHandler(t, &Handler{}, f))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveLikeCaddy(cur.Load(), creds, w, r)
	}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, fake: f, creds: creds}
	session := ts.rawInit(t, "alice")

	// The call's answer streams as SSE: two notifications, then the result.
	resp := ts.rawRequest(t, http.MethodPost, "alice", session,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"test_notify","arguments":{"count":2}}}`)
	events := readSSE(t, resp.Body, func([]sseEvent) bool { return false })
	resp.Body.Close()
	if len(events) != 3 || events[0].id == "" || !strings.Contains(events[2].data, "sent 2") {
		t.Fatalf("stream before the reload: %+v", events)
	}

	old := cur.Swap(provisionTestHandler(t, &Handler{}, f))
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	resume := ts.rawRequest(t, http.MethodGet, "alice", session, "", "Last-Event-ID", events[0].id)
	defer resume.Body.Close()
	if resume.StatusCode != http.StatusOK {
		t.Fatalf("resume: %d", resume.StatusCode)
	}
	replayed := readSSE(t, resume.Body, func(got []sseEvent) bool { return len(got) == 2 })
	if replayed[0].data != events[1].data || replayed[1].data != events[2].data {
		t.Fatalf("replayed %+v, want the two events after %s: %+v", replayed, events[0].id, events[1:])
	}
}

type sseEvent struct{ id, data string }

// readSSE reads events from an SSE body until done says so, the body ends,
// or 5 s pass.
func readSSE(t *testing.T, body io.Reader, done func([]sseEvent) bool) []sseEvent {
	t.Helper()
	ch := make(chan []sseEvent, 1)
	go func() {
		var got []sseEvent
		var ev sseEvent
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.data != "":
				got = append(got, ev)
				ev = sseEvent{}
				if done(got) {
					ch <- got
					return
				}
			}
		}
		ch <- got
	}()
	select {
	case got := <-ch:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("SSE stream stalled")
		return nil
	}
}
