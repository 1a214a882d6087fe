package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestEventStoreTotalBudget: many sessions together stay within the global
// byte budget, the oldest events go first, and bookkeeping stays exact
// through per-session drops and purges.
func TestEventStoreTotalBudget(t *testing.T) {
	s := newEventStore(4, 1<<20)
	s.maxTotalBytes = 1000
	msg := json.RawMessage(`"` + strings.Repeat("x", 98) + `"`) // 100 bytes
	ctx := context.Background()
	var first string
	for i := range 50 {
		id, err := s.StoreEvent(ctx, fmt.Sprintf("s%d", i%7), "stream", msg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = id
		}
		if s.totalBytes > s.maxTotalBytes {
			t.Fatalf("after %d events the store holds %d bytes, budget %d", i+1, s.totalBytes, s.maxTotalBytes)
		}
	}
	sum, live := 0, 0
	for _, se := range s.sessions {
		sum += se.bytes
		live += len(se.events)
	}
	if sum != s.totalBytes || live != s.live || s.totalBytes != 1000 {
		t.Fatalf("bookkeeping off: sessions hold %d bytes/%d events, store says %d/%d", sum, live, s.totalBytes, s.live)
	}
	if _, err := s.ReplayEventsAfter(ctx, "s0", first, func(string, json.RawMessage) error { return nil }); err == nil {
		t.Fatal("the oldest event should have been evicted")
	}
	for i := range 7 {
		_ = s.PurgeSession(ctx, fmt.Sprintf("s%d", i))
	}
	if s.totalBytes != 0 || s.live != 0 {
		t.Fatalf("purged store still counts %d bytes, %d events", s.totalBytes, s.live)
	}
	if len(s.order) > 2*s.live+64 {
		t.Fatalf("order index not compacted: %d entries", len(s.order))
	}
}
