package cognitoauth

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cognitoauth/oauthproxy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/keylimit"
)

// OAuthProxy makes cognito_auth the MCP authorization server of its site,
// in front of the user pool's hosted UI (or any OpenID Connect provider
// without dynamic client registration), so MCP clients log in with
// nothing but the server's URL.
//
// It serves, on the origin of resource (which it therefore requires):
// authorization-server metadata at /.well-known/oauth-authorization-server
// and /.well-known/openid-configuration, dynamic client registration at
// /oauth/register (public clients, loopback or listed redirect URIs),
// client ID metadata documents, /oauth/authorize with a consent page,
// /oauth/consent, the upstream callback /oauth/callback and /oauth/token.
// The protected-resource metadata then names the site's origin as the
// authorization server. Clients receive the upstream's own access token,
// which cognito_auth validates like any other; refresh tokens wrap the
// upstream's, sealed for the client.
//
// Nothing is kept per client or per login: every record is sealed with
// AES-256-GCM under the sealing key, so any instance of a cluster with the
// same configuration and key (from key, or from shared Caddy storage)
// completes any step. Authorization codes are single-use per instance and,
// across instances, by the upstream's own single use of the code they
// wrap (see oauthproxy.UsedCodes); with cognito_auth's redis, they are
// single-use across instances in Redis too, and while Redis cannot be
// reached their redemption answers 503 rather than risk a replay.
//
// Registration, authorization and client metadata document fetches are
// limited per client IP address (rate_limit).
//
// cognito_auth must see the proxy's paths, so put it at site level (not
// inside a route for /mcp only). Caddy's access log records request URIs
// and response headers: filter the code query parameter out of
// request>uri (the upstream's code, in /oauth/callback) and of
// resp_headers>Location (the proxy's own code, in the redirect to the
// client), as for tokens. A code is useless without its PKCE verifier,
// but it is still a credential.
type OAuthProxy struct {
	// ClientID of the proxy's app client at the upstream. Its allowed
	// callback URL must be <origin of resource>/oauth/callback, with the
	// authorization code grant. It must be in client_ids too, since the
	// access tokens clients receive are issued to it.
	ClientID string `json:"client_id,omitempty"`

	// ClientSecret of that app client, sent with HTTP Basic to the token
	// endpoint; empty for a public app client. Placeholders such as
	// {env.COGNITO_CLIENT_SECRET} are replaced at start-up.
	ClientSecret string `json:"client_secret,omitempty"`

	// AuthorizeURL overrides the upstream authorization endpoint. Default:
	// from the issuer's discovery document (Cognito:
	// https://<domain>/oauth2/authorize), fetched on first use so an
	// unreachable issuer cannot keep Caddy from starting.
	AuthorizeURL string `json:"authorize_url,omitempty"`

	// TokenURL overrides the upstream token endpoint. Default: from
	// discovery.
	TokenURL string `json:"token_url,omitempty"`

	// Scopes the proxy asks the upstream for, shown on the consent page
	// and published as scopes_supported. Default: openid plus
	// cognito_auth's scopes.
	Scopes []string `json:"scopes,omitempty"`

	// RedirectURIs clients may register besides loopback http ones (any
	// port, RFC 8252), e.g. a hosted client's https callback
	// (https://claude.ai/api/mcp/auth_callback) or a custom scheme.
	// Matched exactly.
	RedirectURIs []string `json:"redirect_uris,omitempty"`

	// ForwardResource also sends resource (RFC 8707) to the upstream, for
	// providers that bind the token's audience to it (a Cognito resource
	// server whose identifier is the MCP URL). Off by default: some
	// providers (Entra ID v2) refuse the parameter.
	ForwardResource bool `json:"forward_resource,omitempty"`

	// Key is the sealing key: 32 bytes, base64. Placeholders are replaced
	// at start-up. Default: generated once and kept in Caddy's storage, so
	// every instance sharing the storage shares it.
	Key string `json:"key,omitempty"`

	// PreviousKeys still open what they sealed (registrations, refresh
	// tokens), for key rotation: put the new key in key and the old one
	// here until clients have re-registered.
	PreviousKeys []string `json:"previous_keys,omitempty"`

	// RateLimit bounds, per client IP address (IPv6: per /64), what
	// anyone can make the proxy do without credentials: registrations,
	// authorization requests and client ID metadata document fetches each
	// count one. Over the limit: 429 with Retry-After (a JSON OAuth error
	// for registration, an error page for authorization). The address is
	// Caddy's client IP, so behind a load balancer set the server's
	// trusted_proxies, or every user shares the balancer's budget.
	// Buckets survive config reloads that keep the limits. Default: 60 a
	// minute, burst 30.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`

	// NoRateLimit turns that limit off (`rate_limit off`), e.g. when a
	// front proxy limits these endpoints already.
	NoRateLimit bool `json:"no_rate_limit,omitempty"`

	server     *oauthproxy.Server
	limiterKey string
}

