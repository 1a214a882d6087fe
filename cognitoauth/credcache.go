package cognitoauth

import (
	"container/list"
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultCredentialsCacheSize bounds the vended-credentials cache when
// credentials_cache_size is unset: one entry per identity (and role).
const defaultCredentialsCacheSize = 10000

// credKey says whose credentials these are. It never holds the token, so a
// user's new token finds the credentials vended for the previous one. A
// struct of existing strings makes a lookup allocation-free.
type credKey struct {
	issuer, subject string
	scope           string // mode and role, fixed per module
	flow            string // identity_pool: "id" or "dev" (they yield different identities)
	groups          string // identity_pool: pool rules may pick the role from cognito:groups
}

func (k credKey) String() string {
	return k.issuer + "\x00" + k.subject + "\x00" + k.scope + "\x00" + k.flow + "\x00" + k.groups
}

// credCache holds vended credentials per credKey. It is an LRU bounded by
// max, split into shards by subject (see shardSizes), and it lets at most
// one exchange per key run at a time: concurrent first requests of one
// user all wait for the same exchange.
type credCache struct {
	shards []credShard
	seed   maphash.Seed

	flights singleflight.Group
}

type credShard struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front = most recently used
	items map[credKey]*list.Element
	_     [64]byte // keeps neighbouring shards' locks off one cache line
}

type credEntry struct {
	key   credKey
	creds *Credentials
	used  time.Time // last lookup, for cache_idle
}

func newCredCache(max int) *credCache {
	sizes := shardSizes(max)
	c := &credCache{shards: make([]credShard, len(sizes)), seed: maphash.MakeSeed()}
	for i, n := range sizes {
		c.shards[i] = credShard{max: n, ll: list.New(), items: make(map[credKey]*list.Element)}
	}
	return c
}

func (c *credCache) shard(key credKey) *credShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key.subject)%uint64(len(c.shards))]
}

// get returns the cached credentials of key. fresh is false when they are
// missing, expired (then they are dropped and nil is returned) or within
// refreshBefore of expiry (then they are returned, still usable, so a
// failed renewal can fall back on them).
func (c *credCache) get(key credKey, now time.Time, refreshBefore time.Duration) (creds *Credentials, fresh bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*credEntry)
	if !now.Before(e.creds.expires) {
		s.ll.Remove(el)
		delete(s.items, key)
		return nil, false
	}
	e.used = now
	s.ll.MoveToFront(el)
	return e.creds, now.Before(e.creds.expires.Add(-refreshBefore))
}

func (c *credCache) put(key credKey, creds *Credentials, now time.Time) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		e := el.Value.(*credEntry)
		e.creds, e.used = creds, now
		s.ll.MoveToFront(el)
		return
	}
	s.items[key] = s.ll.PushFront(&credEntry{key: key, creds: creds, used: now})
	for s.ll.Len() > s.max {
		last := s.ll.Back()
		s.ll.Remove(last)
		delete(s.items, last.Value.(*credEntry).key)
	}
}

func (c *credCache) remove(key credKey) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		s.ll.Remove(el)
		delete(s.items, key)
	}
}

// forgetIdle drops entries last used before cutoff.
func (c *credCache) forgetIdle(cutoff time.Time) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.items = dropIdle(s.ll, s.items, cutoff, func(v any) (credKey, time.Time) {
			e := v.(*credEntry)
			return e.key, e.used
		})
		s.mu.Unlock()
	}
}

func (c *credCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.ll.Len()
		s.mu.Unlock()
	}
	return n
}

// exchangeFunc performs one upstream exchange; prev holds the credentials
// being renewed, if any (modes reuse e.g. the identity ID from them).
type exchangeFunc func(ctx context.Context, prev *Credentials) (*Credentials, error)

// errExchangeWait is returned when the request gave up waiting for an
// exchange (its context ended first).
var errExchangeWait = errors.New("request ended while waiting for the AWS credential exchange")

// fetch runs exchange once for all concurrent callers of the same key
// and caches the result. cur is what get returned for key: nil, or
// credentials due for renewal. Callers try get first, so that a cache hit
// builds no exchange closure.
//
// Credentials due for renewal but still valid are returned at once while
// the renewal runs in the background, so no request waits for it (nor
// fails, if AWS has a transient problem). Without usable credentials the
// caller waits, but no longer than its own context allows.
//
// The exchange runs under base (the module's lifetime) with timeout, not
// under a request's context: one impatient client must not fail the
// exchange that other requests of the same user are waiting for. When AWS
// refuses (permanent(err)), the cached credentials are dropped, because the
// user's access has been revoked.
func (c *credCache) fetch(reqCtx, base context.Context, key credKey, cur *Credentials, now func() time.Time, timeout time.Duration,
	exchange exchangeFunc, permanent func(error) bool) (*Credentials, error) {
	ch := c.flights.DoChan(key.String(), func() (any, error) {
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
		c.put(key, creds, now())
		return creds, nil
	})
	if cur != nil && now().Before(cur.expires) {
		return cur, nil // the result channel is buffered; nobody needs to read it
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Credentials), nil
	case <-reqCtx.Done():
		return nil, errors.Join(errExchangeWait, reqCtx.Err())
	}
}
