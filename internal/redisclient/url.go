package redisclient

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults that keep a slow or lost Redis from holding a request: every
// user of the client has a per-instance answer (a fallback, or a clear
// 503) that is better than waiting. A URL query parameter of the same
// name (go-redis ParseURL: dial_timeout=1s, pool_size=50, ...) overrides
// each of them.
const (
	DefaultDialTimeout  = 500 * time.Millisecond
	DefaultReadTimeout  = 250 * time.Millisecond
	DefaultWriteTimeout = 250 * time.Millisecond
	// DefaultPoolTimeout bounds the wait for a free connection when every
	// pooled one is busy.
	DefaultPoolTimeout = 250 * time.Millisecond
	// ClientName names every connection (CLIENT LIST), unless the URL sets
	// client_name.
	ClientName = "caddy-cloudwatch-mcp"
)

// ParseURL checks a redis:// or rediss:// URL and returns the client
// options with this package's defaults. Its errors never contain the URL
// (it may hold a password).
func ParseURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL (want redis://[user:password@]host:port/db or rediss://...)")
	}
	switch u.Scheme {
	case "redis", "rediss":
	default:
		return nil, fmt.Errorf("scheme must be redis or rediss (TLS), not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host (want redis://[user:password@]host:port/db)")
	}
	if u.Fragment != "" {
		return nil, errors.New("a Redis URL has no fragment")
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		// go-redis errors name a bad path or query parameter, not the
		// userinfo; strip anything that could still echo the URL.
		msg := strings.ReplaceAll(err.Error(), raw, Redact(raw))
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		return nil, errors.New(strings.TrimPrefix(msg, "redis: "))
	}
	q := u.Query()
	setDefault := func(name string, dst *time.Duration, def time.Duration) {
		if !q.Has(name) {
			*dst = def
		}
	}
	setDefault("dial_timeout", &opt.DialTimeout, DefaultDialTimeout)
	setDefault("read_timeout", &opt.ReadTimeout, DefaultReadTimeout)
	setDefault("write_timeout", &opt.WriteTimeout, DefaultWriteTimeout)
	setDefault("pool_timeout", &opt.PoolTimeout, DefaultPoolTimeout)
	if !q.Has("max_retries") {
		// A retry doubles the time a lost Redis holds a request, and the
		// breaker (see breaker.go) already stops asking a Redis that fails.
		opt.MaxRetries = -1
	}
	if !q.Has("client_name") {
		opt.ClientName = ClientName
	}
	if !q.Has("protocol") {
		// RESP2: with RESP3, go-redis reads the socket for pending push
		// notifications before every command, one more system call per
		// round trip, for features (client-side caching, maintenance
		// notifications) this project does not use.
		opt.Protocol = 2
	}
	// One dial attempt per request: go-redis's default of five attempts
	// with 100 ms pauses makes a refused connection cost half a second.
	opt.DialerRetries = 1
	// Redis Cloud maintenance notifications: nothing to gain on a plain
	// Redis or Valkey, and one command less per new connection.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// Redact returns the URL with its password replaced by xxxxx, fit for
// logs and errors. Something that is not a URL is not shown at all.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid Redis URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else if u.User.Username() != "" {
			// redis://secret@host is how some tools write a password
			// without a user (go-redis reads it as a username).
			u.User = url.User("xxxxx")
		}
	}
	return u.String()
}
