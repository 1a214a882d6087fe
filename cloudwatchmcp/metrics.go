package cloudwatchmcp

import (
	"context"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/promreg"
)

// The collectors are package-level, like Caddy's own admin and config
// metrics: every config load gets a fresh registry (caddy.Context), and
// registering the same collectors there keeps counters monotonic across
// reloads. The tool label only ever holds names of the tools this package
// registers; nothing from a request, session or identity becomes a label.
const (
	metricsNamespace = "caddy"
	metricsSubsystem = "cloudwatch_mcp"
)

// Values of the outcome label of caddy_cloudwatch_mcp_tool_calls_total.
const (
	outcomeOK     = "ok"     // a result
	outcomeError  = "error"  // an isError result or a protocol error
	outcomeDenied = "denied" // AWS or an authorize rule refused the caller
)

var (
	// toolCallsTotal counts tool calls that reached a tool handler; calls
	// of unknown tools are protocol errors answered by mcp-go beforehand.
	toolCallsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "tool_calls_total",
		Help:      "MCP tool calls by tool, outcome (ok, error, denied) and error_kind (none, throttled, access_denied, invalid_argument, timeout, aws_error, internal).",
	}, []string{"tool", "outcome", "error_kind"})

	// toolDuration is how long a tool handler ran, AWS calls and Logs
	// Insights polling included, whatever the outcome.
	toolDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "tool_duration_seconds",
		Help:      "Duration of MCP tool calls by tool.",
		Buckets:   []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"tool"})

	// sessionsActive counts the MCP sessions held by all cloudwatch_mcp
	// handlers (stateful mode); ended, idled-out and evicted sessions
	// leave it.
	sessionsActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "sessions_active",
		Help:      "Number of active MCP sessions.",
	})
)

var collectors = []prometheus.Collector{toolCallsTotal, toolDuration, sessionsActive}

// registerMetrics adds the collectors to a config's registry. Several
// cloudwatch_mcp handlers provision against the same registry, so finding
// our own collectors already there is fine; anything else is a clash.
func registerMetrics(reg *prometheus.Registry) error {
	return promreg.Register(reg, collectors...)
}

// toolObservers are one tool's series, resolved once per provision: ok,
// and every (outcome, error_kind) a failed call can have.
type toolObservers struct {
	ok       prometheus.Counter
	failed   map[failureLabels]prometheus.Counter
	duration prometheus.Observer
}

type failureLabels struct{ outcome, kind string }

func newToolObservers(name string) *toolObservers {
	o := &toolObservers{
		ok:       toolCallsTotal.WithLabelValues(name, outcomeOK, toolkit.KindNone),
		failed:   map[failureLabels]prometheus.Counter{},
		duration: toolDuration.WithLabelValues(name),
	}
	for _, kind := range toolkit.ErrorKinds {
		o.failed[failureLabels{outcomeError, kind}] = toolCallsTotal.WithLabelValues(name, outcomeError, kind)
	}
	o.failed[failureLabels{outcomeDenied, toolkit.KindAccessDenied}] = toolCallsTotal.WithLabelValues(name, outcomeDenied, toolkit.KindAccessDenied)
	return o
}

// countFailure counts a failed call; a denial always has kind
// access_denied, and an error any kind of errorKinds.
func (o *toolObservers) countFailure(outcome, kind string) {
	if outcome == outcomeDenied {
		kind = toolkit.KindAccessDenied
	}
	c, ok := o.failed[failureLabels{outcome, kind}]
	if !ok {
		c = o.failed[failureLabels{outcomeError, toolkit.KindInternal}]
	}
	c.Inc()
}

// toolMetrics returns the mcp-go middleware that counts and times the
// calls of tools. It must be the outermost tool middleware, so that a
// panic recovered further in is seen as the error it becomes.
func toolMetrics(tools []server.ServerTool) server.ToolHandlerMiddleware {
	obs := make(map[string]*toolObservers, len(tools))
	for _, t := range tools {
		obs[t.Tool.Name] = newToolObservers(t.Tool.Name)
	}
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			o := obs[req.Params.Name]
			if o == nil {
				return next(ctx, req)
			}
			// The record the tool (and the audit) note the failure on.
			ctx, rec := toolkit.WithRecord(ctx)
			ctx, span := startToolSpan(ctx, req.Params.Name)
			start := time.Now()
			res, err := next(ctx, req)
			o.duration.Observe(time.Since(start).Seconds())
			outcome := toolOutcome(res, err)
			if span != nil {
				endToolSpan(span, outcome, res)
			}
			if outcome == outcomeOK {
				o.ok.Inc()
			} else {
				o.countFailure(outcome, rec.FailureOf(err).Kind)
			}
			return res, err
		}
	}
}

// deniedPrefixes start the messages of permission refusals: AWS's (as
// ErrorMessage renders them) and the authorize rules' group refusal
// (groupMessage). The scope refusal names the tool first, hence
// deniedScopes.
var deniedPrefixes = []string{
	"AWS error AccessDeniedException:", "AWS error AccessDenied:", "AWS error UnauthorizedOperation:",
	"permission denied: ",
}

const deniedScopes = " requires the OAuth scopes "

func toolOutcome(res *mcp.CallToolResult, err error) string {
	if err != nil || res == nil {
		return outcomeError
	}
	if !res.IsError {
		return outcomeOK
	}
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			for _, p := range deniedPrefixes {
				if strings.HasPrefix(tc.Text, p) {
					return outcomeDenied
				}
			}
			if strings.Contains(tc.Text, deniedScopes) {
				return outcomeDenied
			}
			break
		}
	}
	return outcomeError
}
