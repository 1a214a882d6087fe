package oauthproxy

import (
	"sync"
	"time"
)

// cimdCache keeps fetched client metadata documents until their HTTP
// freshness runs out. It is bounded: when full, expired entries go first,
// then arbitrary ones (map order), so a flood of one-off client URLs
// cannot grow it.
type cimdCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cimdEntry
}

type cimdEntry struct {
	client  *clientInfo
	expires time.Time
}

func newCIMDCache(max int) *cimdCache {
	return &cimdCache{max: max, entries: map[string]cimdEntry{}}
}

func (c *cimdCache) get(url string, now time.Time) *clientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[url]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.entries, url)
		return nil
	}
	return e.client
}

func (c *cimdCache) put(url string, client *clientInfo, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[url]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[url] = cimdEntry{client: client, expires: expires}
}

func (c *cimdCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
