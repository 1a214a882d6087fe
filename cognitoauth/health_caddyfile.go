package cognitoauth

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalHealth parses the health subdirective of cognito_auth:
//
//	health <path> [interval <duration>]
//
// e.g. `health /healthz` or `health /healthz interval 30s`, on one line
// like rate_limit.
func unmarshalHealth(d *caddyfile.Dispenser) (*Health, error) {
	args := d.RemainingArgs()
	if len(args) != 1 && len(args) != 3 {
		return nil, d.ArgErr()
	}
	h := &Health{Path: args[0]}
	if len(args) == 3 {
		if args[1] != "interval" {
			return nil, d.Errf("health: unexpected %q, want interval <duration>", args[1])
		}
		dur, err := caddy.ParseDuration(args[2])
		if err != nil {
			return nil, d.Errf("health: invalid interval %q", args[2])
		}
		h.Interval = caddy.Duration(dur)
		if dur == 0 {
			return nil, d.Errf("health: interval must be between 1s and 5m, not %v", dur)
		}
	}
	if err := h.validate(); err != nil {
		return nil, d.Err(err.Error())
	}
	if d.NextBlock(d.Nesting()) {
		return nil, d.Err("health takes no block")
	}
	return h, nil
}
