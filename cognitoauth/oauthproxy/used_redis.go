package oauthproxy

import (
	"context"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
)

// claimMargin keeps a claim past the code's expiry, so an instance whose
// clock runs behind still finds it.
const claimMargin = time.Minute

// redisUsedCodes is the cluster's UsedCodes: SET NX on a digest of the
// code's identifier, expiring with the code. The first instance to claim
// an identifier wins; every other instance, and every replay, finds it
// taken. When Redis cannot answer, Claim returns the error and the code
// is refused with 503 (single use fails closed), without being spent: the
// client may retry the same code when Redis is back, within its lifetime.
type redisUsedCodes struct {
	c   *redisclient.Client
	now func() time.Time
}

// NewRedisUsedCodes returns the UsedCodes kept in Redis. Redis holds
// only SHA-256 digests of the identifiers (which are random and appear
// nowhere else), never a code.
func NewRedisUsedCodes(c *redisclient.Client, now func() time.Time) UsedCodes {
	if now == nil {
		now = time.Now
	}
	return &redisUsedCodes{c: c, now: now}
}

func (u *redisUsedCodes) Claim(ctx context.Context, id string, exp time.Time) (bool, error) {
	ttl := exp.Sub(u.now()) + claimMargin
	if ttl < claimMargin {
		ttl = claimMargin
	}
	return u.c.Redis().SetNX(ctx, redisclient.Key("oc", id), "1", ttl).Result()
}