// The per-address limit of the proxy's unauthenticated endpoints, unless
// configured: a login costs two or three requests, so an address (a
// whole office behind one NAT) may start ten at once and one every two
// seconds after that, while no single caller can make the proxy register,
// render or fetch without bound.
const (
	defaultProxyRequests = 60
	defaultProxyWindow   = time.Minute
	defaultProxyBurst    = 30
	// maxProxyLimiters bounds the addresses tracked (LRU, with idle ones
	// dropped once refilled): a few MB at most, whatever callers send.
	maxProxyLimiters = 100000
)

// storageKey is where a generated sealing key is kept in Caddy's storage.
const (
	storageKey   = "cognito_auth/oauth_proxy/sealing_key"
	storageLock  = "cognito_auth_oauth_proxy_sealing_key"
	storageLimit = 15 * time.Second
)

// provision builds the proxy. It makes no call to the upstream.
func (p *OAuthProxy) provision(ctx caddy.Context, m *CognitoAuth) error {
	if p == nil {
		return nil
	}
	if err := p.validate(m); err != nil { // Caddy validates after provisioning; say the clear thing first
		return err
	}
	repl := caddy.NewReplacer()
	// A placeholder that resolves to nothing is a missing setting, not a
	// choice: an empty secret would turn the app client public, an empty
	// key would quietly generate another one.
	secret, err := nonEmpty(repl, "client_secret", p.ClientSecret)
	if err != nil {
		return err
	}
	key, err := nonEmpty(repl, "key", p.Key)
	if err != nil {
		return err
	}
	var current []byte
	if key != "" {
		if current, err = decodeSealingKey(key); err != nil {
			return fmt.Errorf("oauth_proxy: key: %v", err)
		}
	} else {
		if current, err = loadOrCreateKey(ctx, storageOf(ctx), m.logger); err != nil {
			return fmt.Errorf("oauth_proxy: sealing key from Caddy storage: %v (or set key)", err)
		}
	}
	var previous [][]byte
	for i, k := range p.PreviousKeys {
		b, err := decodeSealingKey(repl.ReplaceKnown(k, ""))
		if err != nil {
			return fmt.Errorf("oauth_proxy: previous_keys[%d]: %v", i, err)
		}
		previous = append(previous, b)
	}
	// Records are scoped to the resource, so one key can serve many sites.
	keys, err := oauthproxy.NewKeyRing(normalizeAudience(m.Resource), current, previous...)
	if err != nil {
		return fmt.Errorf("oauth_proxy: %v", err)
	}
	access := []string{"Use this server's tools as you"}
	if m.Vending.enabled() {
		access = append(access, "Reach AWS through those tools with your own AWS permissions")
	}
	limit, err := p.provisionRateLimit(m)
	if err != nil {
		return err
	}
	p.server, err = oauthproxy.New(oauthproxy.Config{
		Resource:     m.Resource,
		Scopes:       p.scopes(m),
		RedirectURIs: p.RedirectURIs,
		Access:       access,
		Upstream: oauthproxy.Upstream{
			Issuer:          m.issuer,
			ClientID:        p.ClientID,
			ClientSecret:    secret,
			AuthorizeURL:    p.AuthorizeURL,
			TokenURL:        p.TokenURL,
			ForwardResource: p.ForwardResource,
		},
		Keys:      keys,
		RateLimit: limit,
		UsedCodes: p.usedCodes(m),
		Logger:    m.logger.Named("oauth_proxy"),
		Now:       m.now,
	})
	if err != nil {
		return fmt.Errorf("oauth_proxy: %v", err)
	}
	if len(m.AuthorizationServers) == 0 {
		m.authServers = []string{p.server.Issuer()}
	}
	m.prmScopes = p.scopes(m)
	if m.RoleARN != "" && m.cognito {
		m.logger.Warn("oauth_proxy hands clients Cognito access tokens, which have no aud claim, but role_arn " +
			"(AssumeRoleWithWebIdentity) needs one: proxy logins will be refused by STS; use assume_role")
	}
	m.logger.Info("OAuth login proxy enabled",
		zap.String("issuer", p.server.Issuer()),
		zap.String("upstream_callback_url", p.server.CallbackURL()),
		zap.String("upstream_client_id", p.ClientID))
	return nil
}

