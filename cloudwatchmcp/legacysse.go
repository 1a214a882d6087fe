package cloudwatchmcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The HTTP+SSE transport of MCP 2024-11-05 (legacy_sse), for clients
// that predate Streamable HTTP. On the handler's route <route>:
//
//	GET  <route>/sse                      opens the stream; its first event,
//	                                      `endpoint`, names the POST URL
//	POST <route>/message?sessionId=<id>   takes one JSON-RPC message (202);
//	                                      the answer arrives on the stream
//
// mcp-go's SSEServer speaks the protocol; this file puts the Streamable
// path's rules around it. Every request has passed the Host/Origin guard
// and the authentication handler in front. A session is bound to the
// identity that opened its stream, and is held in a registry of its own
// (idle timeout, caps per identity and in total, the sessions_active
// gauge): a POST from another identity gets 403, an unknown or ended
// session 404. Tool calls run with the POST's own request (credentials,
// scopes, audit identity) through the same mcp-go server, so authorize,
// the audit log, the result cap and the tool metrics apply unchanged.
const (
	legacyStreamSuffix  = "/sse"
	legacyMessageSuffix = "/message"
	// legacyKeepAlive is how often an open stream gets an SSE comment, so
	// proxies keep it open, and is checked for idleness. A comment needs
	// no answer from the client (a JSON-RPC ping would cost a POST).
	legacyKeepAlive = 30 * time.Second
)

// legacySSE serves the legacy transport for one handler instance.
type legacySSE struct {
	h    *Handler
	srv  *server.SSEServer
	reg  *sessionRegistry
	tick time.Duration

	mu      sync.Mutex
	streams map[string]*legacyStream // open streams by session ID
	closed  bool
	open    sync.WaitGroup // stream handlers running
}

// legacyStreamKey carries the *legacyStream of a GET (to mcp-go's session
// ID generator) and of a POST (to the tool middleware).
type legacyStreamKey struct{}

func (h *Handler) newLegacySSE() *legacySSE {
	l := &legacySSE{
		h:       h,
		reg:     newSessionRegistry(time.Duration(h.SessionIdleTimeout), h.now),
		tick:    legacyKeepAlive,
		streams: map[string]*legacyStream{},
	}
	if h.legacyTick > 0 {
		l.tick = h.legacyTick
	}
	// A session that ends (idle, evicted by a cap) takes its stream along.
	l.reg.onEnd = l.endStream
	opts := []server.SSEOption{
		// guard.go has checked Host and Origin already.
		server.WithSSEDisableLocalhostProtection(true),
		server.WithDynamicBasePath(legacyBasePath),
		server.WithSessionIDGenerator(l.startSession),
	}
	if origins := h.guard.corsOrigins(); len(origins) > 0 {
		opts = append(opts, server.WithSSECORS(
			server.WithCORSAllowedOrigins(origins...),
			server.WithCORSAllowedHeaders("Content-Type", "Authorization"),
			server.WithCORSExposedHeaders("WWW-Authenticate"),
		))
	}
	l.srv = server.NewSSEServer(h.mcp, opts...)
	return l
}

// legacyOptions are the mcp-go server options legacy_sse needs: a tool
// call ends when its stream does, as a Streamable HTTP call ends with its
// request (mcp-go runs legacy messages on a context that never ends).
func (h *Handler) legacyOptions() []server.ServerOption {
	if !h.LegacySSE {
		return nil
	}
	return []server.ServerOption{server.WithToolHandlerMiddleware(legacyCallBound)}
}

func legacyCallBound(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		st, ok := ctx.Value(legacyStreamKey{}).(*legacyStream)
		if !ok {
			return next(ctx, req)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(st.ctx, cancel)
		defer stop()
		return next(ctx, req)
	}
}

