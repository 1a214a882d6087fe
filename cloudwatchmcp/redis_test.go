package cloudwatchmcp

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestRedisCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		in, url, secret, err string
	}{
		{in: `cloudwatch_mcp {
	redis {env.REDIS_URL}
}`, url: "{env.REDIS_URL}"},
		{in: `cloudwatch_mcp {
	redis redis://:pw@10.0.0.5:6379/2 {
		secret {env.SESSION_SECRET}
	}
}`, url: "redis://:pw@10.0.0.5:6379/2", secret: "{env.SESSION_SECRET}"},
		{in: "cloudwatch_mcp {\n\tredis http://x\n}", err: "redis: scheme must be redis or rediss (TLS), not \"http\", at Testfile:2"},
		{in: "cloudwatch_mcp {\n\tredis\n}", err: "Testfile:2"},
		{in: "cloudwatch_mcp {\n\tredis redis://h:1 {\n\t\tkey x\n\t}\n}", err: `unknown redis option "key" (known: secret), at Testfile:3`},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || h.Redis != tc.url || h.RedisSecret != tc.secret {
			t.Errorf("%q: %v %q %q", tc.in, err, h.Redis, h.RedisSecret)
		}
		if strings.Contains(err2str(h.validateRedis()), "pw") {
			t.Error("validation error shows the password")
		}
	}
	if err := (&Handler{Redis: "redis://h:1", Stateless: true}).validateRedis(); err == nil {
		t.Error("stateless with redis accepted")
	}
	if err := (&Handler{RedisSecret: "x"}).validateRedis(); err == nil {
		t.Error("secret without redis accepted")
	}
}

func err2str(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
