package redisclient

import "sync"

// Batcher hands the items of concurrent callers to one flush: one caller
// at a time (the leader) flushes every item queued so far; items that
// arrive meanwhile wait for the next flush, run by the first of their
// callers. An idle Batcher flushes an item at once, alone, so it adds no
// wait; a busy one turns N round trips into one: one write and one read
// system call on each end instead of N, and, for a script, one run
// instead of N. There is no goroutine to stop.
//
// flush must give every item its result (T is usually a pointer to a
// struct with result fields) and must not call Do.
type Batcher[T any] struct {
	flush func([]T)
	max   int

	mu    sync.Mutex
	queue []*slot[T]
	busy  bool // a leader is flushing
}

type slot[T any] struct {
	item T
	// turn receives false when the item was flushed, true when its caller
	// must lead the next flush (the item is then still queued).
	turn chan bool
}

// NewBatcher returns a Batcher that flushes at most max items at a time.
func NewBatcher[T any](max int, flush func([]T)) *Batcher[T] {
	return &Batcher[T]{flush: flush, max: max}
}

// Do returns once item has been flushed, alone or with the items of
// concurrent callers.
func (b *Batcher[T]) Do(item T) {
	s := &slot[T]{item: item, turn: make(chan bool, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, s)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead || <-s.turn {
		b.lead()
	}
}

// lead flushes the queue's head (the leader's own item first), wakes
// its callers and passes the lead to the first caller still queued.
func (b *Batcher[T]) lead() {
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := make([]*slot[T], n)
	copy(batch, b.queue)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.mu.Unlock()

	items := make([]T, n)
	for i, s := range batch {
		items[i] = s.item
	}
	b.flush(items)

	b.mu.Lock()
	var next *slot[T]
	if len(b.queue) > 0 {
		next = b.queue[0]
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	for _, s := range batch[1:] { // batch[0] is the leader's own
		s.turn <- false
	}
	if next != nil {
		next.turn <- true
	}
}
