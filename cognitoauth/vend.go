package cognitoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sharedhttp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/spans"
)

// Vending exchanges a verified identity for short-lived AWS credentials
// that belong to that user, and stores them in the request var
// cognito_auth.aws_credentials (an aws.CredentialsProvider whose rendered
// forms never show the secret). At most one mode may be set: identity_pool,
// role_arn, assume_role or identity_center. With none, cognito_auth only
// authenticates.
//
// The AWS SDK clients are built once, at provision, with the standard AWS
// configuration chain, so the usual environment variables apply: the
// server's own credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE, web identity, container or instance roles) sign the calls
// that AWS requires to be signed (assume_role, identity_center, and
// identity_pool with developer_provider). To send the calls elsewhere, e.g.
// to LocalStack or another emulator, set AWS_ENDPOINT_URL for all services
// or AWS_ENDPOINT_URL_COGNITO_IDENTITY, AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO per service.
// AWS_MAX_ATTEMPTS tunes SDK retries, which run within exchange_timeout.
//
// Credentials are cached per issuer, subject, mode and role (never per
// token), renewed when less than refresh_before remains, and never served
// once expired. Concurrent first requests of one user share one exchange.
//
// When AWS refuses the token or the role, the request gets 403 with
// error="invalid_token" or "insufficient_scope"; when AWS is unreachable,
// slow or throttling, 503 with Retry-After.
//
// Placeholders set on success: {http.auth.user.aws_identity_id} (the
// Cognito identity ID, identity_pool) and {http.auth.user.aws_role_session}
// (the role session name, role_arn and assume_role).
type Vending struct {
	// IdentityPool vends through a Cognito identity pool (GetId, then
	// GetCredentialsForIdentity). The pool accepts only ID tokens from a
	// user pool or OIDC provider; for access tokens, set developer_provider.
	IdentityPool *IdentityPoolVending `json:"identity_pool,omitempty"`

	// RoleARN vends through STS AssumeRoleWithWebIdentity with the bearer
	// token, for this IAM role. The role must trust the token's issuer as
	// an IAM OIDC provider, and the token must carry an aud claim (Cognito
	// ID tokens do; Cognito access tokens do not).
	RoleARN string `json:"role_arn,omitempty"`

	// AssumeRole vends through STS AssumeRole on this IAM role, signed with
	// the server's own AWS credentials, once per user: the session name and
	// SourceIdentity come from the token's sub, and the session carries the
	// tags sub, email and client_id where present and valid. Works with any
	// token type and attributes every AWS call to the user in CloudTrail.
	AssumeRole string `json:"assume_role,omitempty"`

	// IdentityCenter vends the user's own permission-set credentials
	// through IAM Identity Center: ssooidc CreateTokenWithIAM (JWT-bearer
	// grant, signed with the server's credentials), then
	// sso GetRoleCredentials.
	IdentityCenter *IdentityCenterVending `json:"identity_center,omitempty"`

	// SessionDuration is the lifetime requested for role_arn and assume_role
	// sessions, between 15m and 12h (the role's maximum session duration
	// applies too). Default: 1h. Identity pools and Identity Center fix the
	// lifetime themselves.
	SessionDuration caddy.Duration `json:"session_duration,omitempty"`

	// RefreshBefore renews credentials when less than this remains of their
	// lifetime. Must be shorter than the session. Default: 5m.
	RefreshBefore caddy.Duration `json:"refresh_before,omitempty"`

	// AWSRegion is the region of the vending services (Cognito Identity,
	// STS, Identity Center). Default: the identity pool's region, else the
	// user pool's, else AWS_REGION.
	AWSRegion string `json:"aws_region,omitempty"`

	// CredentialsCacheSize bounds how many identities' credentials are
	// cached; the least recently used are dropped first. Default: 10000.
	CredentialsCacheSize int `json:"credentials_cache_size,omitempty"`

	// ExchangeTimeout bounds one credential exchange with AWS, retries
	// included; a request also stops waiting when its own context ends.
	// Default: 5s.
	ExchangeTimeout caddy.Duration `json:"exchange_timeout,omitempty"`

	auth          *CognitoAuth
	mode          exchanger
	credCache     *credCache
	credCacheKey  string // in credCaches, shared across reloads
	releaseHTTP   func() // drops the shared HTTP client
	httpClient    aws.HTTPClient
	probeURLs     []string // the vending endpoints, for health checks
	ctx           context.Context
	cancel        context.CancelFunc
	refreshBefore time.Duration
	timeout       time.Duration
}

