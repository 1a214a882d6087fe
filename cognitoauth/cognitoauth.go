// Package cognitoauth provides the http.handlers.cognito_auth middleware:
// it verifies bearer JWTs from an Amazon Cognito user pool or any OpenID
// Connect issuer, answers like an OAuth 2.0 protected resource (RFC 6750
// challenges, RFC 9728 metadata) and hands the verified identity to the
// rest of the route through placeholders and the cognito_auth.identity var.
package cognitoauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
)

func init() {
	caddy.RegisterModule(CognitoAuth{})
}

// defaultLeeway tolerates clock skew between us and the issuer.
const defaultLeeway = 30 * time.Second

// CognitoAuth authenticates requests by their `Authorization: Bearer` JWT.
//
// It sets these placeholders for a verified caller: `{http.auth.user.id}`
// (the sub claim; also the access log's user_id), `{http.auth.user.username}`,
// `{http.auth.user.email}`, `{http.auth.user.client_id}`,
// `{http.auth.user.groups}` (comma-separated), `{http.auth.user.scope}`
// (space-separated), `{http.auth.user.issuer}` and
// `{http.auth.user.token_use}` ("access" or "id"). Inside one group or
// scope, '%', the separator and control characters (for scopes, any
// whitespace) are percent-encoded, so split first, then percent-decode each
// item; the group "dev,sre" is published as "dev%2Csre". On rejection,
// `{http.auth.cognito_auth.error}` holds the reason.
//
// CORS preflights (OPTIONS with both Origin and
// Access-Control-Request-Method) pass without a token, because browsers
// never send credentials with them: the handler after cognito_auth must
// answer them (e.g. `@preflight method OPTIONS` with `header` and
// `respond 204`), or browsers cannot call the endpoint.
type CognitoAuth struct {
	// AWS region of the Cognito user pool, e.g. "us-east-1". Used with
	// user_pool_id.
	Region string `json:"region,omitempty"`

	// Cognito user pool ID, e.g. "us-east-1_AbC123xyz". The issuer becomes
	// https://cognito-idp.<region>.amazonaws.com/<user_pool_id> and keys
	// come from <issuer>/.well-known/jwks.json. Exactly one of
	// user_pool_id and issuer must be set.
	UserPoolID string `json:"user_pool_id,omitempty"`

	// Issuer URL of any OpenID Connect provider. The iss claim must equal
	// it exactly; keys are found through
	// <issuer>/.well-known/openid-configuration unless jwks_url is set.
	Issuer string `json:"issuer,omitempty"`

	// JWKSURL overrides where signing keys are fetched from, in both modes.
	JWKSURL string `json:"jwks_url,omitempty"`

	// ClientIDs lists the accepted app clients. Cognito: the client_id
	// claim of access tokens, the aud claim of ID tokens. Other issuers:
	// the client_id (or azp) claim, else aud.
	ClientIDs []string `json:"client_ids,omitempty"`

	// Audiences lists accepted aud values (the claim may be a string or an
	// array). For MCP, this is the server's canonical URL; URL values match
	// regardless of scheme/host case and a trailing slash. Required with
	// issuer unless resource is set, which then serves as the audience;
	// with that default and client_ids set, an access token that has no
	// aud at all (Cognito's shape) is accepted when its client_id claim
	// is one of client_ids.
	Audiences []string `json:"audiences,omitempty"`

	// TokenUse is the accepted Cognito token_use: "access" (default), "id"
	// or "any". Only valid with user_pool_id.
	TokenUse string `json:"token_use,omitempty"`

	// Scopes that must all be granted (scope claim), else 403
	// insufficient_scope.
	Scopes []string `json:"scopes,omitempty"`

	// Groups of which the caller must be in at least one (cognito:groups,
	// or a groups claim), else 403.
	Groups []string `json:"groups,omitempty"`

	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Default: 30s.
	Leeway caddy.Duration `json:"leeway,omitempty"`

	// Resource is the canonical URL of the protected endpoint, published in
	// the OAuth protected resource metadata (RFC 9728). Default: the
	// request's scheme and host plus the requested path.
	Resource string `json:"resource,omitempty"`

	// AuthorizationServers are published in the protected resource
	// metadata. Default: the issuer.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`

	// Enabled turns authentication off when false: every request passes
	// unauthenticated (a warning is logged at start-up). Default: true.
	Enabled *bool `json:"enabled,omitempty"`

	// CacheSize bounds the verified-token cache, which lets repeated
	// requests with the same token skip signature verification. Entries
	// never outlive the token's exp. Default: 10000; negative disables it.
	CacheSize int `json:"cache_size,omitempty"`

	// CacheIdle is how long an identity's verified token and vended
	// credentials stay cached without a request; after it the next request
	// verifies the token again and, with vending, makes one exchange.
	// Bounds the memory of users who went away well before their tokens
	// and credentials expire. Default: 30m; negative keeps entries until
	// they expire or are evicted by size.
	CacheIdle caddy.Duration `json:"cache_idle,omitempty"`

	// RateLimit bounds the requests of each verified identity; over it,
	// 429 with Retry-After. Default: no limit.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`

	// Redis is the URL of a Redis (or Valkey) that every instance of a
	// cluster shares: redis://[user:password@]host:port/db, or rediss://
	// for TLS; go-redis URL parameters such as read_timeout=500ms tune the
	// client (defaults: 500ms to connect, 250ms to read or write).
	// Placeholders such as {env.REDIS_URL} are replaced at start-up. With
	// it, rate_limit is one exact budget per user across all instances,
	// and oauth_proxy authorization codes are single-use across instances.
	// If Redis cannot be reached, rate limits fall back to each instance's
	// own buckets and code redemption answers 503 until it is back. Redis
	// holds SHA-256 digests of identities and code identifiers, never a
	// token, sub or credential. Default: none (state per instance).
	Redis string `json:"redis,omitempty"`

	// OAuthProxy makes this handler the MCP authorization server in front
	// of the issuer's login (see OAuthProxy), so MCP clients log in with
	// nothing but the server's URL. Requires resource.
	OAuthProxy *OAuthProxy `json:"oauth_proxy,omitempty"`
	// Health answers GET and HEAD of one path without a token, for load
	// balancers: 200 when signing keys are loaded and the AWS vending
	// service is reachable, else 503. Default: no health endpoint.
	Health *Health `json:"health,omitempty"`

	// Vending exchanges the verified identity for AWS credentials.
	Vending

	disabled     bool
	cognito      bool
	issuer       string
	tokenUse     string
	leeway       time.Duration
	audiences    []string // normalized
	scopeJoined  string
	authServers  []string
	prmURL       string
	resourcePath string
	keys         *keySource
	keysKey      string
	cache        *tokenCache
	sweeper      *idleSweeper // nil when cache_idle is negative
	sampler      *logSampler  // bounds the INFO lines about refused requests
	redis        *redisclient.Client
	releaseRedis func()

	// audienceFromResource: audiences defaulted to resource, so a token
	// without any aud is bound by its client_id instead (see checkClaims).
	audienceFromResource bool
	// prmScopes is scopes_supported of the resource metadata.
	prmScopes []string

	// lastPRM memoises metadataURL for the last request origin and path,
	// so requests without a configured resource do not allocate it.
	lastPRM *atomic.Pointer[derivedPRM]

	logger *zap.Logger
	now    func() time.Time
}

