package keylimit

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestStoreEvictsIdleAndBounds(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	// 60 per minute, burst 60: a bucket refills completely in 60s.
	s := New(rate.Limit(1), 60, 1000)
	if s.Idle() != time.Minute {
		t.Fatalf("idle = %v", s.Idle())
	}
	for i := range 500 {
		if d := s.Take(fmt.Sprint("user-", i), start); d != 0 {
			t.Fatalf("user %d limited: %v", i, d)
		}
	}
	if s.Len() != 500 {
		t.Fatalf("len %d", s.Len())
	}
	// Active users stay; the idle ones go once a full refill has passed.
	s.Take("user-7", start.Add(30*time.Second))
	s.Take("user-new", start.Add(59*time.Second))
	if s.Len() != 501 {
		t.Fatalf("evicted too early: len %d", s.Len())
	}
	s.Take("user-new", start.Add(60*time.Second))
	if s.Len() != 2 {
		t.Fatalf("after a full refill: len %d, want 2 (user-7, user-new)", s.Len())
	}
	// The cap holds with no idle entries, dropping the least recently seen.
	now := start.Add(2 * time.Minute)
	for i := range 2500 {
		s.Take(fmt.Sprint("burst-", i), now)
	}
	if s.Len() != 1000 {
		t.Fatalf("len %d over a cap of 1000", s.Len())
	}
	if _, ok := s.items["burst-2499"]; !ok {
		t.Fatal("most recent identity evicted")
	}
	if _, ok := s.items["burst-0"]; ok {
		t.Fatal("least recent identity kept")
	}
}

// An evicted bucket would have been full again anyway, so eviction never
// grants more than the limit allows.
func TestEvictionGrantsNothingExtra(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	s := New(rate.Limit(1), 10, 1000) // refills in 10s
	for range 10 {
		s.Take("a", start)
	}
	if d := s.Take("a", start); d != time.Second {
		t.Fatalf("11th: %v", d)
	}
	// 9.9s later the bucket holds 9.9 tokens; it must not be reset to 10.
	now := start.Add(9900 * time.Millisecond)
	s.Take("other", now) // sweeps
	admitted := 0
	for s.Take("a", now) == 0 {
		admitted++
	}
	if admitted != 9 {
		t.Fatalf("%d admitted after 9.9s, want 9", admitted)
	}
}

func BenchmarkTake(b *testing.B) {
	s := New(rate.Limit(1000), 1000, 100000)
	now := time.Now()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("https://issuer\x00user-", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Take(keys[i%len(keys)], now)
			i++
		}
	})
}
