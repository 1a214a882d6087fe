package cognitoauth

import (
	"context"
	"errors"
	"hash/maphash"
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

// credCache holds vended credentials per credKey in an expiringLRU
// (sharded by subject), and it lets at most one exchange per key run at a
// time: concurrent first requests of one user all wait for the same
// exchange.
type credCache struct {
	lru     *expiringLRU[credKey, *Credentials]
	flights singleflight.Group
}

func newCredCache(max int) *credCache {
	seed := maphash.MakeSeed()
	return &credCache{lru: newExpiringLRU[credKey, *Credentials](max, func(k credKey) uint64 { return maphash.String(seed, k.subject) })}
}

// get returns the cached credentials of key. fresh is false when they are
// missing or due for renewal: within refreshBefore of expiry (then they
// are returned, still usable, so a failed renewal can fall back on them).
func (c *credCache) get(key credKey, now time.Time, refreshBefore time.Duration) (creds *Credentials, fresh bool) {
	creds, expires, ok := c.lru.get(key, now)
	if !ok {
		return nil, false
	}
	return creds, now.Before(expires.Add(-refreshBefore))
}

func (c *credCache) put(key credKey, creds *Credentials, now time.Time) {
	c.lru.put(key, creds, creds.expires, now)
}

func (c *credCache) remove(key credKey) { c.lru.remove(key) }

func (c *credCache) forgetIdle(cutoff time.Time) { c.lru.forgetIdle(cutoff) }

func (c *credCache) len() int { return c.lru.len() }

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