// CaddyModule returns the Caddy module information.
func (CognitoAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cognito_auth",
		New: func() caddy.Module { return new(CognitoAuth) },
	}
}

// Provision derives the verification settings and attaches the shared
// key source. It fetches nothing: keys load on the first request, so an
// unreachable issuer cannot keep Caddy from starting.
func (m *CognitoAuth) Provision(ctx caddy.Context) error {
	m.logger = ctx.Logger(m)
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.disabled = m.Enabled != nil && !*m.Enabled
	m.sampler = newLogSampler()

	var jwksURL string
	switch {
	case m.UserPoolID != "" && m.Issuer == "":
		m.cognito = true
		m.issuer = "https://cognito-idp." + m.Region + ".amazonaws.com/" + m.UserPoolID
		jwksURL = m.issuer + "/.well-known/jwks.json"
	case m.Issuer != "" && m.UserPoolID == "":
		m.issuer = m.Issuer
	default:
		return errors.New("exactly one of user_pool_id and issuer must be set")
	}
	if m.JWKSURL != "" {
		jwksURL = m.JWKSURL
	}
	m.tokenUse = m.TokenUse
	if m.tokenUse == "" {
		m.tokenUse = "access"
	}
	m.leeway = time.Duration(m.Leeway)
	if m.leeway == 0 {
		m.leeway = defaultLeeway
	}
	auds := m.Audiences
	if len(auds) == 0 && !m.cognito && m.Resource != "" {
		auds = []string{m.Resource}
		m.audienceFromResource = true
	}
	m.audiences = make([]string, len(auds))
	for i, a := range auds {
		m.audiences[i] = normalizeAudience(a)
	}
	m.scopeJoined = strings.Join(m.Scopes, " ")
	m.authServers = m.AuthorizationServers
	if len(m.authServers) == 0 {
		m.authServers = []string{m.issuer}
	}
	m.lastPRM = new(atomic.Pointer[derivedPRM])
	if m.Resource != "" {
		var err error
		if m.prmURL, m.resourcePath, err = resourceMetadataURL(m.Resource); err != nil {
			return fmt.Errorf("resource: %v", err)
		}
	}
	m.prmScopes = m.Scopes
	if err := m.provisionRedis(); err != nil {
		return err
	}
	if err := m.OAuthProxy.provision(ctx, m); err != nil {
		return err
	}
	if m.CacheSize >= 0 {
		size := m.CacheSize
		if size == 0 {
			size = defaultCacheSize
		}
		m.cache = newTokenCache(size)
	}

	m.keysKey = poolKey(jwksURL, m.issuer)
	src, _, err := keySources.LoadOrNew(m.keysKey, func() (caddy.Destructor, error) {
		return newKeySource(jwksURL, m.issuer), nil
	})
	if err != nil {
		m.keysKey = ""
		return err
	}
	m.keys = src.(*keySource)
	if err := m.RateLimit.provision(m); err != nil {
		return err
	}
	if err := m.Health.provision(m); err != nil {
		return err
	}

	if m.disabled {
		m.logger.Warn("AUTHENTICATION DISABLED: cognito_auth passes every request through without checking tokens",
			zap.String("issuer", m.issuer))
	} else if m.cognito && len(m.ClientIDs) == 0 {
		m.logger.Warn("no client_ids configured: tokens of every app client of the user pool are accepted",
			zap.String("issuer", m.issuer))
	}
	if err := m.Vending.provisionVending(ctx, m); err != nil {
		return err
	}
	idle := time.Duration(m.CacheIdle)
	if idle == 0 {
		idle = defaultCacheIdle
	}
	m.startIdleSweeper(idle)
	return nil
}

