package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestSessionRegistryBindsAndExpires(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	reg := newSessionRegistry(30*time.Minute, clk.now)
	a := reg.create("alice")
	if a == reg.create("alice") {
		t.Fatal("IDs repeat")
	}
	if got := reg.use(a, "alice"); got != sessionOK {
		t.Fatalf("owner: %v", got)
	}
	if got := reg.use(a, "bob"); got != sessionForeign {
		t.Fatalf("other identity: %v", got)
	}
	if got := reg.use("nope", "alice"); got != sessionUnknown {
		t.Fatalf("unknown: %v", got)
	}
	clk.advance(29 * time.Minute)
	reg.use(a, "alice") // keeps a alive
	clk.advance(2 * time.Minute)
	if got := reg.use(a, "alice"); got != sessionOK {
		t.Fatalf("active session expired: %v", got)
	}
	// The other alice session idled 31m: pruned on the next create.
	reg.create("bob")
	if n := reg.len(); n != 2 {
		t.Fatalf("after prune %d sessions, want 2", n)
	}
	clk.advance(31 * time.Minute)
	if got := reg.use(a, "alice"); got != sessionUnknown {
		t.Fatalf("idle session: %v", got)
	}
	if got := reg.end(a, "alice", true); got != sessionUnknown {
		t.Fatalf("ending a reclaimed session: %v", got)
	}
}

func TestSessionRegistryIsBounded(t *testing.T) {
	reg := newSessionRegistry(time.Hour, nil)
	reg.maxTotal, reg.maxPerIdentity = 5, 2

	a1 := reg.create("alice")
	a2 := reg.create("alice")
	reg.use(a1, "alice") // a2 is now alice's least recently used
	a3 := reg.create("alice")
	if reg.use(a2, "alice") != sessionUnknown || reg.use(a1, "alice") != sessionOK || reg.use(a3, "alice") != sessionOK {
		t.Fatal("the per-identity cap must evict that identity's least recently used session")
	}
	for _, u := range []string{"bob", "carol", "dave", "erin"} {
		reg.create(u)
	}
	if n := reg.len(); n != 5 {
		t.Fatalf("%d sessions, cap 5", n)
	}
	if reg.use(a1, "alice") != sessionUnknown {
		t.Fatal("the global cap must evict the least recently used session")
	}
	reg.clear()
	if reg.len() != 0 || len(reg.byID) != 0 || len(reg.perIdentity) != 0 {
		t.Fatal("clear left state")
	}
	// Counters follow removals exactly (no per-identity leak).
	for range 100 {
		id := reg.create("x")
		reg.end(id, "x", true)
	}
	if len(reg.perIdentity) != 0 || len(reg.byID) != 0 {
		t.Fatalf("leaked %v %v", reg.perIdentity, reg.byID)
	}
}

func TestSystemSessionsForSweeper(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	reg := newSessionRegistry(time.Hour, clk.now)
	id := reg.create("alice")
	sys := reg.ResolveSessionIdManager(nil)
	if _, err := sys.Validate(id); err != nil {
		t.Fatal(err)
	}
	// mcp-go's sweeper does not see requests answered from the tools/list
	// cache; a session the registry saw in use is kept.
	if notAllowed, err := sys.Terminate(id); notAllowed || err != nil || reg.len() != 1 {
		t.Fatal("the sweeper ended a session in use")
	}
	clk.advance(61 * time.Minute)
	if notAllowed, err := sys.Terminate(id); notAllowed || err != nil || reg.len() != 0 {
		t.Fatal("the sweeper must be able to end an idle session")
	}
	if _, err := sys.Validate(id); err == nil {
		t.Fatal("ended session validated")
	}
	// An ID the system view makes is usable by no request identity.
	orphan := sys.Generate()
	if reg.use(orphan, "") != sessionForeign {
		t.Fatal("system-generated session usable by anonymous callers")
	}
}

func TestEventStoreBoundedAndReplays(t *testing.T) {
	s := newEventStore(3, 1<<20)
	ctx := context.Background()
	msg := func(i int) json.RawMessage { b, _ := json.Marshal(map[string]int{"n": i}); return b }
	var ids []string
	for i := range 5 {
		stream := "a"
		if i == 2 {
			stream = "b"
		}
		id, err := s.StoreEvent(ctx, "s1", stream, msg(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Only the last 3 events remain: 2 (stream b), 3, 4 (stream a).
	if _, err := s.ReplayEventsAfter(ctx, "s1", ids[0], func(string, json.RawMessage) error { return nil }); !errors.Is(err, server.ErrUnknownEventID) {
		t.Fatalf("evicted event: %v", err)
	}
	var got []string
	stream, err := s.ReplayEventsAfter(ctx, "s1", ids[3], func(id string, m json.RawMessage) error {
		got = append(got, string(m))
		return nil
	})
	if err != nil || stream != "a" || len(got) != 1 || got[0] != `{"n":4}` {
		t.Fatalf("replay after %s: %v %q %v", ids[3], got, stream, err)
	}
	if _, err := s.ReplayEventsAfter(ctx, "s2", ids[3], nil); !errors.Is(err, server.ErrUnknownEventID) {
		t.Fatal("another session's event ID must be unknown")
	}
	// Byte bound.
	small := newEventStore(100, 20)
	for i := range 10 {
		_, _ = small.StoreEvent(ctx, "s", "a", msg(i))
	}
	if n := len(small.sessions["s"].events); n != 2 || small.sessions["s"].bytes > 20 {
		t.Fatalf("byte bound: %d events, %d bytes", n, small.sessions["s"].bytes)
	}
	_ = s.PurgeSession(ctx, "s1")
	if s.sessionCount() != 0 {
		t.Fatal("purge kept events")
	}
}

// DELETE purges what the session recorded for replay.
func TestDeletePurgesRecordedEvents(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient(t, "alice")
	req := callToolRequest("test_notify", map[string]any{"count": 2})
	if _, err := c.CallTool(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	store := eventStoreOf(t, ts.h)
	if store.sessionCount() != 1 {
		t.Fatalf("recorded sessions %d, want 1", store.sessionCount())
	}
	_ = c.Close()
	if store.sessionCount() != 0 {
		t.Fatal("DELETE left recorded events behind")
	}
}

func callToolRequest(name string, args map[string]any) mcp.CallToolRequest {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return req
}

func eventStoreOf(t testing.TB, h *Handler) *eventStore {
	t.Helper()
	if h.events == nil {
		t.Fatal("no event store")
	}
	return h.events
}