// IdentityPoolVending configures the identity_pool mode.
type IdentityPoolVending struct {
	// ID of the identity pool, "<region>:<uuid>".
	ID string `json:"id,omitempty"`

	// DeveloperProvider is the developer provider name of the pool. When
	// set, access tokens are accepted too: the server (signing with its own
	// credentials) calls GetOpenIdTokenForDeveloperIdentity with the sub as
	// the developer user identifier, then GetCredentialsForIdentity with
	// the resulting token. ID tokens still use the pool's login provider.
	DeveloperProvider string `json:"developer_provider,omitempty"`

	// CustomRoleARN is passed to GetCredentialsForIdentity to pick one of
	// the roles the pool's rules allow for the user.
	CustomRoleARN string `json:"custom_role_arn,omitempty"`
}

// IdentityCenterVending configures the identity_center mode.
type IdentityCenterVending struct {
	// ApplicationARN of the customer-managed Identity Center application
	// with the JWT-bearer grant (trusted token issuer) and the
	// sso:account:access scope enabled. It is the ClientId of
	// CreateTokenWithIAM.
	ApplicationARN string `json:"application_arn,omitempty"`

	// AccountID is the 12-digit AWS account to get credentials for.
	AccountID string `json:"account_id,omitempty"`

	// RoleName is the permission set (role) name assigned to the user in
	// that account.
	RoleName string `json:"role_name,omitempty"`
}

const (
	defaultSessionDuration = time.Hour
	defaultRefreshBefore   = 5 * time.Minute
	defaultExchangeTimeout = 5 * time.Second
)

// exchanger is one vending mode.
type exchanger interface {
	// name is the mode, as in the Caddyfile.
	name() string
	// check refuses identities the mode cannot serve before any AWS call.
	check(id *Identity) *authError
	// key fills the mode-specific parts of id's cache key.
	key(id *Identity) credKey
	// exchange calls AWS. prev holds the credentials being renewed.
	exchange(ctx context.Context, id *Identity, token string, prev *Credentials) (vended, error)
	// endpoints are the URLs exchange calls, as the SDK resolves them;
	// the health check probes them.
	endpoints(ctx context.Context) ([]string, error)
}

// vended is what an exchange yields.
type vended struct {
	creds       aws.Credentials
	identityID  string
	roleSession string
}