// Validate checks the configuration. It does no I/O, so
// UnmarshalCaddyfile runs it too and `caddy adapt` reports mistakes with
// their file and line.
func (m *CognitoAuth) Validate() error {
	if (m.UserPoolID == "") == (m.Issuer == "") {
		return errors.New("exactly one of user_pool (user_pool_id) and issuer must be set")
	}
	if m.UserPoolID != "" {
		if err := validateUserPool(m.Region, m.UserPoolID); err != nil {
			return inOption("user_pool", err)
		}
	} else {
		if err := validateURL("issuer", m.Issuer); err != nil {
			return inOption("issuer", err)
		}
		if m.TokenUse != "" {
			return optionErrorf("token_use", "token_use applies to Cognito user pools only")
		}
		if len(m.Audiences) == 0 && m.Resource == "" {
			return optionErrorf("issuer", "issuer requires audiences (or resource), so that tokens minted for other clients are rejected")
		}
	}
	if m.JWKSURL != "" {
		if err := validateURL("jwks_url", m.JWKSURL); err != nil {
			return inOption("jwks_url", err)
		}
	}
	switch m.TokenUse {
	case "", "access", "id", "any":
	default:
		return optionErrorf("token_use", "token_use must be access, id or any, not %q", m.TokenUse)
	}
	if m.Leeway < 0 || time.Duration(m.Leeway) > 10*time.Minute {
		return optionErrorf("leeway", "leeway must be between 0 and 10m")
	}
	if m.Resource != "" {
		if err := validateURL("resource", m.Resource); err != nil {
			return inOption("resource", err)
		}
	}
	for _, s := range m.AuthorizationServers {
		if err := validateURL("authorization_servers", s); err != nil {
			return inOption("authorization_servers", err)
		}
	}
	for _, l := range []struct {
		option string
		values []string
	}{{"client_ids", m.ClientIDs}, {"audiences", m.Audiences}, {"scopes", m.Scopes}, {"groups", m.Groups}} {
		if err := validateListValues(l.option, l.values); err != nil {
			return err
		}
	}
	if err := m.RateLimit.validate(); err != nil {
		return inOption("rate_limit", err)
	}
	if err := m.validateRedis(); err != nil {
		return err
	}
	if err := m.OAuthProxy.validate(m); err != nil {
		return inOption("oauth_proxy", err)
	}
	if err := m.Health.validate(); err != nil {
		return inOption("health", err)
	}
	if m.Health != nil && m.OAuthProxy != nil && strings.HasPrefix(m.Health.Path, "/oauth/") {
		return optionErrorf("health", "health: path %q is under /oauth/, where oauth_proxy serves the login", m.Health.Path)
	}
	return m.Vending.validateVending()
}

