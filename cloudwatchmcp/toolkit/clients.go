package toolkit

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/middleware"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/buildinfo"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sharedhttp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/spans"
)

// version is this module's version from the build information
// (buildinfo): the MCP server's implementation version and the user agent
// of every AWS and PromQL request.
var Version = buildinfo.Version()

// Clients holds SDK clients per (credentials identity, region, service)
// in a bounded LRU. awslabs builds a new session and client on every call;
// reusing them keeps the connection pool and the resolved endpoints warm.
// All clients share one HTTP transport.
type Clients struct {
	Base aws.Config // endpoint overrides, HTTP client, user agent, retries
	max  int

	mu    sync.Mutex
	ll    *list.List
	items map[string]*list.Element

	profMu   sync.Mutex
	profiles map[string]aws.CredentialsProvider

	release func() // gives back the shared HTTP client
}

type cacheEntry struct {
	key    string
	client any
}

func NewClients(base aws.Config, max int) *Clients {
	// One keep-alive pool for every config's tool calls (internal/sharedhttp).
	var release func()
	base.HTTPClient, release = sharedhttp.Client("cloudwatch_mcp", base.HTTPClient)
	base.APIOptions = append(append([]func(*middleware.Stack) error{}, base.APIOptions...),
		awsmiddleware.AddUserAgentKeyValue("caddy-cloudwatch-mcp", Version),
		// Every attempt's request id goes to the calling tool's audit entry.
		addRequestIDRecorder)
	// A span per AWS operation under Caddy's `tracing` (nothing without).
	base.APIOptions = spans.AWS(base.APIOptions)
	if max <= 0 {
		max = 1024
	}
	return &Clients{Base: base, max: max, ll: list.New(), items: map[string]*list.Element{}, profiles: map[string]aws.CredentialsProvider{}, release: release}
}

// callTimeoutID names BoundCalls' middleware (Live Tail removes it).
const callTimeoutID = "cloudwatchmcpCallTimeout"

// BoundCalls caps every SDK operation (all its retries included) at d. The
// SDK's HTTP client has no overall timeout, so a CloudWatch endpoint that
// accepts the connection and never answers would hold the tool call until
// the MCP client gave up; with the cap it becomes an isError result ("the
// AWS call timed out"). max_query_timeout bounds Insights waits, so no
// single call may take longer than that either.
func BoundCalls(cfg aws.Config, d time.Duration) aws.Config {
	if d <= 0 {
		return cfg
	}
	cfg.APIOptions = append(append([]func(*middleware.Stack) error{}, cfg.APIOptions...), func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc(callTimeoutID,
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	return cfg
}

// get returns the cached client for key or builds one.
func (c *Clients) get(key string, build func() any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*cacheEntry).client
	}
	cl := build()
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, client: cl})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
	return cl
}

// close releases the shared HTTP client; Cleanup calls it.
func (c *Clients) Close() { c.release() }

// len reports how many clients are cached.
func (c *Clients) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

func (c *Clients) Config(region string, creds aws.CredentialsProvider) aws.Config {
	cfg := c.Base.Copy()
	cfg.Region = region
	cfg.Credentials = creds
	return cfg
}

// defaultChain returns the server's own credentials for a profile ("" =
// the default chain), loaded once per profile.
func (c *Clients) defaultChain(ctx context.Context, profile string) (aws.CredentialsProvider, error) {
	c.profMu.Lock()
	defer c.profMu.Unlock()
	if p, ok := c.profiles[profile]; ok {
		return p, nil
	}
	if profile == "" && c.Base.Credentials != nil {
		c.profiles[profile] = c.Base.Credentials
		return c.Base.Credentials, nil
	}
	cfg, err := loadDefaultConfig(ctx, profile)
	if err != nil {
		return nil, err
	}
	c.profiles[profile] = cfg.Credentials
	return cfg.Credentials, nil
}

// LogsClient returns a CloudWatch Logs client for the caller in region.
func (e *Env) LogsClient(ctx context.Context, region, profile string) (*cloudwatchlogs.Client, error) {
	return cachedClient(ctx, e, region, profile, "logs", func(cfg aws.Config) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg)
	})
}

// CloudWatchClient returns a CloudWatch (metrics, alarms) client for the
// caller in region.
func (e *Env) CloudWatchClient(ctx context.Context, region, profile string) (*cloudwatch.Client, error) {
	return cachedClient(ctx, e, region, profile, "monitoring", func(cfg aws.Config) *cloudwatch.Client {
		return cloudwatch.NewFromConfig(cfg)
	})
}

// cachedClient returns the caller's client of one service in region, built
// once per (credentials identity, region, service).
func cachedClient[T any](ctx context.Context, e *Env, region, profile, service string, build func(aws.Config) T) (T, error) {
	cfg, id, err := e.SigningConfig(ctx, region, profile)
	if err != nil {
		var zero T
		return zero, err
	}
	return e.Clients.get(id+"|"+cfg.Region+"|"+service, func() any { return build(cfg) }).(T), nil
}

// SigningConfig returns an aws.Config for the caller in region, for callers
// that sign requests themselves (PromQL). The cache key names the
// credentials identity.
func (e *Env) SigningConfig(ctx context.Context, region, profile string) (aws.Config, string, error) {
	region, err := e.Region(region)
	if err != nil {
		return aws.Config{}, "", err
	}
	creds, id, err := e.CallerCredentials(ctx, profile)
	if err != nil {
		return aws.Config{}, "", err
	}
	cfg := e.Clients.Config(region, creds)
	// Requests signed outside the SDK stack report their ids to the audit
	// entry through the HTTP client instead.
	cfg.HTTPClient = requestIDRecordingClient{cfg.HTTPClient}
	return cfg, id, nil
}
