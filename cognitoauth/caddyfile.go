package cognitoauth

import (
	"errors"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	cognito_auth [<matcher>] {
//		user_pool <region> <user_pool_id>
//		issuer <url>
//		jwks_url <url>
//		client_ids <id>...
//		audiences <aud>...
//		token_use access|id|any
//		scopes <scope>...
//		groups <group>...
//		leeway <duration>
//		resource <url>
//		authorization_servers <url>...
//		enabled <bool>
//		cache_size <entries>
//		cache_idle <duration>|off
//		rate_limit <requests> <window> [burst <n>]
//		redis <url>
//		oauth_proxy { ... }
//		health <path> [interval <duration>]
//	}
//
// Exactly one of user_pool and issuer is required. Credential vending
// subdirectives are parsed by the Vending part.
func (m *CognitoAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	var proxySeg *caddyfile.Dispenser
	// where remembers the line of each option, so mistakes found only by
	// looking at the whole block (Validate) still point at it.
	where := map[string]caddyfile.Token{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		where[name] = d.Token()
		switch name {
		case "user_pool":
			if m.UserPoolID != "" || m.Issuer != "" {
				return d.Err("only one of user_pool and issuer may be set")
			}
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.ArgErr()
			}
			if err := validateUserPool(args[0], args[1]); err != nil {
				return d.Errf("user_pool: %v", err)
			}
			m.Region, m.UserPoolID = args[0], args[1]
		case "issuer":
			if m.UserPoolID != "" || m.Issuer != "" {
				return d.Err("only one of user_pool and issuer may be set")
			}
			if err := oneURL(d, &m.Issuer); err != nil {
				return err
			}
		case "jwks_url":
			if err := oneURL(d, &m.JWKSURL); err != nil {
				return err
			}
		case "resource":
			if err := oneURL(d, &m.Resource); err != nil {
				return err
			}
		case "client_ids":
			if err := appendListArgs(d, &m.ClientIDs); err != nil {
				return err
			}
		case "audiences":
			if err := appendListArgs(d, &m.Audiences); err != nil {
				return err
			}
		case "scopes":
			if err := appendListArgs(d, &m.Scopes); err != nil {
				return err
			}
		case "groups":
			if err := appendListArgs(d, &m.Groups); err != nil {
				return err
			}
		case "authorization_servers":
			before := len(m.AuthorizationServers)
			if err := appendArgs(d, &m.AuthorizationServers); err != nil {
				return err
			}
			for _, s := range m.AuthorizationServers[before:] {
				if err := validateURL("authorization_servers", s); err != nil {
					return d.Err(err.Error())
				}
			}
		case "token_use":
			if !d.NextArg() {
				return d.ArgErr()
			}
			switch v := d.Val(); v {
			case "access", "id", "any":
				m.TokenUse = v
			default:
				return d.Errf("token_use must be access, id or any, not %q", v)
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		case "leeway":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur < 0 {
				return d.Errf("leeway: invalid duration %q", d.Val())
			}
			m.Leeway = caddy.Duration(dur)
			if d.NextArg() {
				return d.ArgErr()
			}
		case "enabled":
			if !d.NextArg() {
				return d.ArgErr()
			}
			b, err := strconv.ParseBool(d.Val())
			if err != nil {
				return d.Errf("enabled: %q is not a boolean", d.Val())
			}
			m.Enabled = &b
			if d.NextArg() {
				return d.ArgErr()
			}
		case "cache_size":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil {
				return d.Errf("cache_size: %q is not an integer", d.Val())
			}
			m.CacheSize = n
			if d.NextArg() {
				return d.ArgErr()
			}
		case "cache_idle":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if d.Val() == "off" {
				m.CacheIdle = -1
			} else {
				dur, err := caddy.ParseDuration(d.Val())
				if err != nil || dur <= 0 {
					return d.Errf("cache_idle: invalid duration %q (a positive duration, or off)", d.Val())
				}
				m.CacheIdle = caddy.Duration(dur)
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		case "rate_limit":
			rl, err := unmarshalRateLimit(d)
			if err != nil {
				return err
			}
			m.RateLimit = rl
		case "redis":
			if err := unmarshalRedis(d, &m.Redis); err != nil {
				return err
			}
		case "oauth_proxy":
			proxySeg = d.NewFromNextSegment()
			p, err := unmarshalOAuthProxy(proxySeg)
			if err != nil {
				return err
			}
			m.OAuthProxy = p
		case "health":
			h, err := unmarshalHealth(d)
			if err != nil {
				return err
			}
			m.Health = h
		default:
			ok, err := m.Vending.unmarshalVendingOption(d)
			if err != nil {
				return err
			}
			if !ok {
				return d.Errf("unrecognized subdirective %q", name)
			}
		}
	}
	// Point block-level errors at the directive, not at the closing brace.
	d.Reset()
	d.Next()
	if m.UserPoolID == "" && m.Issuer == "" {
		return d.Err("one of user_pool or issuer is required")
	}
	if m.OAuthProxy != nil && m.Resource == "" {
		return oauthProxyNeedsResource(proxySeg)
	}
	// Everything Provision would refuse without I/O is refused here, with
	// the line of the option concerned.
	if err := m.Validate(); err != nil {
		var oe *optionError
		if errors.As(err, &oe) {
			if tok, ok := where[oe.option]; ok {
				at := caddyfile.NewDispenser([]caddyfile.Token{tok})
				at.Next()
				return at.Err(err.Error())
			}
		}
		return d.Err(err.Error())
	}
	return nil
}

func oneURL(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	if !d.NextArg() {
		return d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	if err := validateURL(name, v); err != nil {
		return d.Err(err.Error())
	}
	*dst = v
	return nil
}

// appendListArgs appends the values of client_ids, audiences, scopes or
// groups, refusing a bad one on its own line.
func appendListArgs(d *caddyfile.Dispenser, dst *[]string) error {
	name := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	if err := validateListValues(name, args); err != nil {
		return d.Err(err.Error())
	}
	*dst = append(*dst, args...)
	return nil
}

func appendArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}
