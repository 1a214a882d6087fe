package cognitoauth

import (
	"crypto/sha256"
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

// tokenCache is a small LRU of verified identities (expiringLRU). An
// entry is never served at or after its token's exp, whatever the leeway.
type tokenCache struct {
	lru *expiringLRU[tokenKey, *Identity]
}

func newTokenCache(max int) *tokenCache {
	// Keys are SHA-256, so their first byte spreads them evenly.
	return &tokenCache{lru: newExpiringLRU[tokenKey, *Identity](max, func(k tokenKey) uint64 { return uint64(k[0]) })}
}

func (c *tokenCache) get(k tokenKey, now time.Time) *Identity {
	id, _, _ := c.lru.get(k, now)
	return id
}

func (c *tokenCache) put(k tokenKey, id *Identity, now time.Time) {
	if now.Before(id.ExpiresAt) {
		c.lru.put(k, id, id.ExpiresAt, now)
	}
}

func (c *tokenCache) forgetIdle(cutoff time.Time) { c.lru.forgetIdle(cutoff) }

func (c *tokenCache) len() int { return c.lru.len() }
