package cloudwatchmcp

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sessionstore"
)

// redisRetryAfter is the Retry-After of a session request refused while
// Redis cannot answer: about the time the client's breaker needs to probe
// Redis again (redisclient).
const redisRetryAfter = "2"

// provisionRedis opens the shared client and the session store and
// returns what names them in the session table's key (the resolved URL
// and secret, hashed). It makes no call to Redis: a Redis down at start-up
// does not keep Caddy from starting; session requests answer 503 until it
// is back.
func (h *Handler) provisionRedis(ctx caddy.Context) (string, error) {
	if h.Redis == "" {
		return "", nil
	}
	if h.Stateless {
		return "", errors.New("redis keeps sessions for a cluster; a stateless endpoint has none (remove one of them)")
	}
	repl := caddy.NewReplacer()
	raw := repl.ReplaceKnown(h.Redis, "")
	if raw == "" {
		return "", fmt.Errorf("redis: %q is empty once its placeholders are replaced (is the environment variable set?)", h.Redis)
	}
	secret, err := h.sessionSecret(ctx, repl.ReplaceKnown(h.RedisSecret, ""))
	if err != nil {
		return "", err
	}
	c, release, err := redisclient.Open(raw)
	if err != nil {
		return "", fmt.Errorf("redis: %v", err)
	}
	store, err := sessionstore.New(c, secret, time.Duration(h.SessionIdleTimeout))
	if err != nil {
		release()
		return "", err
	}
	store.MaxPerOwner = maxSessionsPerIdentity
	store.MaxEvents = maxEventsPerSession
	store.MaxEventBytes = maxEventBytesPerSession
	h.store, h.routes, h.releaseRedis = store, &streamRoutes{}, release
	h.logger.Info("MCP sessions in Redis", zap.String("redis", c.String()))
	sum := sha256.Sum256(append([]byte(raw+"\x00"), secret...))
	return " redis=" + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// sessionSecret is the configured secret (base64 of 32 bytes), or the one
// kept in Caddy storage, created by the first instance that needs it.
func (h *Handler) sessionSecret(ctx caddy.Context, configured string) ([]byte, error) {
	if configured != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(configured))
		if err != nil || len(b) != sessionstore.SecretSize {
			return nil, fmt.Errorf("redis secret must be the base64 of %d random bytes (openssl rand -base64 32)", sessionstore.SecretSize)
		}
		return b, nil
	}
	b, err := sessionstore.StoredSecret(ctx, ctx.Storage())
	if err != nil {
		return nil, fmt.Errorf("redis: %v", err)
	}
	return b, nil
}

// cleanupRedis gives the client back; the last config using the URL
// closes it.
func (h *Handler) cleanupRedis() {
	if h.releaseRedis != nil {
		h.releaseRedis()
	}
}

// validateRedis checks a literal URL at adapt time; one with placeholders
// is checked at start-up.
func (h *Handler) validateRedis() error {
	if h.Redis == "" {
		if h.RedisSecret != "" {
			return errors.New("redis secret without redis")
		}
		return nil
	}
	if h.Stateless {
		return errors.New("redis keeps sessions for a cluster; a stateless endpoint has none (remove one of them)")
	}
	if strings.Contains(h.Redis, "{") {
		return nil
	}
	if _, err := redisclient.ParseURL(h.Redis); err != nil {
		return fmt.Errorf("redis: %v", err)
	}
	return nil
}

// unmarshalRedis parses
//
//	redis <url> [{
//		secret <base64>
//	}]
func (h *Handler) unmarshalRedis(d *caddyfile.Dispenser) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if _, err := redisclient.ParseURL(v); err != nil && !strings.Contains(v, "{") {
		return d.Errf("redis: %v", err)
	}
	h.Redis = v
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "secret":
			if h.RedisSecret, err = oneArg(d); err != nil {
				return err
			}
		default:
			return d.Errf("unknown redis option %q (known: secret)", d.Val())
		}
	}
	return nil
}
