package cognitoauth

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalOAuthProxy parses the oauth_proxy sub-block:
//
//	oauth_proxy {
//		client_id <id>
//		client_secret <secret>
//		authorize_url <url>
//		token_url <url>
//		scopes <scope>...
//		redirect_uris <uri>...
//		forward_resource [true|false]
//		key <base64>
//		previous_keys <base64>...
//		rate_limit <requests> <window> [burst <n>] | off
//	}
//
// Values are checked here, so `caddy adapt` and `caddy validate` report
// mistakes with file and line.
func unmarshalOAuthProxy(d *caddyfile.Dispenser) (*OAuthProxy, error) {
	p := new(OAuthProxy)
	d.Next() // the subdirective's name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch name := d.Val(); name {
		case "client_id", "client_secret", "key":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			v := d.Val()
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			switch name {
			case "client_id":
				if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' }) {
					return nil, d.Errf("oauth_proxy client_id %q must not contain spaces, quotes or backslashes", v)
				}
				p.ClientID = v
			case "client_secret":
				p.ClientSecret = v
			case "key":
				if err := checkKeyArg(v); err != nil {
					return nil, d.Errf("oauth_proxy key: %v", err)
				}
				p.Key = v
			}
		case "authorize_url":
			if err := oneURL(d, &p.AuthorizeURL); err != nil {
				return nil, err
			}
		case "token_url":
			if err := oneURL(d, &p.TokenURL); err != nil {
				return nil, err
			}
		case "scopes":
			if err := appendArgs(d, &p.Scopes); err != nil {
				return nil, err
			}
		case "redirect_uris":
			if err := appendChecked(d, &p.RedirectURIs, validateListedRedirect); err != nil {
				return nil, err
			}
		case "previous_keys":
			if err := appendChecked(d, &p.PreviousKeys, checkKeyArg); err != nil {
				return nil, err
			}
		case "rate_limit":
			if d.CountRemainingArgs() == 1 {
				if d.NextArg(); d.Val() != "off" {
					return nil, d.Errf("oauth_proxy rate_limit: %q is neither off nor <requests> <window> [burst <n>]", d.Val())
				}
				p.NoRateLimit, p.RateLimit = true, nil
				continue
			}
			rl, err := unmarshalRateLimit(d)
			if err != nil {
				return nil, err
			}
			p.RateLimit, p.NoRateLimit = rl, false
		case "forward_resource":
			p.ForwardResource = true
			if d.NextArg() {
				b, err := strconv.ParseBool(d.Val())
				if err != nil {
					return nil, d.Errf("oauth_proxy forward_resource: %q is not a boolean", d.Val())
				}
				p.ForwardResource = b
			}
			if d.NextArg() {
				return nil, d.ArgErr()
			}
		default:
			return nil, d.Errf("unrecognized oauth_proxy subdirective %q", name)
		}
	}
	if p.ClientID == "" {
		d.Reset() // point at the oauth_proxy line, not the closing brace
		d.Next()
		return nil, d.Err("oauth_proxy: client_id is required (the proxy's app client at the upstream)")
	}
	return p, nil
}

// checkKeyArg validates a sealing key unless it is a runtime placeholder
// such as {env.MCP_OAUTH_KEY}.
func checkKeyArg(v string) error {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return nil
	}
	_, err := decodeSealingKey(v)
	return err
}

// oauthProxyNeedsResource points at the oauth_proxy line of seg.
func oauthProxyNeedsResource(seg *caddyfile.Dispenser) error {
	seg.Reset()
	seg.Next()
	return seg.Err("oauth_proxy requires resource <url> in cognito_auth: the MCP endpoint's URL, whose origin serves the login endpoints and the callback")
}

// appendChecked appends the arguments to dst, each checked, reporting the
// first bad one at its line.
func appendChecked(d *caddyfile.Dispenser, dst *[]string, check func(string) error) error {
	name := d.Val()
	before := len(*dst)
	if err := appendArgs(d, dst); err != nil {
		return err
	}
	for _, v := range (*dst)[before:] {
		if err := check(v); err != nil {
			return d.Errf("oauth_proxy %s: %v", name, err)
		}
	}
	return nil
}
