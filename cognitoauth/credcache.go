package cognitoauth

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultCredentialsCacheSize bounds the vended-credentials cache when
// credentials_cache_size is unset: one entry per identity (and role).
const defaultCredentialsCacheSize = 10000

// credCache holds vended credentials per identity key (issuer, sub, mode,
// role; never the token). It is an LRU bounded by max, and it lets at most
// one exchange per key run at a time: concurrent first requests of one user
// all wait for the same exchange.
type credCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front = most recently used
	items map[string]*list.Element

	flights singleflight.Group
}

type credEntry struct {
	key   string
	creds *Credentials
}

func newCredCache(max int) *credCache {
	return &credCache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

// get returns the cached credentials of key. fresh is false when they are
// missing, expired (then they are dropped and nil is returned) or within
// refreshBefore of expiry (then they are returned, still usable, so a
// failed renewal can fall back on them).
func (c *credCache) get(key string, now time.Time, refreshBefore time.Duration) (creds *Credentials, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*credEntry)
	if !now.Before(e.creds.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e.creds, now.Before(e.creds.expires.Add(-refreshBefore))
}

func (c *credCache) put(key string, creds *Credentials) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*credEntry).creds = creds
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&credEntry{key: key, creds: creds})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*credEntry).key)
	}
}

func (c *credCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
}

func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// exchangeFunc performs one upstream exchange; prev holds the credentials
// being renewed, if any (modes reuse e.g. the identity ID from them).
type exchangeFunc func(ctx context.Context, prev *Credentials) (*Credentials, error)

// errExchangeWait is returned when the request gave up waiting for an
// exchange (its context ended first).
var errExchangeWait = errors.New("request ended while waiting for the AWS credential exchange")

// fetch returns credentials for key from the cache, or runs exchange once
// for all concurrent callers of the same key.
//
// The exchange runs under base (the module's lifetime) with timeout, not
// under the request context: one impatient client must not fail the
// exchange that other requests of the same user are waiting for. Each
// caller still waits no longer than its own context allows.
//
// When renewal fails for a transient reason, credentials that have not yet
// expired are handed out instead; when AWS refuses (permanent is true for
// the error), they are dropped, because the user's access has been revoked.
func (c *credCache) fetch(reqCtx, base context.Context, key string, now func() time.Time, refreshBefore, timeout time.Duration,
	exchange exchangeFunc, permanent func(error) bool) (*Credentials, error) {
	cur, fresh := c.get(key, now(), refreshBefore)
	if fresh {
		return cur, nil
	}
	ch := c.flights.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		creds, err := exchange(ctx, cur)
		if err != nil {
			if permanent(err) {
				c.remove(key)
			}
			return nil, err
		}
		if !now().Before(creds.expires) {
			return nil, errors.New("AWS returned credentials that have already expired")
		}
		c.put(key, creds)
		return creds, nil
	})
	usable := func() bool { return cur != nil && now().Before(cur.expires) }
	select {
	case res := <-ch:
		if res.Err != nil {
			if !permanent(res.Err) && usable() {
				return cur, nil
			}
			return nil, res.Err
		}
		return res.Val.(*Credentials), nil
	case <-reqCtx.Done():
		if usable() {
			return cur, nil
		}
		return nil, errors.Join(errExchangeWait, reqCtx.Err())
	}
}