// nonEmpty replaces the placeholders of a configured value and refuses a
// value that was set but comes out empty (an unset {env.VAR}). The error
// names the placeholders, never the value.
func nonEmpty(repl *caddy.Replacer, name, v string) (string, error) {
	out := repl.ReplaceKnown(v, "")
	if v != "" && strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("oauth_proxy: %s is empty at start-up: set %s",
			name, cmp.Or(strings.Join(envPlaceholder.FindAllString(v, -1), ", "), "a value"))
	}
	return out, nil
}

var envPlaceholder = regexp.MustCompile(`\{env\.[^{}]+\}`)

// usedCodes is the cluster's used-code set with redis; nil (the
// in-process set) without.
func (p *OAuthProxy) usedCodes(m *CognitoAuth) oauthproxy.UsedCodes {
	if m.redis == nil {
		return nil
	}
	return oauthproxy.NewRedisUsedCodes(m.redis, m.now)
}

// scopes is what the proxy asks the upstream for.
func (p *OAuthProxy) scopes(m *CognitoAuth) []string {
	if len(p.Scopes) > 0 {
		return p.Scopes
	}
	out := []string{"openid"}
	for _, s := range m.Scopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// serve answers the proxy's endpoints; false means r is not one of them.
func (p *OAuthProxy) serve(w http.ResponseWriter, r *http.Request) bool {
	return p != nil && p.server != nil && p.server.ServeHTTP(w, r)
}

func (p *OAuthProxy) cleanup() {
	if p == nil {
		return
	}
	if p.server != nil {
		p.server.Close()
		p.server = nil
	}
	if p.limiterKey != "" {
		_, _ = rateLimiters.Delete(p.limiterKey)
		p.limiterKey = ""
	}
}

// provisionRateLimit attaches the per-address buckets, shared with every
// config (and every reload) that has the same resource and limits.
func (p *OAuthProxy) provisionRateLimit(m *CognitoAuth) (oauthproxy.RateLimit, error) {
	if p.NoRateLimit {
		return oauthproxy.RateLimit{}, nil
	}
	rl := p.RateLimit
	if rl == nil {
		rl = &RateLimit{Requests: defaultProxyRequests, Window: caddy.Duration(defaultProxyWindow), Burst: defaultProxyBurst}
	}
	if err := rl.validate(); err != nil {
		return oauthproxy.RateLimit{}, fmt.Errorf("oauth_proxy %v", err)
	}
	limit := rate.Limit(float64(rl.Requests) / time.Duration(rl.Window).Seconds())
	key := fmt.Sprintf("oauth_proxy %s %d/%s burst %d", normalizeAudience(m.Resource), rl.Requests, time.Duration(rl.Window), rl.burst())
	v, _, err := rateLimiters.LoadOrNew(key, func() (caddy.Destructor, error) {
		return keylimit.New(limit, rl.burst(), maxProxyLimiters), nil
	})
	if err != nil {
		return oauthproxy.RateLimit{}, err
	}
	p.limiterKey = key
	return oauthproxy.RateLimit{Store: v.(*keylimit.Store), ClientIP: clientIP}, nil
}

// validate checks the proxy's settings and that the rest of cognito_auth
// can accept what proxy logins produce.
func (p *OAuthProxy) validate(m *CognitoAuth) error {
	if p == nil {
		return nil
	}
	if p.ClientID == "" {
		return errors.New("oauth_proxy: client_id is required (the proxy's app client at the upstream)")
	}
	if m.Resource == "" {
		return errors.New("oauth_proxy requires resource: the MCP endpoint's URL, whose origin serves the login endpoints and the callback")
	}
	for what, v := range map[string]string{"authorize_url": p.AuthorizeURL, "token_url": p.TokenURL} {
		if v != "" {
			if err := validateURL("oauth_proxy "+what, v); err != nil {
				return err
			}
		}
	}
	for _, u := range p.RedirectURIs {
		if err := validateListedRedirect(u); err != nil {
			return fmt.Errorf("oauth_proxy redirect_uris: %v", err)
		}
	}
	for _, s := range p.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f }) {
			return fmt.Errorf("oauth_proxy scopes: invalid scope %q", s)
		}
	}
	if p.RateLimit != nil && p.NoRateLimit {
		return errors.New("oauth_proxy: rate_limit is both set and off")
	}
	if err := p.RateLimit.validate(); err != nil {
		return fmt.Errorf("oauth_proxy %v", err)
	}
	for _, k := range append([]string{p.Key}, p.PreviousKeys...) {
		if k != "" && !strings.Contains(k, "{") {
			if _, err := decodeSealingKey(k); err != nil {
				return fmt.Errorf("oauth_proxy key: %v", err)
			}
		}
	}
	if m.IdentityPool != nil && m.IdentityPool.DeveloperProvider == "" {
		return errors.New("oauth_proxy cannot serve logins with identity_pool unless developer_provider is set: " +
			"proxy logins give clients access tokens, and an identity pool without a developer provider accepts only ID tokens; " +
			"set developer_provider, or use assume_role")
	}
	if m.UserPoolID != "" && m.TokenUse == "id" {
		return errors.New("oauth_proxy gives clients access tokens, but token_use is id: set token_use access (or any)")
	}
	return nil
}

