// Package sessionstore keeps cloudwatch_mcp's MCP sessions in Redis, so
// that every instance of a cluster serves every request of every session:
// the registry (owner, protocol version, client info and capabilities, log
// level) in a hash per session, the resumable events in a Redis Stream per
// session.
//
// Nothing that identifies or belongs to a user is stored in the clear:
// keys are SHA-256 digests of session ids (redisclient.Key), the owner is
// an HMAC of the caller's issuer and subject, and event payloads (tool
// results: the caller's CloudWatch data) are sealed with AES-GCM, the
// Redis key and stream as associated data, so a sealed event cannot be
// moved to another session. Both keys are derived (HKDF) from one secret
// that every instance shares.
package sessionstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
)

// SecretSize is the size of the shared secret.
const SecretSize = 32

// Store is the sessions of one cloudwatch_mcp configuration in Redis.
type Store struct {
	c      *redisclient.Client
	ttl    time.Duration
	macKey []byte
	aead   cipher.AEAD
	// MaxPerOwner bounds one identity's sessions across the cluster; its
	// least recently refreshed session goes first.
	MaxPerOwner int
	// MaxEvents and MaxEventBytes bound what one session can replay; the
	// oldest events go first.
	MaxEvents     int
	MaxEventBytes int
}

// New returns the store of sessions that idle out after ttl (at least a
// second), keyed by secret (SecretSize bytes, the same on every instance).
func New(c *redisclient.Client, secret []byte, ttl time.Duration) (*Store, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("session secret must be %d bytes, not %d", SecretSize, len(secret))
	}
	if ttl < time.Second {
		ttl = time.Second
	}
	macKey, err := hkdf.Key(sha256.New, secret, nil, "cwmcp session owner", 32)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, secret, nil, "cwmcp session events", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Store{c: c, ttl: ttl, macKey: macKey, aead: aead, MaxPerOwner: 64, MaxEvents: 512, MaxEventBytes: 1 << 20}, nil
}

// TTL is how long an unused session lives.
func (s *Store) TTL() time.Duration { return s.ttl }

// Owner is what the store keeps of an identity (issuer and subject): a
// keyed hash, so a reader of Redis learns nothing of who owns a session.
func (s *Store) Owner(identity string) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(identity))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// keys of a session: its hash, and its events stream next to it.
func sessionKey(id string) string { return redisclient.Key("s", id) }
func eventsKey(id string) string  { return sessionKey(id) + ":ev" }

// ownerPrefix names an owner's index of sessions (a sorted set of session
// keys by last refresh), used for the per-identity cap.
const ownerPrefix = redisclient.KeyPrefix + "so:"

// Record is a session's state as every instance sees it.
type Record struct {
	// ProtocolVersion is the version negotiated at initialize.
	ProtocolVersion string
	// Client is the initialize params' clientInfo and capabilities (JSON).
	Client string
	// LogLevel is the client's logging/setLevel, "" if never set.
	LogLevel string
}

// Status is what a session id means for an owner.
type Status int

const (
	OK      Status = iota
	Unknown        // never issued, ended, idled out or evicted
	Foreign        // issued to another identity
)

var createScript = redis.NewScript(`
local ttl = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'v', ARGV[2], 'c', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
redis.call('ZADD', KEYS[2], now, KEYS[1])
local n = redis.call('ZCARD', KEYS[2])
while n > tonumber(ARGV[5]) do
	local old = redis.call('ZPOPMIN', KEYS[2])
	redis.call('DEL', old[1], old[1] .. ':ev')
	n = n - 1
end
redis.call('PEXPIRE', KEYS[2], ttl)
return n
`)

// Create records a new session of owner (Owner's value).
func (s *Store) Create(ctx context.Context, id, owner string, rec Record) error {
	k := sessionKey(id)
	return createScript.Run(ctx, s.c.Redis(), []string{k, ownerPrefix + owner},
		owner, rec.ProtocolVersion, rec.Client, s.ttl.Milliseconds(), s.MaxPerOwner).Err()
}

var useScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'o', 'v', 'c', 'l')
if not r[1] then return {0} end
if r[1] ~= ARGV[1] then return {2} end
if ARGV[2] ~= '0' then
	local t = redis.call('TIME')
	local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	redis.call('PEXPIRE', KEYS[2], ARGV[2])
	local idx = ARGV[3] .. r[1]
	redis.call('ZADD', idx, 'XX', now, KEYS[1])
	redis.call('PEXPIRE', idx, ARGV[2])
end
return {1, r[2] or '', r[3] or '', r[4] or ''}
`)

// Use looks id up for owner; with refresh, a session of owner's gets its
// full time to live again (and its events with it).
func (s *Store) Use(ctx context.Context, id, owner string, refresh bool) (Status, Record, error) {
	var ttl int64
	if refresh {
		ttl = s.ttl.Milliseconds()
	}
	res, err := useScript.Run(ctx, s.c.Redis(), []string{sessionKey(id), eventsKey(id)}, owner, ttl, ownerPrefix).Slice()
	if err != nil {
		return Unknown, Record{}, err
	}
	switch n, _ := res[0].(int64); {
	case n == 0:
		return Unknown, Record{}, nil
	case n == 2:
		return Foreign, Record{}, nil
	case len(res) != 4:
		return Unknown, Record{}, errors.New("session script: unexpected reply")
	}
	str := func(v any) string { s, _ := v.(string); return s }
	return OK, Record{ProtocolVersion: str(res[1]), Client: str(res[2]), LogLevel: str(res[3])}, nil
}

var endScript = redis.NewScript(`
local o = redis.call('HGET', KEYS[1], 'o')
if not o then return 0 end
if ARGV[1] ~= '' and o ~= ARGV[1] then return 2 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', ARGV[2] .. o, KEYS[1])
return 1
`)

// End ends id everywhere, with its events; with owner set, only for owner.
func (s *Store) End(ctx context.Context, id, owner string) (Status, error) {
	n, err := endScript.Run(ctx, s.c.Redis(), []string{sessionKey(id), eventsKey(id)}, owner, ownerPrefix).Int64()
	switch {
	case err != nil:
		return Unknown, err
	case n == 0:
		return Unknown, nil
	case n == 2:
		return Foreign, nil
	}
	return OK, nil
}

var setLevelScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'l', ARGV[1]) end
return 0
`)

// SetLogLevel records the session's logging/setLevel.
func (s *Store) SetLogLevel(ctx context.Context, id, level string) error {
	return setLevelScript.Run(ctx, s.c.Redis(), []string{sessionKey(id)}, level).Err()
}

// IsUnavailable reports whether err means Redis could not answer (as
// opposed to a reply): the caller answers 503.
func IsUnavailable(err error) bool {
	return err != nil && (redisclient.IsUnavailable(err) || strings.Contains(err.Error(), "NOSCRIPT"))
}
