// Package cloudwatchmcp is the http.handlers.cloudwatch_mcp module: an MCP
// server (Streamable HTTP, mark3labs/mcp-go) whose CloudWatch tools run with
// the AWS credentials cognito_auth vended for the calling user.
package cloudwatchmcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/prompts"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sessionstore"
)

func init() {
	caddy.RegisterModule(Handler{})
}

const (
	defaultSessionIdleTimeout = 30 * time.Minute
	defaultMaxQueryTimeout    = 5 * time.Minute
	// maxClients bounds the SDK client cache (identities × regions × services).
	maxClients = 1024
	// shutdownTimeout bounds how long Cleanup waits for open streams to end.
	shutdownTimeout = 5 * time.Second
)

// Handler serves the Model Context Protocol over Streamable HTTP (POST, GET
// for SSE, DELETE) with the CloudWatch tool set of the awslabs CloudWatch MCP
// server. It is a terminal handler: it answers every request routed to it.
//
// Each session is bound to the identity that created it ({http.auth.user.issuer}
// and {http.auth.user.id}, normally set by cognito_auth), and every AWS call
// is signed with the credentials found in the request, so users never share
// permissions unless `credentials default` says so.
type Handler struct {
	// Default AWS region for tool calls that name none. When empty,
	// AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
	Region string `json:"region,omitempty"`

	// Whose AWS permissions tool calls use:
	//   - `request` (default): only the credentials cognito_auth put in the
	//     request (var cognito_auth.aws_credentials); none means a tool error.
	//   - `default`: the server's default credential chain (AWS_PROFILE etc.);
	//     every caller shares the server's permissions. For local development.
	//   - `request_or_default`: the request's credentials when present, else
	//     the server's.
	// The awslabs `profile_name` tool parameter is honoured only under `default`.
	// The server's credentials are lent only to connections from this
	// machine (a loopback TCP peer or a Unix socket); others get 403 unless
	// allow_remote_default_credentials is set.
	Credentials string `json:"credentials,omitempty"`

	// Lend the server's credentials (credentials default, or
	// request_or_default for requests without vended credentials) to
	// callers on other machines too. Anyone who can reach the endpoint then
	// acts with the server's AWS permissions; a warning is logged at start.
	AllowRemoteDefaultCredentials bool `json:"allow_remote_default_credentials,omitempty"`

	// Serve without MCP sessions: no Mcp-Session-Id is issued, any instance
	// can answer any request, and the standalone GET stream is not offered
	// (405). For horizontal scale behind any load balancer.
	Stateless bool `json:"stateless,omitempty"`

	// How long a session may stay unused before it is reclaimed; its ID then
	// gets 404 and the client re-initializes. Default: 30m.
	SessionIdleTimeout caddy.Duration `json:"session_idle_timeout,omitempty"`

	// Host names (optionally host:port) this endpoint answers for; any other
	// Host header gets 403 (DNS-rebinding guard). When empty, a request that
	// arrived on a loopback connection must carry a loopback Host (localhost,
	// 127.0.0.1, [::1]) and other requests pass, because Caddy's site address
	// already matched their Host. A Caddy behind a local proxy lists its
	// public names here.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`

	// Browser origins (scheme://host[:port]) allowed besides those whose host
	// is allowed. A request with any other Origin header gets 403; requests
	// without Origin pass. Listing origins also enables CORS for them.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`

	// Tool groups to serve: logs, metrics, alarms, promql. Default: all.
	Tools []string `json:"tools,omitempty"`

	// Optional JSON file, in the shape of awslabs' metric_metadata.json,
	// merged over the embedded metric catalog.
	MetricMetadata string `json:"metric_metadata,omitempty"`

	// Upper bound for any Logs Insights wait, whatever max_timeout a caller
	// asks for. Default: 5m.
	MaxQueryTimeout caddy.Duration `json:"max_query_timeout,omitempty"`

	// Cap, in bytes, on the JSON of a tool's structured result (the text
	// content mirrors it), to spare the LLM client's context. Over it, whole
	// rows or items are dropped and a top-level `truncated` object says how
	// many and how to get the rest. Default: 262144 (256 KiB); minimum 1024.
	MaxResultBytes int `json:"max_result_bytes,omitempty"`

	// Logs Insights polling budget per AWS account and region, shared by
	// every caller acting in that account: `insights_poll_rate 2/s burst
	// 10` (the default). Waits beyond it slow down, never fail.
	InsightsPollRate *InsightsPollRate `json:"insights_poll_rate,omitempty"`

	// AWS accounts the tools may act in. Every AWS-calling tool gains an
	// optional `account` argument naming one; the handler then assumes the
	// account's role with the caller's own credentials (role chaining), so
	// IAM decides per user who may enter. The list_accounts tool shows them.
	Accounts []Account `json:"accounts,omitempty"`

	// Per-tool authorization. Each rule names tools or tool groups (logs,
	// metrics, alarms, promql) and the scopes (all required) and groups (one
	// required) a caller needs. A caller must satisfy every rule naming a
	// tool; a tool no rule names is open to every authenticated caller.
	// tools/list shows each caller only the tools they may call. A call
	// lacking scopes gets HTTP 403 with an insufficient_scope challenge (MCP
	// step-up); one lacking only a group gets a tool error naming it. The
	// scopes and groups are the lists of cognito_auth's identity (request
	// var cognito_auth.identity); behind another authentication handler,
	// {http.auth.user.scope} split on spaces and {http.auth.user.groups}
	// split on commas.
	Authorize []AuthorizeRule `json:"authorize,omitempty"`

	// Write the full query text (Logs Insights, PromQL, metric math) into
	// the audit log (logger http.handlers.cloudwatch_mcp.audit). Off by
	// default: entries carry its SHA-256 only.
	AuditQueryText bool `json:"audit_query_text,omitempty"`

	// Also serve the HTTP+SSE transport of MCP 2024-11-05 for older
	// clients, on the same route: GET <route>/sse opens the stream, which
	// announces <route>/message?sessionId=… for the client's POSTs
	// (legacysse.go). Sessions are bound to their identity and held on
	// this instance, so it cannot be combined with stateless. Off by
	// default.
	LegacySSE bool `json:"legacy_sse,omitempty"`
	// Redis (or Valkey) shared by every instance of a cluster, as
	// redis://[user:password@]host:port/db or rediss:// (TLS): the session
	// registry and the resumable events live there, so any instance serves
	// any request of any session, with no sticky routing. Session ids are
	// stored hashed, owners as keyed hashes, events sealed (AES-GCM).
	// While Redis cannot answer, session requests get 503 with Retry-After.
	Redis string `json:"redis,omitempty"`

	// The secret the cluster's instances share for session owners and
	// event encryption: base64 of 32 random bytes. Default: one generated
	// once and kept in Caddy storage, which the instances must then share.
	RedisSecret string `json:"redis_secret,omitempty"`

	logger    *zap.Logger
	now       func() time.Time
	env       *toolkit.Env
	mcp       *server.MCPServer
	transport *server.StreamableHTTPServer
	posts     *postTransports  // stateful POSTs (transport_generations.go); nil when stateless
	sessions  *sessionRegistry // nil when stateless; shared across reloads
	events    *eventStore      // nil when stateless; shared across reloads
	// sessionKey names this configuration in sessionPools.
	sessionKey string
	// store holds the sessions in Redis (redis.go); nil without redis.
	store        *sessionstore.Store
	routes       *streamRoutes // with store: this instance's POST streams
	releaseRedis func()
	toolsList    *cachedToolsList
	authz        *authorizer // nil without authorize rules
	audit        *auditor
	guard        *rebindingGuard
	bodyLimit    int64
	cleaned      bool
	legacy       *legacySSE // nil unless legacy_sse
	// legacyTick replaces legacyKeepAlive (tests).
	legacyTick time.Duration

	// auditLogger is http.handlers.cloudwatch_mcp.audit (tests observe it).
	auditLogger *zap.Logger
	// slogger is what mcp-go's transport logs to (tests observe it).
	slogger *slog.Logger

	// awsConfig replaces the default AWS configuration (tests point it at
	// the fake AWS).
	awsConfig *aws.Config
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cloudwatch_mcp",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the AWS configuration, the tools and the MCP server.
func (h *Handler) Provision(ctx caddy.Context) error {
	// The configuration as given, before defaults, names the session table.
	key, err := sessionPoolKey(ctx, h)
	if err != nil {
		return err
	}
	if h.logger == nil {
		h.logger = ctx.Logger()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.auditLogger == nil {
		h.auditLogger = ctx.Logger(h).Named("audit")
	}
	if h.slogger == nil {
		h.slogger = ctx.Slogger()
	}
	if h.bodyLimit == 0 {
		h.bodyLimit = maxBodyBytes
	}
	if h.Credentials == "" {
		h.Credentials = string(toolkit.CredRequest)
	}
	if h.SessionIdleTimeout == 0 {
		h.SessionIdleTimeout = caddy.Duration(defaultSessionIdleTimeout)
	}
	if h.MaxQueryTimeout == 0 {
		h.MaxQueryTimeout = caddy.Duration(defaultMaxQueryTimeout)
	}
	if err := h.Validate(); err != nil {
		return err
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}

	guard, err := newRebindingGuard(h.AllowedHosts, h.AllowedOrigins)
	if err != nil {
		return err
	}
	h.guard = guard

	repl := caddy.NewReplacer()
	region := cmp.Or(repl.ReplaceAll(h.Region, ""), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	if !toolkit.IsKnownRegion(region) {
		return errors.New(toolkit.UnknownRegionMessage(region))
	}

	metricCatalog, err := catalog.Load(repl.ReplaceAll(h.MetricMetadata, ""))
	if err != nil {
		return fmt.Errorf("metric_metadata: %w", err)
	}

	base, err := h.baseAWSConfig(ctx, region)
	if err != nil {
		return err
	}
	mode := toolkit.CredentialMode(h.Credentials)
	if mode == toolkit.CredRequest {
		// Tools must never fall back to the server's identity in this mode;
		// dropping the chain makes that structural, not just a code path.
		base.Credentials = nil
	}
	h.warnServerCredentials(region)

	h.env = &toolkit.Env{
		DefaultRegion:   region,
		CredentialMode:  mode,
		Clients:         toolkit.NewClients(toolkit.BoundCalls(base, time.Duration(h.MaxQueryTimeout)), maxClients),
		MaxQueryTimeout: time.Duration(h.MaxQueryTimeout),
		Catalog:         metricCatalog,
		Logger:          h.logger,
		Now:             h.now,
		Sleep:           toolkit.Sleep,
	}
	h.env.InsightsPollRate, h.env.InsightsPollBurst = h.InsightsPollRate.values()
	tools, err := h.env.Tools(h.Tools)
	if err != nil {
		return err
	}
	if err := toolkit.Prepare(tools); err != nil {
		return err
	}
	// max_result_bytes and accounts (tools.go); before the
	// authorizer, which must know list_accounts.
	tools, resultOpts, err := h.extendTools(ctx, tools)
	if err != nil {
		return err
	}

	h.audit = &auditor{logger: h.auditLogger, now: h.now, queryText: h.AuditQueryText}
	if h.authz, err = newAuthorizer(h.Authorize, tools); err != nil {
		return err
	}
	hooks := &server.Hooks{}
	hooks.AddAfterSetLevel(h.rememberLogLevel)
	served := h.servedPrompts()
	opts := append(h.auditOptions(), resultOpts...)
	opts = append(opts, h.promptOptions(served)...)
	opts = append(opts, server.WithHooks(hooks))
	opts = append(opts, h.legacyOptions()...)
	h.mcp = newMCPServer(tools, opts...)
	h.mcp.AddPrompts(prompts.Serve(h.env, served)...)
	if h.authz != nil {
		h.authz.mcp = h.mcp
	}
	if h.toolsList, err = newCachedToolsList(h.mcp); err != nil {
		return err
	}
	redisKey, err := h.provisionRedis(ctx)
	if err != nil {
		return err
	}
	if !h.Stateless {
		h.sessionKey = key + redisKey
		if err := h.loadSessions(); err != nil {
			return err
		}
	}
	h.transport = h.newTransport()
	if h.LegacySSE {
		h.legacy = h.newLegacySSE()
	}
	if !h.Stateless {
		h.posts = newPostTransports(h.newPostTransport)
	}
	return nil
}

// baseAWSConfig loads the SDK's default configuration once: region,
// endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, …)
// and, for the modes that may use it, the server's credential chain.
func (h *Handler) baseAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	if h.awsConfig != nil {
		cfg := h.awsConfig.Copy()
		cfg.Region = region
		return cfg, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

// Validate checks the configuration; Provision has filled in the defaults.
func (h *Handler) Validate() error {
	if h.Credentials != "" && !toolkit.CredentialMode(h.Credentials).Valid() {
		return fmt.Errorf("credentials must be request, default or request_or_default, not %q", h.Credentials)
	}
	if h.AllowRemoteDefaultCredentials && toolkit.CredentialMode(h.Credentials) != toolkit.CredDefault && toolkit.CredentialMode(h.Credentials) != toolkit.CredRequestOrDefault {
		return fmt.Errorf("allow_remote_default_credentials needs credentials default or request_or_default")
	}
	if h.SessionIdleTimeout < 0 {
		return fmt.Errorf("session_idle_timeout must not be negative")
	}
	if h.LegacySSE && h.Stateless {
		return fmt.Errorf("legacy_sse keeps each session on the instance holding its stream; it cannot be combined with stateless")
	}
	if h.MaxQueryTimeout < 0 {
		return fmt.Errorf("max_query_timeout must not be negative")
	}
	if err := h.InsightsPollRate.validate(); err != nil {
		return err
	}
	if err := h.validateRedis(); err != nil {
		return err
	}
	if err := h.validateResultsAndAccounts(); err != nil {
		return err
	}
	known := toolkit.Groups()
	for _, g := range h.Tools {
		if !containsString(known, g) {
			return fmt.Errorf("unknown tool group %q (known: %s)", g, strings.Join(known, ", "))
		}
	}
	return nil
}

// Cleanup ends every stream this instance holds, so a config reload leaves
// no goroutines behind. The sessions themselves stay while another loaded
// config uses the same handler configuration (sessionpool.go).
func (h *Handler) Cleanup() error {
	if h.transport == nil {
		h.cleanupRedis() // a Provision that failed after opening it
	}
	if h.transport == nil || h.cleaned {
		return nil
	}
	h.cleaned = true
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := h.transport.Shutdown(ctx)
	if h.legacy != nil {
		err = errors.Join(err, h.legacy.close(ctx))
	}
	h.releaseSessions()
	h.cleanupRedis()
	h.env.Close()
	return err
}

// ServeHTTP answers an MCP request. It never calls next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if err := h.guard.check(r); err != nil {
		return err
	}
	if err := h.checkServerCredentials(r); err != nil {
		return err
	}
	if handled, err := h.serveLegacySSE(w, r); handled {
		return err
	}
	return h.serveMCP(w, r)
}

// UnmarshalCaddyfile is in caddyfile.go.

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Account is an AWS account the tools can act in (the accounts option). It
// is defined with the role chaining that uses it, in toolkit.
type Account = toolkit.Account

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
