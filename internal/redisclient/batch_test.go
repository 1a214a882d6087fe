package redisclient

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	n     int
	done  bool
	batch int // size of the flush that carried it
}

// Every item is flushed exactly once, by one flush at a time, at most max
// per flush; callers arriving during a flush share the next one.
func TestBatcherFlushesEveryItemOnceAndCoalesces(t *testing.T) {
	var running, overlaps, flushes atomic.Int32
	var mu sync.Mutex
	sizes := map[int]int{}
	b := NewBatcher(8, func(items []*item) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		flushes.Add(1)
		time.Sleep(2 * time.Millisecond) // a round trip
		for _, it := range items {
			if it.done {
				t.Errorf("item %d flushed twice", it.n)
			}
			it.done, it.batch = true, len(items)
		}
		mu.Lock()
		sizes[len(items)]++
		mu.Unlock()
		running.Add(-1)
	})

	// Alone: flushed at once, in a batch of one.
	solo := &item{}
	b.Do(solo)
	if !solo.done || solo.batch != 1 {
		t.Fatalf("solo item %+v", solo)
	}

	items := make([]*item, 200)
	var wg sync.WaitGroup
	for i := range items {
		items[i] = &item{n: i}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Do(items[i])
			if !items[i].done {
				t.Errorf("Do(%d) returned before its item was flushed", i)
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping flushes", overlaps.Load())
	}
	for size := range sizes {
		if size > 8 {
			t.Fatalf("a flush of %d items, max 8", size)
		}
	}
	// 200 callers against 2 ms flushes: far fewer flushes than items.
	if n := flushes.Load(); n > 100 {
		t.Fatalf("%d flushes for 201 items: callers did not share flushes (sizes %v)", n, sizes)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy || len(b.queue) != 0 {
		t.Fatalf("batcher left busy=%v with %d queued", b.busy, len(b.queue))
	}
}