var (
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$`)
	identityPoolPattern = regexp.MustCompile(`^([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	roleARNPattern      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	appARNPattern       = regexp.MustCompile(`^arn:aws[a-z-]*:sso::\d{12}:application/[\w.-]+/apl-[\w.-]+$`)
	accountIDPattern    = regexp.MustCompile(`^\d{12}$`)
	permissionSetName   = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
	developerProviderRE = regexp.MustCompile(`^[\w.-]{1,128}$`)
)

// provisionVending prepares the configured vending mode: it resolves the
// region, loads the server's AWS configuration and builds the SDK clients.
func (v *Vending) provisionVending(ctx caddy.Context, m *CognitoAuth) error {
	v.auth = m
	if err := v.validateVending(); err != nil {
		return err
	}
	if !v.enabled() {
		return nil
	}
	region := v.AWSRegion
	if region == "" && v.IdentityPool != nil {
		region = identityPoolPattern.FindStringSubmatch(v.IdentityPool.ID)[1]
	}
	if region == "" && m.cognito {
		region = m.Region
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("credential vending: loading the AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		return errors.New("credential vending: no AWS region: set aws_region (or AWS_REGION)")
	}
	// One keep-alive pool for every config's exchanges (internal/sharedhttp).
	cfg.HTTPClient, v.releaseHTTP = sharedhttp.Client("cognito_auth", cfg.HTTPClient)
	// A span per exchange call under Caddy's `tracing` (nothing without).
	cfg.APIOptions = spans.AWS(cfg.APIOptions)

	switch {
	case v.IdentityPool != nil:
		v.mode = newIdentityPoolMode(cfg, v.IdentityPool)
		if v.IdentityPool.DeveloperProvider == "" && m.cognito && m.tokenUse == "access" {
			m.logger.Warn("identity_pool without developer_provider accepts only ID tokens, but token_use is access: "+
				"every request will be refused with 403; set token_use id (or any), or developer_provider",
				zap.String("identity_pool", v.IdentityPool.ID))
		}
	case v.RoleARN != "":
		v.mode = newWebIdentityMode(cfg, v.RoleARN, v.sessionDuration())
	case v.AssumeRole != "":
		v.mode = newAssumeRoleMode(cfg, v.AssumeRole, v.sessionDuration())
	case v.IdentityCenter != nil:
		v.mode = newIdentityCenterMode(cfg, v.IdentityCenter)
	}
	v.httpClient = cfg.HTTPClient
	if v.probeURLs, err = v.mode.endpoints(ctx); err != nil {
		return fmt.Errorf("credential vending: resolving the %s endpoint: %v", v.mode.name(), err)
	}
	if v.SessionDuration != 0 && (v.IdentityPool != nil || v.IdentityCenter != nil) {
		m.logger.Warn("session_duration has no effect with "+v.mode.name()+": AWS fixes the credential lifetime there",
			zap.Duration("session_duration", time.Duration(v.SessionDuration)))
	}

	v.refreshBefore = time.Duration(v.RefreshBefore)
	if v.refreshBefore == 0 {
		v.refreshBefore = defaultRefreshBefore
	}
	v.timeout = time.Duration(v.ExchangeTimeout)
	if v.timeout == 0 {
		v.timeout = defaultExchangeTimeout
	}
	size := v.CredentialsCacheSize
	if size == 0 {
		size = defaultCredentialsCacheSize
	}
	if err := v.shareCredCache(cfg, size); err != nil {
		return err
	}
	v.ctx, v.cancel = context.WithCancel(ctx)
	m.logger.Debug("AWS credential vending enabled", zap.String("mode", v.mode.name()), zap.String("aws_region", cfg.Region))
	return nil
}

// VendsCredentials reports whether this configuration, as parsed, puts the
// caller's AWS credentials into every request it lets through:
// authentication on and a vending mode set. The Caddyfile adapter uses it
// to refuse a cloudwatch_mcp that waits for credentials nobody vends.
func (m *CognitoAuth) VendsCredentials() bool {
	return (m.Enabled == nil || *m.Enabled) && m.Vending.enabled()
}

func (v *Vending) enabled() bool {
	return v.IdentityPool != nil || v.RoleARN != "" || v.AssumeRole != "" || v.IdentityCenter != nil
}

func (v *Vending) sessionDuration() time.Duration {
	if v.SessionDuration == 0 {
		return defaultSessionDuration
	}
	return time.Duration(v.SessionDuration)
}

// validateVending checks the vending configuration without side effects.
func (v *Vending) validateVending() error {
	modes := 0
	if v.IdentityPool != nil {
		modes++
		if err := validateIdentityPool(v.IdentityPool); err != nil {
			return inOption("identity_pool", err)
		}
	}
	if v.RoleARN != "" {
		modes++
		if err := validateRoleARN("role_arn", v.RoleARN); err != nil {
			return inOption("role_arn", err)
		}
	}
	if v.AssumeRole != "" {
		modes++
		if err := validateRoleARN("assume_role", v.AssumeRole); err != nil {
			return inOption("assume_role", err)
		}
	}
	if v.IdentityCenter != nil {
		modes++
		if err := validateIdentityCenter(v.IdentityCenter); err != nil {
			return inOption("identity_center", err)
		}
	}
	if modes > 1 {
		return errors.New("credential vending: at most one of identity_pool, role_arn, assume_role and identity_center may be set")
	}
	if err := validateSessionDuration(time.Duration(v.SessionDuration)); err != nil {
		return inOption("session_duration", err)
	}
	// Identity pools always vend for one hour; the refresh window must fit.
	lifetime := v.sessionDuration()
	if v.IdentityPool != nil || v.IdentityCenter != nil {
		lifetime = time.Hour
	}
	if rb := time.Duration(v.RefreshBefore); rb < 0 || rb >= lifetime {
		return optionErrorf("refresh_before", "credential vending: refresh_before must be between 0 and %v (the credential lifetime), not %v", lifetime, rb)
	}
	if v.AWSRegion != "" {
		if !regionPattern.MatchString(v.AWSRegion) {
			return optionErrorf("aws_region", "credential vending: aws_region %q is not an AWS region (like us-east-1)", v.AWSRegion)
		}
		if v.IdentityPool != nil && !strings.HasPrefix(v.IdentityPool.ID, v.AWSRegion+":") {
			return optionErrorf("aws_region", "credential vending: identity pool %q is not in aws_region %q", v.IdentityPool.ID, v.AWSRegion)
		}
	}
	if v.CredentialsCacheSize < 0 {
		return optionErrorf("credentials_cache_size", "credential vending: credentials_cache_size must not be negative")
	}
	if t := time.Duration(v.ExchangeTimeout); t < 0 || t > time.Minute {
		return optionErrorf("exchange_timeout", "credential vending: exchange_timeout must be between 0 and 1m, not %v", t)
	}
	return nil
}

func validateIdentityPool(p *IdentityPoolVending) error {
	if !identityPoolPattern.MatchString(p.ID) {
		return fmt.Errorf("identity_pool: %q is not an identity pool ID (<region>:<uuid>, like us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11)", p.ID)
	}
	if p.DeveloperProvider != "" && !developerProviderRE.MatchString(p.DeveloperProvider) {
		return fmt.Errorf("identity_pool: developer_provider %q must be 1-128 characters of letters, digits, '.', '_' and '-'", p.DeveloperProvider)
	}
	if p.CustomRoleARN != "" {
		return validateRoleARN("identity_pool: custom_role_arn", p.CustomRoleARN)
	}
	return nil
}

func validateRoleARN(what, arn string) error {
	if !roleARNPattern.MatchString(arn) {
		return fmt.Errorf("%s: %q is not an IAM role ARN (like arn:aws:iam::123456789012:role/name)", what, arn)
	}
	return nil
}

func validateIdentityCenter(ic *IdentityCenterVending) error {
	if !appARNPattern.MatchString(ic.ApplicationARN) {
		return fmt.Errorf("identity_center: %q is not an Identity Center application ARN (like arn:aws:sso::123456789012:application/ssoins-1111111111111111/apl-1111111111111111)", ic.ApplicationARN)
	}
	if !accountIDPattern.MatchString(ic.AccountID) {
		return fmt.Errorf("identity_center: account ID %q must be 12 digits", ic.AccountID)
	}
	if !permissionSetName.MatchString(ic.RoleName) {
		return fmt.Errorf("identity_center: %q is not a permission set name", ic.RoleName)
	}
	return nil
}

func validateSessionDuration(d time.Duration) error {
	if d != 0 && (d < 15*time.Minute || d > 12*time.Hour) {
		return fmt.Errorf("credential vending: session_duration must be between 15m and 12h, not %v", d)
	}
	return nil
}

// cleanupVending stops in-flight exchanges. It tolerates a partial
// provision and repeated calls.
func (v *Vending) cleanupVending() error {
	if v.cancel != nil {
		v.cancel()
	}
	v.releaseShared()
	return nil
}

// vend exchanges the verified identity for AWS credentials and stores them
// in the request vars. It is a no-op when no vending mode is configured.
//
// Failures are returned as a caddyhttp.Error (403 or 503) wrapping an
// *authError, so the caller can render the RFC 6750 challenge (or
// Retry-After) with its rejection helper, and handle_errors routes see the
// status either way.
func (v *Vending) vend(r *http.Request, id *Identity, rawToken string) error {
	if v.mode == nil {
		return nil
	}
	if aerr := v.mode.check(id); aerr != nil {
		aerr.id = id
		return caddyhttp.Error(aerr.status, aerr)
	}
	key := v.cacheKey(id)
	creds, fresh := v.credCache.get(key, v.auth.now(), v.refreshBefore)
	countCredCacheLookup(creds, fresh)
	_, span := spans.Start(r.Context(), spanVend)
	if span != nil {
		defer span.End()
		span.SetAttributes(attrMode.String(v.mode.name()), attrCache.String(vendCache(creds, fresh)))
	}
	if !fresh {
		var err error
		creds, err = v.credCache.fetch(r.Context(), v.ctx, key, creds, v.auth.now, v.timeout,
			func(ctx context.Context, prev *Credentials) (*Credentials, error) {
				ctx = withSpan(ctx, span)
				start := time.Now()
				out, err := v.mode.exchange(ctx, id, rawToken, prev)
				observeExchange(v.mode.name(), start, err)
				if err != nil {
					v.logFailure(err, id)
					return nil, err
				}
				return newCredentials(out.creds, v.mode.name(), out.identityID, out.roleSession, v.auth.now), nil
			}, isRefusal)
		if err != nil {
			aerr := v.failure(err, id)
			if span != nil {
				endAuthSpan(span, aerr)
			}
			return caddyhttp.Error(aerr.status, aerr)
		}
	}
	if span != nil {
		endAuthSpan(span, nil)
	}
	caddyhttp.SetVar(r.Context(), CredentialsVar, creds)
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if creds.identityID != "" {
			repl.Set("http.auth.user.aws_identity_id", creds.identityIDAny)
		}
		if creds.roleSession != "" {
			repl.Set("http.auth.user.aws_role_session", creds.roleSessionAny)
		}
	}
	return nil
}

// cacheKey identifies whose credentials these are (see credKey).
func (v *Vending) cacheKey(id *Identity) credKey {
	k := v.mode.key(id)
	k.issuer, k.subject = id.Issuer, id.Subject
	return k
}

// awsCallError ties an SDK error to the operation that failed.
type awsCallError struct {
	op     string
	signed bool // signed with the server's credentials
	err    error
}

func (e *awsCallError) Error() string { return e.op + ": " + e.err.Error() }
func (e *awsCallError) Unwrap() error { return e.err }

// refusal codes: AWS has looked at the user's token or role and said no.
var (
	tokenRefusals = map[string]string{
		"NotAuthorizedException":        "AWS refused the token for credentials",
		"InvalidIdentityToken":          "AWS refused the token for credentials",
		"InvalidIdentityTokenException": "AWS refused the token for credentials",
		"ExpiredToken":                  "token expired for AWS",
		"ExpiredTokenException":         "token expired for AWS",
		"IDPRejectedClaim":              "identity provider rejected the token",
		"IDPRejectedClaimException":     "identity provider rejected the token",
		"InvalidGrantException":         "AWS refused the token for credentials",
		"UnauthorizedException":         "AWS refused the token for credentials",
	}
	roleRefusals = map[string]string{
		"AccessDenied":          "not permitted to obtain AWS credentials for the role",
		"AccessDeniedException": "not permitted to obtain AWS credentials for the role",
		"ForbiddenException":    "not permitted to obtain AWS credentials for the role",
		"InvalidScopeException": "not permitted to obtain AWS credentials for the role",
	}
	// serverKeyCodes concern the server's own signing credentials.
	serverKeyCodes = map[string]bool{
		"ExpiredToken": true, "ExpiredTokenException": true, "InvalidClientTokenId": true,
		"UnrecognizedClientException": true, "SignatureDoesNotMatch": true, "InvalidSignatureException": true,
		"IncompleteSignature": true, "MissingAuthenticationToken": true,
	}
)

// refusal classifies err: status 403 with an RFC 6750 code when AWS refused
// the user, else 0.
func refusal(err error) (code, reason string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", ""
	}
	c := ae.ErrorCode()
	var ce *awsCallError
	if errors.As(err, &ce) && ce.signed && serverKeyCodes[c] {
		return "", ""
	}
	if r, ok := tokenRefusals[c]; ok {
		return "invalid_token", r
	}
	if r, ok := roleRefusals[c]; ok {
		return "insufficient_scope", r
	}
	return "", ""
}

func isRefusal(err error) bool {
	code, _ := refusal(err)
	return code != ""
}

// failure turns an exchange error into the request's answer: 403 when AWS
// refused the user, else 503 (throttling, 5xx, timeouts, connection and
// configuration problems), so a failed exchange is never a 500.
func (v *Vending) failure(err error, id *Identity) *authError {
	if code, reason := refusal(err); code != "" {
		return &authError{status: http.StatusForbidden, code: code, reason: reason, id: id, cause: err}
	}
	return &authError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
		reason: "AWS credentials temporarily unavailable, retry later", id: id, cause: err}
}

// logFailure logs a failed exchange once (however many requests waited
// for it), with the AWS operation, error code and request ID.
func (v *Vending) logFailure(err error, id *Identity) {
	fields := []zap.Field{zap.String("mode", v.mode.name()), zap.String("sub", logValue(id.Subject)), zap.Error(err)}
	var ce *awsCallError
	if errors.As(err, &ce) {
		fields = append(fields, zap.String("aws_operation", ce.op))
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		fields = append(fields, zap.String("aws_error_code", ae.ErrorCode()))
	}
	var rid interface{ ServiceRequestID() string }
	if errors.As(err, &rid) {
		fields = append(fields, zap.String("aws_request_id", rid.ServiceRequestID()))
	}
	switch {
	case isRefusal(err):
		v.auth.logger.Info("AWS refused credentials", fields...)
	case ce != nil && ce.signed && ae != nil && serverKeyCodes[ae.ErrorCode()]:
		v.auth.logger.Error("AWS refused the server's own credentials for a signed call", fields...)
	default:
		v.auth.logger.Warn("AWS credential exchange failed", fields...)
	}
}
