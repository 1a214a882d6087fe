package cloudwatchmcp

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
	"weak"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// With an event store, mcp-go's Streamable HTTP transport keeps every
// POST answered as an SSE stream in a map (resumableStreams) until the
// session ends, holding the stream and its response writer, so one busy
// session that never idles out grows it without bound. mcp-go has no way to
// drop one finished stream: only ending the whole session's transport
// state does, which would also cut the session's other streams (a
// concurrent call, the standalone GET stream).
//
// So stateful mode serves POSTs from a sequence of transport generations:
// each serves postsPerGeneration POSTs and is then replaced by a fresh one;
// a retired generation is freed, map and all, once its last request ends.
// Generations start no goroutines (no idle sweeper, no GET streams), share
// the MCP server, the session registry and the event store, and keep no
// session state that matters beyond a request: the session's log level is
// kept by the registry and reapplied to every request (sessionContext). The
// long-lived session transport (Handler.transport) still serves
// initialize, GET streams, DELETE and the client's answers to server
// requests. Memory per session is thus bounded by the requests in flight,
// not by the requests made.
//
// The session transport's idle sweeper ends a session's transport state,
// its GET stream included, once the session transport has not seen the
// session for session_idle_timeout. POSTs no longer pass through it, so a
// POST tells it, at most every quarter of the timeout (touchSessionTransport).
//
// A client resuming a broken POST stream (GET with Last-Event-ID) is
// routed to the generation that recorded the event while it lives, which
// still holds the stream and continues it live; afterwards the session
// transport replays the stored events (the stream has finished by then, or
// its generation would still be alive).
const postsPerGeneration = 128

// postTransports serves stateful POSTs from rotating generations.
type postTransports struct {
	build func(owner weak.Pointer[postGeneration]) *server.StreamableHTTPServer
	cur   atomic.Pointer[postGeneration]
}

// postGeneration is one transport and how many POSTs it has taken.
type postGeneration struct {
	t      *server.StreamableHTTPServer
	served atomic.Int64
}

func newPostTransports(build func(owner weak.Pointer[postGeneration]) *server.StreamableHTTPServer) *postTransports {
	p := &postTransports{build: build}
	p.cur.Store(p.newGeneration())
	return p
}

func (p *postTransports) newGeneration() *postGeneration {
	g := &postGeneration{}
	g.t = p.build(weak.Make(g))
	return g
}

// serve answers one POST on the current generation; the request that fills
// it replaces it for those that follow.
func (p *postTransports) serve(w http.ResponseWriter, r *http.Request) {
	g := p.cur.Load()
	if g.served.Add(1) == postsPerGeneration {
		p.cur.CompareAndSwap(g, p.newGeneration())
	}
	g.t.ServeHTTP(w, r)
}

// touchBody is a notification no handler knows: mcp-go accepts it (202)
// after marking the session active.
var touchBody = []byte(`{"jsonrpc":"2.0","method":"notifications/cloudwatch_mcp/active"}`)

// touchSessionTransport tells the session transport that session id is in
// use, at most every quarter of the idle timeout.
func (h *Handler) touchSessionTransport(r *http.Request, id string) {
	if id == "" || h.SessionIdleTimeout <= 0 || !h.sessions.touchDue(id, time.Duration(h.SessionIdleTimeout)/4) {
		return
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set(server.HeaderKeySessionID, id)
	hdr.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	h.transport.Handle(discardResponse{}, &server.HTTPRequest{
		Method:  http.MethodPost,
		Header:  hdr,
		Body:    touchBody,
		Context: context.WithValue(r.Context(), releaseOnlyKey{}, true),
	})
}

// sessionContext is the transports' HTTP context func: it gives the
// request's session the log level its client set, wherever the request
// is served.
func (h *Handler) sessionContext(ctx context.Context, _ *http.Request) context.Context {
	s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithLogging)
	if !ok || s == nil {
		return ctx
	}
	if level := h.sessions.logLevel(s.SessionID()); level != "" && s.GetLogLevel() != level {
		s.SetLogLevel(level)
	}
	if h.store != nil {
		h.sessions.applyShared(s)
	}
	return ctx
}

// rememberLogLevel is the mcp-go hook after logging/setLevel: the level is
// kept with the session in the registry.
func (h *Handler) rememberLogLevel(ctx context.Context, _ any, req *mcp.SetLevelRequest, _ *mcp.EmptyResult) {
	if s := server.ClientSessionFromContext(ctx); s != nil && h.sessions != nil {
		h.sessions.setLogLevel(s.SessionID(), req.Params.Level)
	}
}