// serveLegacySSE answers the legacy transport's paths; handled is false
// for every other request.
func (h *Handler) serveLegacySSE(w http.ResponseWriter, r *http.Request) (handled bool, err error) {
	path := r.URL.Path
	if h.legacy == nil {
		// Off: say so to a legacy client opening its stream, rather than
		// the Streamable path's 400 for a GET without a session.
		if r.Method == http.MethodGet && strings.HasSuffix(path, legacyStreamSuffix) && r.Header.Get(server.HeaderKeySessionID) == "" {
			return true, caddyhttp.Error(http.StatusNotFound,
				errors.New("the legacy HTTP+SSE transport is not enabled (cloudwatch_mcp legacy_sse); use Streamable HTTP"))
		}
		return false, nil
	}
	l := h.legacy
	switch {
	case strings.HasSuffix(path, legacyStreamSuffix):
		if r.Method == http.MethodOptions && h.guard.cors() {
			l.srv.SSEHandler().ServeHTTP(w, r)
			return true, nil
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			return true, caddyhttp.Error(http.StatusMethodNotAllowed, errors.New("the legacy SSE stream is opened with GET"))
		}
		return true, l.serveStream(w, r)
	case strings.HasSuffix(path, legacyMessageSuffix):
		if r.Method == http.MethodOptions && h.guard.cors() {
			l.srv.MessageHandler().ServeHTTP(w, r)
			return true, nil
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			return true, caddyhttp.Error(http.StatusMethodNotAllowed, errors.New("legacy SSE messages are sent with POST"))
		}
		return true, l.serveMessage(w, r)
	}
	return false, nil
}

// legacyBasePath is <route> as the client addressed it: the path before
// any rewrite or handle_path strip, less /sse.
func legacyBasePath(r *http.Request, _ string) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil &&
		strings.HasSuffix(orig.URL.Path, legacyStreamSuffix) {
		return strings.TrimSuffix(orig.URL.EscapedPath(), legacyStreamSuffix)
	}
	return strings.TrimSuffix(r.URL.EscapedPath(), legacyStreamSuffix)
}

// serveStream runs one GET stream until the client leaves, its session
// ends or the handler is cleaned up.
func (l *legacySSE) serveStream(w http.ResponseWriter, r *http.Request) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return caddyhttp.Error(http.StatusServiceUnavailable, errors.New("the handler is being replaced; reconnect"))
	}
	l.open.Add(1)
	l.mu.Unlock()
	defer l.open.Done()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	fw := newFlushWriter(w)
	defer fw.release()
	st := &legacyStream{l: l, owner: identityOf(r), ctx: ctx, cancel: cancel, w: fw, cors: l.h.guard.cors()}
	defer st.finish()
	l.srv.SSEHandler().ServeHTTP(st, r.WithContext(context.WithValue(ctx, legacyStreamKey{}, st)))
	return nil
}

// startSession is mcp-go's session ID generator: it issues the session in
// the registry, bound to the stream's identity, and starts the keep-alive.
func (l *legacySSE) startSession(ctx context.Context, _ *http.Request) (string, error) {
	st, ok := ctx.Value(legacyStreamKey{}).(*legacyStream)
	if !ok {
		return "", errors.New("legacy SSE stream without its state")
	}
	id := l.reg.create(st.owner)
	l.mu.Lock()
	l.streams[id] = st
	l.mu.Unlock()
	st.mu.Lock()
	st.id = id
	st.timer = time.AfterFunc(l.tick, st.keepAlive)
	st.mu.Unlock()
	return id, nil
}

// endStream is the registry's onEnd (called under its lock): the
// session's stream, if open, closes.
func (l *legacySSE) endStream(id string) {
	l.mu.Lock()
	st := l.streams[id]
	delete(l.streams, id)
	l.mu.Unlock()
	if st != nil {
		st.cancel()
	}
}

