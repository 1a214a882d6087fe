package sessionstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

func newStore(t *testing.T, srv *redistest.Server, secret byte) *Store {
	t.Helper()
	c, release, err := redisclient.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	s, err := New(c, bytes.Repeat([]byte{secret}, SecretSize), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistryOwnerBindingAndEnd(t *testing.T) {
	srv := redistest.New(t)
	a, b := newStore(t, srv, 1), newStore(t, srv, 1) // two instances, one secret
	ctx := context.Background()
	alice, bob := a.Owner("iss\x00alice"), a.Owner("iss\x00bob")
	if alice != b.Owner("iss\x00alice") || alice == bob {
		t.Fatal("owner hashes must agree across instances and differ across identities")
	}
	if err := a.Create(ctx, "sid-1", alice, Record{ProtocolVersion: "2025-06-18", Client: `{"clientInfo":{"name":"c"}}`}); err != nil {
		t.Fatal(err)
	}
	st, rec, err := b.Use(ctx, "sid-1", alice, true)
	if err != nil || st != OK || rec.ProtocolVersion != "2025-06-18" || !strings.Contains(rec.Client, `"c"`) {
		t.Fatalf("use on b: %v %+v %v", st, rec, err)
	}
	if st, _, _ := b.Use(ctx, "sid-1", bob, true); st != Foreign {
		t.Fatalf("bob: %v, want Foreign", st)
	}
	if st, _ := b.End(ctx, "sid-1", bob); st != Foreign {
		t.Fatalf("bob's DELETE: %v, want Foreign", st)
	}
	if err := b.SetLogLevel(ctx, "sid-1", "debug"); err != nil {
		t.Fatal(err)
	}
	if _, rec, _ := a.Use(ctx, "sid-1", alice, false); rec.LogLevel != "debug" {
		t.Fatalf("log level %q", rec.LogLevel)
	}
	if st, err := b.End(ctx, "sid-1", alice); st != OK || err != nil {
		t.Fatalf("end: %v %v", st, err)
	}
	if st, _, _ := a.Use(ctx, "sid-1", alice, true); st != Unknown {
		t.Fatalf("after end: %v", st)
	}
	if d := srv.Dump(t); len(d) != 0 {
		t.Fatalf("left behind: %v", d.Keys())
	}
}

func TestPerOwnerCapEvictsOldest(t *testing.T) {
	srv := redistest.New(t)
	s := newStore(t, srv, 2)
	s.MaxPerOwner = 3
	ctx := context.Background()
	alice := s.Owner("alice")
	for i := range 5 {
		if err := s.Create(ctx, fmt.Sprint("sid-", i), alice, Record{}); err != nil {
			t.Fatal(err)
		}
	}
	live := 0
	for i := range 5 {
		if st, _, _ := s.Use(ctx, fmt.Sprint("sid-", i), alice, false); st == OK {
			live++
		}
	}
	if live != 3 {
		t.Fatalf("%d live sessions, want 3", live)
	}
	if st, _, _ := s.Use(ctx, "sid-4", alice, false); st != OK {
		t.Fatal("the newest session was evicted")
	}
}

func TestEventsReplaySealedAndCapped(t *testing.T) {
	const rawID = "raw-session-id-aGVsbG8"
	srv := redistest.New(t)
	a, b := newStore(t, srv, 3), newStore(t, srv, 3)
	a.MaxEventBytes = 400
	ctx := context.Background()
	owner := a.Owner("alice")
	if _, err := a.StoreEvent(ctx, rawID, "s1", []byte(`{}`)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("event of no session: %v", err)
	}
	if err := a.Create(ctx, rawID, owner, Record{}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 8 {
		id, err := a.StoreEvent(ctx, rawID, "s1", []byte(fmt.Sprintf(`{"secret-result":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if _, err := a.StoreEvent(ctx, rawID, "s2", []byte(`{"other":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	stream, err := b.ReplayEventsAfter(ctx, rawID, ids[5], func(id string, m json.RawMessage) error {
		got = append(got, id+" "+string(m))
		return nil
	})
	if err != nil || stream != "s1" {
		t.Fatalf("replay: %q %v", stream, err)
	}
	want := []string{ids[6] + ` {"secret-result":6}`, ids[7] + ` {"secret-result":7}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}
	// The byte cap dropped the oldest events.
	if _, err := b.ReplayEventsAfter(ctx, rawID, ids[0], func(string, json.RawMessage) error { return nil }); !errors.Is(err, server.ErrUnknownEventID) {
		t.Fatalf("trimmed event: %v", err)
	}
	for _, bad := range []string{"x", "1-2\n", ""} {
		if _, err := b.ReplayEventsAfter(ctx, rawID, bad, nil); !errors.Is(err, server.ErrUnknownEventID) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	// Another cluster's secret cannot open them.
	other := newStore(t, srv, 4)
	if _, err := other.ReplayEventsAfter(ctx, rawID, ids[5], func(string, json.RawMessage) error { return nil }); err == nil {
		t.Fatal("opened with another secret")
	}
	text := string(srv.Dump(t).Text())
	if strings.Contains(text, "secret-result") || strings.Contains(text, rawID) {
		t.Fatalf("plaintext in Redis:\n%s", text)
	}
	if st, _ := a.End(ctx, rawID, ""); st != OK {
		t.Fatal("end")
	}
	if d := srv.Dump(t); len(d) != 0 {
		t.Fatalf("left behind: %v", d.Keys())
	}
}
