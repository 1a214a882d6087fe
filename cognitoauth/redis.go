package cognitoauth

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
)

// validateRedis checks a literal URL at adapt time; one with placeholders
// is checked when they are replaced, at start-up.
func (m *CognitoAuth) validateRedis() error {
	if m.Redis == "" || strings.Contains(m.Redis, "{") {
		return nil
	}
	if _, err := redisclient.ParseURL(m.Redis); err != nil {
		return optionErrorf("redis", "redis: %v", err)
	}
	return nil
}

// provisionRedis takes a hold on the client shared by every handler with
// the same URL. It makes no network call: a Redis that is down at
// start-up does not keep Caddy from starting (rate limits fall back to
// each instance, proxy code redemption answers 503 until it is back).
func (m *CognitoAuth) provisionRedis() error {
	if m.Redis == "" {
		return nil
	}
	raw := caddy.NewReplacer().ReplaceKnown(m.Redis, "")
	if raw == "" {
		// Only placeholders can become empty, so m.Redis holds no secret.
		return fmt.Errorf("redis: %q is empty once its placeholders are replaced (is the environment variable set?)", m.Redis)
	}
	c, release, err := redisclient.Open(raw)
	if err != nil {
		return fmt.Errorf("redis: %v", err)
	}
	m.redis, m.releaseRedis = c, release
	var uses []string
	if m.RateLimit != nil {
		uses = append(uses, "rate_limit")
	}
	if m.OAuthProxy != nil {
		uses = append(uses, "oauth_proxy")
	}
	if len(uses) == 0 {
		m.logger.Warn("redis is set but nothing in this cognito_auth uses it (rate_limit and oauth_proxy do)",
			zap.String("redis", c.String()))
		return nil
	}
	m.logger.Info("cluster state in Redis", zap.String("redis", c.String()), zap.Strings("for", uses))
	return nil
}

// cleanupRedis gives the hold back; the last config using the URL closes
// the client. Requests of this config still running then fall back.
func (m *CognitoAuth) cleanupRedis() {
	if m.releaseRedis != nil {
		m.releaseRedis()
	}
}

// unmarshalRedis parses `redis <url>`.
func unmarshalRedis(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return d.Err("redis takes no block")
	}
	return nil
}
