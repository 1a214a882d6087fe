package cloudwatchmcp

import (
	"context"
	"net/http"
	"net/http/httptest"
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
