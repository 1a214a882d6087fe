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

// tokenKey is the SHA-256 of a token: the cache never holds tokens, so a
// heap dump of it cannot be replayed.
type tokenKey [sha256.Size]byte

func hashToken(tok string) tokenKey {
	// Hashing the string's bytes in place saves copying every token; the
	// hash only reads them.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))
}

type cacheEntry struct {
	key tokenKey
	id  *Identity
	exp time.Time
}

// tokenCache is a small LRU of verified identities. An entry is never
// served at or after its token's exp, whatever the leeway.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front = most recently used
	items map[tokenKey]*list.Element
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, ll: list.New(), items: make(map[tokenKey]*list.Element)}
}

func (c *tokenCache) get(k tokenKey, now time.Time) *Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.exp) {
		c.ll.Remove(el)
		delete(c.items, k)
		return nil
	}
	c.ll.MoveToFront(el)
	return e.id
}

func (c *tokenCache) put(k tokenKey, id *Identity, now time.Time) {
	if !now.Before(id.ExpiresAt) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value = &cacheEntry{key: k, id: id, exp: id.ExpiresAt}
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, id: id, exp: id.ExpiresAt})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
