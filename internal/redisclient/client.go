// Package redisclient keeps one go-redis client per Redis URL for every
// handler of every loaded config, the way sharedhttp keeps HTTP clients:
// a config reload takes the client over warm (same connections), and the
// last config to let go of a URL closes its client, so the number of
// connections to Redis does not grow with reloads.
//
// The client is tuned for state that a request needs now or never: short
// timeouts, no retries, and a circuit breaker shared by all its users, so
// a slow or lost Redis costs at most one bounded wait at a time while the
// others fall back (or fail clearly) at once, and everything goes back to
// Redis by itself when it answers again.
//
// Passwords never appear in what this package logs or returns: use
// Client.String (or Redact) to name a Redis.
//
// Both modules may import this package; they still never import each
// other.
package redisclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every key this project writes, so a shared Redis can
// be inspected (SCAN cwmcp:*) and cleaned up per application.
const KeyPrefix = "cwmcp:"

// Client is the shared client of one Redis URL.
type Client struct {
	rdb     *redis.Client
	name    string // the redacted URL
	breaker *breaker
}

var clients = caddy.NewUsagePool()

// pooled closes the client once no config uses it.
type pooled struct{ c *Client }

func (p pooled) Destruct() error { return p.c.rdb.Close() }

// Open returns the client shared under rawURL (after placeholders were
// replaced) and a function, safe to call more than once, that gives this
// caller's hold on it back. It makes no network call: a Redis that is
// down at start-up does not keep Caddy from starting.
func Open(rawURL string) (*Client, func(), error) {
	routeLogs.Do(func() { redis.SetLogger(caddyLogger{}) })
	v, _, err := clients.LoadOrNew(rawURL, func() (caddy.Destructor, error) {
		c, err := newClient(rawURL, nil)
		if err != nil {
			return nil, err
		}
		return pooled{c}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return v.(pooled).c, func() { once.Do(func() { _, _ = clients.Delete(rawURL) }) }, nil
}

// routeLogs sends go-redis's own log lines (a failed dial, once per
// probe while Redis is down) to Caddy's log at DEBUG instead of bare
// stderr lines: what an operator needs to know is logged, rate-limited,
// by the users of the client. go-redis has one logger per process.
var routeLogs sync.Once

type caddyLogger struct{}

func (caddyLogger) Printf(_ context.Context, format string, v ...any) {
	// caddy.Log() at each call: it follows the running config's logging.
	caddy.Log().Named("redis").Debug(fmt.Sprintf(format, v...))
}

// newClient builds a client; now is the breaker's clock (nil: time.Now).
func newClient(rawURL string, now func() time.Time) (*Client, error) {
	opt, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	b := newBreaker(now)
	rdb := redis.NewClient(opt)
	rdb.AddHook(b)
	return &Client{rdb: rdb, name: Redact(rawURL), breaker: b}, nil
}

// Redis is the go-redis client, for commands and scripts. It is shared:
// never Close it, release it instead. While the breaker is open its
// commands fail at once with ErrUnavailable.
func (c *Client) Redis() *redis.Client { return c.rdb }

// String names the Redis for logs: the URL without its password.
func (c *Client) String() string { return c.name }

// Status is what the breaker knows about this Redis.
type Status struct {
	// Up is false while commands fail fast after a failure.
	Up bool
	// Outages counts the times Redis went from working to failing.
	Outages uint64
	// LastError is the last failure, without secrets (go-redis errors
	// name the address, never the password).
	LastError string
}

// Status reports the breaker's state.
func (c *Client) Status() Status {
	up, n, last := c.breaker.state()
	return Status{Up: up, Outages: n, LastError: last}
}

// Key is a key under KeyPrefix for kind (a short name of what is
// stored, e.g. "rl" for rate limits) whose identifying part is a
// SHA-256 digest of parts: identifiers (subs, codes, session ids) never
// reach Redis in the clear, and parts cannot run into each other.
func Key(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return KeyPrefix + kind + ":" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// Interface guards
var _ caddy.Destructor = pooled{}
