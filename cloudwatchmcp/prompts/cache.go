package prompts

import (
	"container/list"
	"sync"
	"time"
)

// completionCache keeps what AWS returned for one completion request (per
// credentials identity, region, source and prefix) for a short time, so a
// person typing a prefix costs a few AWS requests, not one per keystroke.
// It is bounded: the least recently used entries go first.
type completionCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	ll    *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key      string
	values   []string
	complete bool // AWS returned everything matching the prefix (no next page)
	at       time.Time
}

func newCompletionCache(ttl time.Duration, max int, now func() time.Time) *completionCache {
	return &completionCache{ttl: ttl, max: max, now: now, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the fresh entry under key.
func (c *completionCache) get(key string) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if c.now().Sub(e.at) >= c.ttl {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e, true
}

// put stores an answer, evicting the least recently used beyond max.
func (c *completionCache) put(key string, values []string, complete bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{key: key, values: values, complete: complete, at: c.now()}
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

// len reports how many entries are held.
func (c *completionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
