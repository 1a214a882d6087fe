package cognitoauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalRateLimit parses the rate_limit subdirective of cognito_auth:
//
//	rate_limit <requests> <window> [burst <n>]
//
// e.g. `rate_limit 600 1m` or `rate_limit 600 1m burst 50`. The burst
// stays on the same line (rather than in a block) so the whole limit reads
// as one statement.
func unmarshalRateLimit(d *caddyfile.Dispenser) (*RateLimit, error) {
	args := d.RemainingArgs()
	if len(args) != 2 && len(args) != 4 {
		return nil, d.ArgErr()
	}
	rl := &RateLimit{}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return nil, d.Errf("rate_limit: requests must be a positive integer, not %q", args[0])
	}
	rl.Requests = n
	w, err := caddy.ParseDuration(args[1])
	if err != nil {
		return nil, d.Errf("rate_limit: invalid window %q", args[1])
	}
	rl.Window = caddy.Duration(w)
	if len(args) == 4 {
		if args[2] != "burst" {
			return nil, d.Errf("rate_limit: unexpected %q, want burst <n>", args[2])
		}
		b, err := strconv.Atoi(args[3])
		if err != nil || b < 1 {
			return nil, d.Errf("rate_limit: burst must be a positive integer, not %q", args[3])
		}
		rl.Burst = b
	}
	if err := rl.validate(); err != nil {
		return nil, d.Err(err.Error())
	}
	if d.NextBlock(d.Nesting()) {
		return nil, d.Err("rate_limit takes no block")
	}
	return rl, nil
}