// Cleanup releases the shared key source; the last config using it stops
// its goroutines.
func (m *CognitoAuth) Cleanup() error {
	var err error
	if m.keysKey != "" {
		_, err = keySources.Delete(m.keysKey)
		m.keysKey = ""
	}
	m.stopIdleSweeper()
	m.OAuthProxy.cleanup()
	m.Health.cleanup()
	err = errors.Join(err, m.RateLimit.cleanup(), m.Vending.cleanupVending())
	m.cleanupRedis() // after its users
	return err
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (m *CognitoAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if m.Health.matches(r) {
		m.Health.serve(w, r)
		return nil
	}
	if m.disabled {
		return next.ServeHTTP(w, r)
	}
	if m.servePRM(w, r) || m.OAuthProxy.serve(w, r) {
		return nil
	}
	if isPreflight(r) {
		return next.ServeHTTP(w, r)
	}
	if aerr := checkAuthorization(r); aerr != nil {
		return m.reject(w, r, aerr)
	}
	tok, present := bearerToken(r)
	if !present {
		return m.reject(w, r, errNoToken)
	}
	id, aerr := m.authenticateTraced(r.Context(), tok)
	if aerr != nil {
		return m.reject(w, r, aerr)
	}
	if !hasAllScopes(id.Scopes, m.Scopes) {
		return m.reject(w, r, &authError{status: http.StatusForbidden, code: "insufficient_scope",
			reason: "missing required scope", id: id})
	}
	if !hasAnyGroup(id.Groups, m.Groups) {
		return m.reject(w, r, &authError{status: http.StatusForbidden, code: "insufficient_scope",
			reason: "not in a permitted group", id: id})
	}
	setIdentity(r, id, m.metadataURL(r))
	if c := m.logger.Check(zapcore.DebugLevel, "authenticated"); c != nil {
		c.Write(zap.Object("identity", id))
	}
	if handled, err := m.RateLimit.admit(w, r, id, m.now()); handled {
		return err
	}
	if err := m.Vending.vend(r, id, tok); err != nil {
		// Vending wraps its refusals (403) and outages (503) as *authError
		// so they get the same challenge, body and log line as ours.
		var aerr *authError
		if errors.As(err, &aerr) {
			return m.reject(w, r, aerr)
		}
		return err
	}
	validationOK.Inc()
	return next.ServeHTTP(w, r)
}

// authenticate returns the identity for a token, from the verified-token
// cache when possible.
func (m *CognitoAuth) authenticate(tok string) (*Identity, *authError) {
	id, _, aerr := m.authenticateHit(tok)
	return id, aerr
}

// authenticateHit is authenticate, also saying whether the identity came
// from the cache.
func (m *CognitoAuth) authenticateHit(tok string) (*Identity, bool, *authError) {
	now := m.now()
	if m.cache == nil {
		id, aerr := m.verifyTimed(tok, now)
		return id, false, aerr
	}
	key := hashToken(tok)
	if id := m.cache.get(key, now); id != nil {
		return id, true, nil
	}
	id, aerr := m.verifyTimed(tok, now)
	if aerr == nil {
		m.cache.put(key, id, now)
	}
	return id, false, aerr
}

// isPreflight reports a CORS preflight as the Fetch standard defines it:
// OPTIONS with both Origin and Access-Control-Request-Method. Browsers send
// preflights without credentials by design, so they pass without a token
// and the next handler must answer them (cloudwatch_mcp does not); without
// Origin an OPTIONS is an ordinary request and needs a token.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// bearerToken reads the token from the Authorization header only: query
// strings end up in access logs and cookies invite CSRF. present is false
// when there is no Bearer credential at all; an empty one is returned as
// present so it is reported as invalid.
func bearerToken(r *http.Request) (tok string, present bool) {
	v := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// Interface guards
var (
	_ caddy.Provisioner           = (*CognitoAuth)(nil)
	_ caddy.Validator             = (*CognitoAuth)(nil)
	_ caddy.CleanerUpper          = (*CognitoAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*CognitoAuth)(nil)
	_ caddyfile.Unmarshaler       = (*CognitoAuth)(nil)
)