// validateListedRedirect checks an operator-listed redirect URI: absolute,
// no fragment, https or a custom scheme (http only for loopback, which is
// allowed anyway), never a script scheme.
func validateListedRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.ContainsAny(raw, "# \"\\") {
		return fmt.Errorf("%q is not an absolute URI without a fragment", raw)
	}
	switch s := strings.ToLower(u.Scheme); s {
	case "javascript", "data", "vbscript", "file":
		return fmt.Errorf("%q: scheme %s is not allowed", raw, s)
	case "http":
		return fmt.Errorf("%q: http redirect URIs are only for loopback, which clients may use without listing", raw)
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	}
	return nil
}

// decodeSealingKey reads a 32-byte key in standard or URL-safe base64.
func decodeSealingKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != oauthproxy.KeyLen {
				return nil, fmt.Errorf("must be %d bytes (base64 of `openssl rand -base64 32`), not %d", oauthproxy.KeyLen, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("not base64 (generate one with `openssl rand -base64 32`)")
}

// storageOf returns the config's storage; a context without a config
// (unit tests) has none.
func storageOf(ctx caddy.Context) (st certmagic.Storage) {
	defer func() {
		if recover() != nil {
			st = nil
		}
	}()
	return ctx.Storage()
}

// loadOrCreateKey returns the sealing key kept in storage, generating and
// storing it under the storage's lock the first time, so instances
// sharing the storage agree on one key.
func loadOrCreateKey(ctx context.Context, st certmagic.Storage, log *zap.Logger) ([]byte, error) {
	if st == nil {
		return nil, errors.New("no storage configured")
	}
	ctx, cancel := context.WithTimeout(ctx, storageLimit)
	defer cancel()
	if b, err := st.Load(ctx, storageKey); err == nil {
		return decodeSealingKey(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := st.Lock(ctx, storageLock); err != nil {
		return nil, err
	}
	defer func() { _ = st.Unlock(context.WithoutCancel(ctx), storageLock) }()
	if b, err := st.Load(ctx, storageKey); err == nil { // another instance won the race
		return decodeSealingKey(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k := oauthproxy.NewKey()
	if err := st.Store(ctx, storageKey, []byte(base64.StdEncoding.EncodeToString(k))); err != nil {
		return nil, err
	}
	log.Info("generated the OAuth proxy's sealing key and stored it in Caddy's storage", zap.String("storage_key", storageKey))
	return k, nil
}
