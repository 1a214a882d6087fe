package cognitoauth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// defaultCacheSize bounds the verified-token cache when cache_size is unset.
const defaultCacheSize = 10000

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

// tokenKey is the SHA-256 of a token: the cache never holds tokens, so a
// heap dump of it cannot be replayed.
type tokenKey [sha256.Size]byte

func hashToken(tok string) tokenKey {
	// Hashing the string's bytes in place saves copying every token; the
	// hash only reads them.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
}

type cacheEntry struct {
	key  tokenKey
	id   *Identity
	exp  time.Time
	used time.Time // last lookup, for cache_idle
}

// tokenCache is a small LRU of verified identities, split into shards
// (see shardSizes), each an LRU of its own. An entry is never served at or
// after its token's exp, whatever the leeway.
type tokenCache struct {
	shards []tokenShard
}

type tokenShard struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front = most recently used
	items map[tokenKey]*list.Element
	_     [64]byte // keeps neighbouring shards' locks off one cache line
}

func newTokenCache(max int) *tokenCache {
	sizes := shardSizes(max)
	c := &tokenCache{shards: make([]tokenShard, len(sizes))}
	for i, n := range sizes {
		c.shards[i] = tokenShard{max: n, ll: list.New(), items: make(map[tokenKey]*list.Element)}
	}
	return c
}

// shard picks by the key's first byte: keys are SHA-256, so uniform.
func (c *tokenCache) shard(k tokenKey) *tokenShard {
	return &c.shards[int(k[0])%len(c.shards)]
}

func (c *tokenCache) get(k tokenKey, now time.Time) *Identity {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[k]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.exp) {
		s.ll.Remove(el)
		delete(s.items, k)
		return nil
	}
	e.used = now
	s.ll.MoveToFront(el)
	return e.id
}

func (c *tokenCache) put(k tokenKey, id *Identity, now time.Time) {
	if !now.Before(id.ExpiresAt) {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[k]; ok {
		el.Value = &cacheEntry{key: k, id: id, exp: id.ExpiresAt, used: now}
		s.ll.MoveToFront(el)
		return
	}
	s.items[k] = s.ll.PushFront(&cacheEntry{key: k, id: id, exp: id.ExpiresAt, used: now})
	for s.ll.Len() > s.max {
		last := s.ll.Back()
		s.ll.Remove(last)
		delete(s.items, last.Value.(*cacheEntry).key)
	}
}

// forgetIdle drops entries last used before cutoff.
func (c *tokenCache) forgetIdle(cutoff time.Time) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.items = dropIdle(s.ll, s.items, cutoff, func(v any) (tokenKey, time.Time) {
			e := v.(*cacheEntry)
			return e.key, e.used
		})
		s.mu.Unlock()
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.ll.Len()
		s.mu.Unlock()
	}
	return n
}
