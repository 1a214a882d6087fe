package cognitoauth

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalVendingOption parses one vending subdirective of cognito_auth.
// It reports whether the name was a vending option at all. Syntax:
//
//	identity_pool <identity_pool_id> {
//		developer_provider <name>
//		custom_role_arn <arn>
//	}
//	role_arn <role_arn>
//	assume_role <role_arn>
//	identity_center <application_arn> <account_id> <role_name>
//	session_duration <duration>
//	refresh_before <duration>
//	aws_region <region>
//	credentials_cache_size <entries>
//	exchange_timeout <duration>
func (v *Vending) unmarshalVendingOption(d *caddyfile.Dispenser) (bool, error) {
	switch d.Val() {
	case "identity_pool":
		if err := v.oneMode(d); err != nil {
			return true, err
		}
		p := &IdentityPoolVending{}
		if !d.Args(&p.ID) {
			return true, d.ArgErr()
		}
		if d.NextArg() {
			return true, d.ArgErr()
		}
		for nesting := d.Nesting(); d.NextBlock(nesting); {
			switch d.Val() {
			case "developer_provider":
				if err := singleArg(d, &p.DeveloperProvider); err != nil {
					return true, err
				}
			case "custom_role_arn":
				if err := singleArg(d, &p.CustomRoleARN); err != nil {
					return true, err
				}
			default:
				return true, d.Errf("unrecognized identity_pool option %q", d.Val())
			}
		}
		if err := validateIdentityPool(p); err != nil {
			return true, d.Err(err.Error())
		}
		v.IdentityPool = p
	case "role_arn", "assume_role":
		name := d.Val()
		if err := v.oneMode(d); err != nil {
			return true, err
		}
		var arn string
		if err := singleArg(d, &arn); err != nil {
			return true, err
		}
		if err := validateRoleARN(name, arn); err != nil {
			return true, d.Err(err.Error())
		}
		if name == "role_arn" {
			v.RoleARN = arn
		} else {
			v.AssumeRole = arn
		}
	case "identity_center":
		if err := v.oneMode(d); err != nil {
			return true, err
		}
		ic := &IdentityCenterVending{}
		if !d.Args(&ic.ApplicationARN, &ic.AccountID, &ic.RoleName) || d.NextArg() {
			return true, d.ArgErr()
		}
		if err := validateIdentityCenter(ic); err != nil {
			return true, d.Err(err.Error())
		}
		v.IdentityCenter = ic
	case "session_duration":
		dur, err := durationArg(d)
		if err != nil {
			return true, err
		}
		if err := validateSessionDuration(dur); err != nil || dur == 0 {
			return true, d.Errf("session_duration must be between 15m and 12h, not %v", dur)
		}
		v.SessionDuration = caddy.Duration(dur)
	case "refresh_before":
		dur, err := durationArg(d)
		if err != nil {
			return true, err
		}
		v.RefreshBefore = caddy.Duration(dur)
	case "exchange_timeout":
		dur, err := durationArg(d)
		if err != nil {
			return true, err
		}
		if dur <= 0 || dur > time.Minute {
			return true, d.Errf("exchange_timeout must be between 0 and 1m, not %v", dur)
		}
		v.ExchangeTimeout = caddy.Duration(dur)
	case "aws_region":
		if err := singleArg(d, &v.AWSRegion); err != nil {
			return true, err
		}
		if !regionPattern.MatchString(v.AWSRegion) {
			return true, d.Errf("aws_region %q is not an AWS region (like us-east-1)", v.AWSRegion)
		}
	case "credentials_cache_size":
		var s string
		if err := singleArg(d, &s); err != nil {
			return true, err
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return true, d.Errf("credentials_cache_size must be a positive integer, not %q", s)
		}
		v.CredentialsCacheSize = n
	default:
		return false, nil
	}
	return true, nil
}

// oneMode refuses a second vending mode with the line of the offender.
func (v *Vending) oneMode(d *caddyfile.Dispenser) error {
	if v.IdentityPool != nil || v.RoleARN != "" || v.AssumeRole != "" || v.IdentityCenter != nil {
		return d.Errf("%s: only one of identity_pool, role_arn, assume_role and identity_center may be set", d.Val())
	}
	return nil
}

func singleArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func durationArg(d *caddyfile.Dispenser) (time.Duration, error) {
	name := d.Val()
	var s string
	if err := singleArg(d, &s); err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur < 0 {
		return 0, d.Errf("%s: invalid duration %q", name, s)
	}
	return dur, nil
}