// serveMessage takes one POSTed message for a session of the caller's.
func (l *legacySSE) serveMessage(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("sessionId")
	if id == "" {
		return caddyhttp.Error(http.StatusBadRequest, errors.New("missing sessionId: open the stream at <route>/sse and POST to the endpoint it announces"))
	}
	switch l.reg.use(id, identityOf(r)) {
	case sessionUnknown:
		return caddyhttp.Error(http.StatusNotFound, errors.New("unknown or ended MCP session: open a new stream"))
	case sessionForeign:
		return caddyhttp.Error(http.StatusForbidden, errors.New("this MCP session belongs to another identity"))
	}
	body, err := readBody(w, r, l.h.bodyLimit)
	if err != nil {
		return err
	}
	l.mu.Lock()
	st := l.streams[id]
	l.mu.Unlock()
	if st == nil {
		return caddyhttp.Error(http.StatusNotFound, errors.New("unknown or ended MCP session: open a new stream"))
	}
	// The audit log names the session as for Streamable HTTP.
	r.Header.Set(server.HeaderKeySessionID, id)
	msg := peekMessage(body)
	if l.h.authz != nil && msg.method == string(mcp.MethodToolsCall) {
		if r, err = l.h.checkCall(w, r, msg); r == nil {
			return err
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	l.srv.MessageHandler().ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), legacyStreamKey{}, st)))
	return nil
}

// close ends every stream and waits, up to ctx, for their handlers.
func (l *legacySSE) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	open := make([]*legacyStream, 0, len(l.streams))
	for _, st := range l.streams {
		open = append(open, st)
	}
	l.mu.Unlock()
	for _, st := range open {
		st.cancel()
	}
	l.srv.CloseSessions()
	done := make(chan struct{})
	go func() {
		l.open.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("legacy SSE streams still open after the shutdown timeout")
	}
}

var errStreamClosed = errors.New("the legacy SSE stream has closed")

// legacyStream is one GET stream: the response writer mcp-go writes its
// events to, shared with the keep-alive timer.
type legacyStream struct {
	l      *legacySSE
	owner  string
	ctx    context.Context // ends with the stream
	cancel context.CancelFunc
	cors   bool

	mu      sync.Mutex // serializes writes; guards the fields below
	w       *flushWriter
	id      string
	timer   *time.Timer
	done    bool
	started bool
}

func (st *legacyStream) Header() http.Header { return st.w.Header() }

func (st *legacyStream) WriteHeader(code int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.startLocked()
	st.w.WriteHeader(code)
}

func (st *legacyStream) Write(p []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return 0, errStreamClosed
	}
	st.startLocked()
	return st.w.Write(p)
}

func (st *legacyStream) Flush() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.done {
		st.w.Flush()
	}
}

// Unwrap lets http.ResponseController reach Caddy's writers.
func (st *legacyStream) Unwrap() http.ResponseWriter { return st.w }

// startLocked fixes the headers before the first byte: mcp-go allows any
// origin to read the stream unless CORS is configured, and a bearer
// protected stream is nobody else's business.
func (st *legacyStream) startLocked() {
	if st.started {
		return
	}
	st.started = true
	if !st.cors {
		st.w.Header().Del("Access-Control-Allow-Origin")
	}
	st.w.Header().Set("X-Accel-Buffering", "no")
}

// keepAlive runs every tick: an idle session ends (and with it the
// stream); a live one gets an SSE comment.
func (st *legacyStream) keepAlive() {
	st.mu.Lock()
	id := st.id
	st.mu.Unlock()
	if st.l.reg.lookup(id, st.owner, false) != sessionOK {
		st.cancel()
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	if _, err := io.WriteString(st.w, ": keep-alive\n\n"); err != nil {
		st.cancel()
		return
	}
	st.w.Flush()
	st.timer.Reset(st.l.tick)
}

// finish runs when the stream's handler returns: nothing writes to the
// response any more, and the session ends with its stream.
func (st *legacyStream) finish() {
	st.mu.Lock()
	st.done = true
	if st.timer != nil {
		st.timer.Stop()
	}
	id := st.id
	st.mu.Unlock()
	st.cancel()
	if id != "" {
		st.l.reg.end(id, "", false)
		st.l.mu.Lock()
		if st.l.streams[id] == st {
			delete(st.l.streams, id)
		}
		st.l.mu.Unlock()
	}
}

// Interface guards
var (
	_ http.ResponseWriter = (*legacyStream)(nil)
	_ http.Flusher        = (*legacyStream)(nil)
)
