package cloudwatchmcp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	cloudwatch_mcp {
//		region <region>
//		credentials request|default|request_or_default
//		allow_remote_default_credentials
//		stateless
//		session_idle_timeout <duration>
//		allowed_hosts <host>...
//		allowed_origins <origin>...
//		tools <group>...
//		metric_metadata <file>
//		max_query_timeout <duration>
//		max_result_bytes <bytes>
//		insights_poll_rate <n>/s [burst <b>]
//		account <name> <role_arn> [<region>]
//		authorize <tool|group>... {
//			scopes <scope>...
//			groups <group>...
//		}
//		audit_query_text
//		legacy_sse
//		redis <url> {
//			secret <base64>
//		}
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "region":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			if !strings.Contains(v, "{") && !toolkit.IsKnownRegion(v) {
				return d.Err(toolkit.UnknownRegionMessage(v))
			}
			h.Region = v

		case "credentials":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			if !toolkit.CredentialMode(v).Valid() {
				return d.Errf("credentials must be request, default or request_or_default, not %q", v)
			}
			h.Credentials = v

		case "allow_remote_default_credentials":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AllowRemoteDefaultCredentials = true

		case "stateless":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Stateless = true

		case "session_idle_timeout", "max_query_timeout":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("%s: %v", opt, err)
			}
			if dur <= 0 {
				return d.Errf("%s must be positive", opt)
			}
			if opt == "session_idle_timeout" {
				h.SessionIdleTimeout = caddy.Duration(dur)
			} else {
				h.MaxQueryTimeout = caddy.Duration(dur)
			}

		case "allowed_hosts":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				if _, err := parseHostRule(a); err != nil {
					return d.Err(err.Error())
				}
			}
			h.AllowedHosts = append(h.AllowedHosts, args...)

		case "allowed_origins":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				if _, err := normalizeOrigin(a); err != nil {
					return d.Err(err.Error())
				}
			}
			h.AllowedOrigins = append(h.AllowedOrigins, args...)

		case "tools":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			known := toolkit.Groups()
			for _, g := range args {
				if !containsString(known, g) {
					return d.Errf("unknown tool group %q (known: %s)", g, strings.Join(known, ", "))
				}
			}
			h.Tools = append(h.Tools, args...)

		case "metric_metadata":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			h.MetricMetadata = v

		case "max_result_bytes":
			n, err := parseMaxResultBytes(d)
			if err != nil {
				return err
			}
			h.MaxResultBytes = n

		case "insights_poll_rate":
			r, err := parseInsightsPollRate(d)
			if err != nil {
				return err
			}
			h.InsightsPollRate = r

		case "account":
			a, err := parseAccount(d, h.Accounts)
			if err != nil {
				return err
			}
			h.Accounts = append(h.Accounts, a)

		case "authorize":
			rule, err := parseAuthorize(d)
			if err != nil {
				return err
			}
			h.Authorize = append(h.Authorize, rule)

		case "audit_query_text":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AuditQueryText = true

		case "legacy_sse":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.LegacySSE = true
		case "redis":
			if err := h.unmarshalRedis(d); err != nil {
				return err
			}

		default:
			return d.Errf("unrecognized cloudwatch_mcp option %q", opt)
		}
		if h.LegacySSE && h.Stateless {
			return d.Err("legacy_sse keeps each session on the instance holding its stream; it cannot be combined with stateless")
		}
	}
	return nil
}

// oneArg reads exactly one argument for the current option.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

// parseAccount reads `account <name> <role_arn> [<region>]`.
func parseAccount(d *caddyfile.Dispenser, have []Account) (Account, error) {
	args := d.RemainingArgs()
	if len(args) < 2 || len(args) > 3 {
		return Account{}, d.ArgErr()
	}
	a := Account{Name: args[0], RoleARN: args[1]}
	if len(args) == 3 {
		a.Region = args[2]
	}
	if err := toolkit.ValidateAccounts(append(append([]Account{}, have...), a)); err != nil {
		return Account{}, d.Err(err.Error())
	}
	return a, nil
}

// parseMaxResultBytes reads `max_result_bytes <n>` (bytes; KiB/MiB
// suffixes accepted).
func parseMaxResultBytes(d *caddyfile.Dispenser) (int, error) {
	v, err := oneArg(d)
	if err != nil {
		return 0, err
	}
	n, err := parseByteSize(v)
	if err != nil {
		return 0, d.Errf("max_result_bytes: %v", err)
	}
	if n < toolkit.MinMaxResultBytes {
		return 0, d.Errf("max_result_bytes must be at least %d, not %d", toolkit.MinMaxResultBytes, n)
	}
	return n, nil
}

func parseByteSize(orig string) (int, error) {
	s, mult := orig, 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"KB", 1000}, {"MB", 1000 * 1000}, {"B", 1}} {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			s, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > (1<<31)/mult {
		return 0, fmt.Errorf("%q is not a size in bytes (e.g. 262144 or 256KiB)", orig)
	}
	return n * mult, nil
}
