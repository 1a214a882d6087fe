package cloudwatchmcp

import (
	"time"
	"weak"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const serverInstructions = "Amazon CloudWatch tools (Logs, Logs Insights, Metrics, Alarms). " +
	"Every AWS call runs with your own AWS permissions. Times are ISO 8601; a time without a zone is UTC."

// newMCPServer builds the protocol server: tools and logging capabilities,
// and recovery so a panicking tool becomes an error instead of a dead stream.
// opts (tool filters, middleware) apply inside the recovery middleware.
func newMCPServer(tools []server.ServerTool, opts ...server.ServerOption) *server.MCPServer {
	s := server.NewMCPServer("caddy-cloudwatch-mcp", toolkit.Version,
		server.WithToolCapabilities(false),
		server.WithLogging(),
		// Outermost, so recovered panics are counted as errors.
		server.WithToolHandlerMiddleware(toolMetrics(tools)),
		server.WithRecovery(),
		server.WithInstructions(serverInstructions),
		// No server.WithLogger: it logs every request at INFO with its
		// session ID; Caddy's access log already records requests.
	)
	for _, o := range opts {
		o(s)
	}
	s.AddTools(tools...)
	return s
}

// transportOptions are what every Streamable HTTP transport of the
// handler shares.
func (h *Handler) transportOptions() []server.StreamableHTTPOption {
	opts := []server.StreamableHTTPOption{
		// guard.go applies mcp-go's loopback rule itself, plus allowed_hosts
		// and Origin, so it can answer 403 through Caddy's error handling.
		server.WithDisableLocalhostProtection(true),
		server.WithStreamableHTTPLogger(h.slogger),
	}
	if origins := h.guard.corsOrigins(); len(origins) > 0 {
		opts = append(opts, server.WithStreamableHTTPCORS(
			server.WithCORSAllowedOrigins(origins...),
			server.WithCORSAllowedHeaders("Content-Type", "Authorization", "Mcp-Session-Id",
				"Mcp-Protocol-Version", "Last-Event-ID", "Mcp-Method", "Mcp-Name"),
			server.WithCORSExposedHeaders("Mcp-Session-Id", "WWW-Authenticate"),
		))
	}
	return opts
}

// newTransport builds the Streamable HTTP transport for the handler's
// mode; in stateful mode it is the session transport, and POSTs other
// than initialize go to rotating generations (transport_generations.go).
func (h *Handler) newTransport() *server.StreamableHTTPServer {
	opts := h.transportOptions()
	if h.Stateless {
		// A standalone GET stream needs a session to attach to, and an
		// event store keyed on the empty session would grow forever.
		opts = append(opts, server.WithStateLess(true), server.WithDisableStreaming(true))
	} else {
		opts = append(opts,
			server.WithSessionIdManagerResolver(h.sessions),
			// Without a store, a notification taken off the channel while
			// the response is being written is dropped (mcp-go PR #969).
			server.WithEventStore(h.eventStoreFor(weak.Pointer[postGeneration]{})),
			server.WithSessionIdleTTL(time.Duration(h.SessionIdleTimeout)),
			server.WithHTTPContextFunc(h.sessionContext),
		)
	}
	return server.NewStreamableHTTPServer(h.mcp, opts...)
}

// newPostTransport builds one POST transport generation: the session
// transport's options without its idle sweeper (a generation holds no
// session beyond a request, and starts no goroutine).
func (h *Handler) newPostTransport(owner weak.Pointer[postGeneration]) *server.StreamableHTTPServer {
	return server.NewStreamableHTTPServer(h.mcp, append(h.transportOptions(),
		server.WithSessionIdManagerResolver(h.sessions),
		server.WithEventStore(h.eventStoreFor(owner)),
		server.WithHTTPContextFunc(h.sessionContext),
	)...)
}

// eventStoreFor is the event store of a transport (owner: its POST
// generation, zero for the session transport): in Redis with redis.
func (h *Handler) eventStoreFor(owner weak.Pointer[postGeneration]) server.EventStore {
	if h.store != nil {
		return sharedEvents{store: h.store, owner: owner, routes: h.routes}
	}
	return registeredEvents{eventStore: h.events, reg: h.sessions, owner: owner}
}
