// Package keylimit is a bounded set of token buckets, one per key
// (golang.org/x/time/rate): cognito_auth's per-identity rate_limit and
// the OAuth proxy's per-client-address limit both keep theirs in one.
//
// Keys live in an LRU list. An entry idle long enough for its bucket to
// refill completely is dropped (it would start full anyway, so dropping
// it grants nothing extra), and at most max entries are kept, least
// recently seen dropped first, so memory stays bounded however many keys
// callers invent. Idle entries are swept on every call: there is no
// background goroutine to stop.
package keylimit

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Store holds the buckets. It is safe for concurrent use, and implements
// caddy.Destructor so it can live in a caddy.UsagePool across reloads.
type Store struct {
	limit rate.Limit
	burst int
	max   int
	// idle is how long a bucket takes to refill completely: an entry idle
	// that long is indistinguishable from a new one, so dropping it loses
	// nothing.
	idle time.Duration

	mu    sync.Mutex
	ll    *list.List // front = most recently used
	items map[string]*list.Element
}

type entry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a store whose buckets hold burst tokens and refill at limit
// per second, tracking at most max keys.
func New(limit rate.Limit, burst, max int) *Store {
	idle := time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	return &Store{limit: limit, burst: burst, max: max, idle: idle,
		ll: list.New(), items: make(map[string]*list.Element)}
}

// Take spends one token of key's bucket at now. It returns 0 when the
// request is admitted, else how long until it would be (and spends
// nothing).
func (s *Store) Take(key string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	var e *entry
	if el, ok := s.items[key]; ok {
		e = el.Value.(*entry)
		s.ll.MoveToFront(el)
	} else {
		e = &entry{key: key, lim: rate.NewLimiter(s.limit, s.burst)}
		s.items[key] = s.ll.PushFront(e)
		for s.ll.Len() > s.max {
			s.remove(s.ll.Back())
		}
	}
	if now.After(e.last) {
		e.last = now
	}
	res := e.lim.ReserveN(now, 1)
	if !res.OK() {
		return s.idle
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops entries that have been idle for a full refill.
func (s *Store) sweep(now time.Time) {
	for el := s.ll.Back(); el != nil; el = s.ll.Back() {
		if now.Sub(el.Value.(*entry).last) < s.idle {
			return
		}
		s.remove(el)
	}
}

func (s *Store) remove(el *list.Element) {
	s.ll.Remove(el)
	delete(s.items, el.Value.(*entry).key)
}

// Len is how many keys are tracked.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len()
}

// Idle is how long a bucket takes to refill completely, after which an
// idle key is forgotten.
func (s *Store) Idle() time.Duration { return s.idle }

// Destruct frees the buckets once no config uses the store.
func (s *Store) Destruct() error {
	s.mu.Lock()
	s.ll.Init()
	s.items = map[string]*list.Element{}
	s.mu.Unlock()
	return nil
}
