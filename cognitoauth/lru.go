package cognitoauth

import (
	"container/list"
	"sync"
	"time"
)

// Caches with at least shardMinSize entries are split into cacheShards
// independent shards, so requests of different users do not queue on one
// lock (internal/bench P7); smaller ones keep a single shard and exact
// eviction order.
const (
	cacheShards  = 16
	shardMinSize = 1024
)

// shardSizes splits a bound over the shards; their sum is max.
func shardSizes(max int) []int {
	n := 1
	if max >= shardMinSize {
		n = cacheShards
	}
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = max / n
		if i < max%n {
			sizes[i]++
		}
	}
	return sizes
}

// expiringLRU is what the verified-token and credentials caches share: a
// bounded LRU split into shards (shardSizes), whose entries are never
// served at or after their expiry and can be dropped when idle
// (cache_idle).
type expiringLRU[K comparable, V any] struct {
	shards []lruShard[K, V]
	hash   func(K) uint64 // picks the shard
}

type lruShard[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // of *lruEntry, most recently used first
	items map[K]*list.Element
	_     [64]byte // keeps neighbouring shards' locks off one cache line
}

type lruEntry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
	used    time.Time // last lookup, for cache_idle
}

func newExpiringLRU[K comparable, V any](max int, hash func(K) uint64) *expiringLRU[K, V] {
	sizes := shardSizes(max)
	c := &expiringLRU[K, V]{shards: make([]lruShard[K, V], len(sizes)), hash: hash}
	for i, n := range sizes {
		c.shards[i] = lruShard[K, V]{max: n, ll: list.New(), items: make(map[K]*list.Element)}
	}
	return c
}

func (c *expiringLRU[K, V]) shard(k K) *lruShard[K, V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[c.hash(k)%uint64(len(c.shards))]
}

// get returns k's value and expiry, and marks it used; an expired entry
// is dropped instead.
func (c *expiringLRU[K, V]) get(k K, now time.Time) (v V, expires time.Time, ok bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[k]
	if !ok {
		return v, expires, false
	}
	e := el.Value.(*lruEntry[K, V])
	if !now.Before(e.expires) {
		s.ll.Remove(el)
		delete(s.items, k)
		return v, expires, false
	}
	e.used = now
	s.ll.MoveToFront(el)
	return e.val, e.expires, true
}

// put stores v under k until expires, evicting the least recently used
// entry of the shard when it is full.
func (c *expiringLRU[K, V]) put(k K, v V, expires, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[k]; ok {
		e := el.Value.(*lruEntry[K, V])
		e.val, e.expires, e.used = v, expires, now
		s.ll.MoveToFront(el)
		return
	}
	s.items[k] = s.ll.PushFront(&lruEntry[K, V]{key: k, val: v, expires: expires, used: now})
	for s.ll.Len() > s.max {
		last := s.ll.Back()
		s.ll.Remove(last)
		delete(s.items, last.Value.(*lruEntry[K, V]).key)
	}
}

func (c *expiringLRU[K, V]) remove(k K) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[k]; ok {
		s.ll.Remove(el)
		delete(s.items, k)
	}
}

// forgetIdle drops the entries last used before cutoff. Each list is in
// last-use order, so they are all at the back. A map that lost most of its
// entries is rebuilt: Go maps never give back their buckets.
func (c *expiringLRU[K, V]) forgetIdle(cutoff time.Time) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n := 0
		for el := s.ll.Back(); el != nil && el.Value.(*lruEntry[K, V]).used.Before(cutoff); el = s.ll.Back() {
			s.ll.Remove(el)
			delete(s.items, el.Value.(*lruEntry[K, V]).key)
			n++
		}
		if n > 64 && n > 2*len(s.items) {
			s.items = compact(s.items)
		}
		s.mu.Unlock()
	}
}

func (c *expiringLRU[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.ll.Len()
		s.mu.Unlock()
	}
	return n
}

// compact copies m into a map sized for what it holds (maps.Clone would
// copy the buckets too).
func compact[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
