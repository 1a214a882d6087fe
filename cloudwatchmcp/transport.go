package cloudwatchmcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel/trace"
)

// maxBodyBytes caps a POSTed JSON-RPC message. Tool arguments are small; a
// cap keeps one client from making the server buffer arbitrary amounts.
const maxBodyBytes = 1 << 20

// flushWriter gives mcp-go the http.Flusher it type-asserts for. Caddy's
// response writer wrappers (encode, access-log recorder, idle timeouts)
// implement FlushError for http.ResponseController instead, and without
// Flush mcp-go refuses GET streams (405) and never upgrades POSTs to SSE.
type flushWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func newFlushWriter(w http.ResponseWriter) *flushWriter {
	return &flushWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
}

// Flush sends buffered bytes through every wrapper to the client.
func (f *flushWriter) Flush() { _ = f.rc.Flush() }

// release drops the response once the request is over, for whatever of
// mcp-go's still refers to this writer; nothing writes to it then.
func (f *flushWriter) release() {
	f.ResponseWriter, f.rc = nil, nil
}

// Unwrap lets http.ResponseController (mcp-go's write deadlines) reach the
// writers underneath.
func (f *flushWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// serveMCP applies the transport rules mcp-go leaves to its host (body cap,
// a missing session is 400 rather than 404, sessions bound to identities)
// and hands the request to the Streamable HTTP server.
func (h *Handler) serveMCP(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodPost, http.MethodDelete, http.MethodHead:
	case http.MethodGet:
		if h.Stateless {
			// No session means no standalone stream. Answered here, not by
			// mcp-go, which logs the raw Mcp-Session-Id header of every
			// refused GET at INFO, whatever its size.
			return methodNotAllowed(w, r, statelessMethods)
		}
	case http.MethodOptions:
		if !h.guard.cors() {
			return methodNotAllowed(w, r, h.allowedMethods())
		}
	default:
		return methodNotAllowed(w, r, h.allowedMethods())
	}

	version := r.Header.Get(mcp.HeaderProtocolVersion)
	if version != "" && !mcp.IsValidProtocolVersion(version) {
		return caddyhttp.Error(http.StatusBadRequest,
			fmt.Errorf("unsupported MCP-Protocol-Version %.64q (supported: %s)", version, strings.Join(mcp.ValidProtocolVersions, ", ")))
	}

	var msg peekedMessage
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = readBody(w, r, h.bodyLimit)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		msg = peekMessage(body)
		var span trace.Span
		if r, span = startMessageSpan(r, msg); span != nil {
			defer span.End()
		}
	}

	if h.sessions != nil && (r.Method == http.MethodPost || r.Method == http.MethodGet || r.Method == http.MethodDelete) {
		if err := h.checkSession(w, r, msg, version); err != nil {
			return err
		}
	}

	if h.authz != nil && msg.method == string(mcp.MethodToolsCall) {
		var err error
		if r, err = h.checkCall(w, r, msg); r == nil {
			return err
		}
	}

	if msg.method == string(mcp.MethodToolsList) && msg.cacheable(version) {
		// With authorize rules, each permission set has its own list.
		if h.authz != nil {
			return h.authz.writeToolsList(w, r, msg.id)
		}
		if h.toolsList != nil {
			return h.toolsList.write(w, msg.id)
		}
	}

	if h.sessions != nil && msg.method == string(mcp.MethodInitialize) {
		return h.serveInitialize(w, r, body)
	}
	fw := newFlushWriter(w)
	// mcp-go may keep its view of the writer past the request (a
	// generation's stream map); it must not keep the response with it.
	defer fw.release()
	switch {
	case h.posts != nil && r.Method == http.MethodPost && !msg.isResponse():
		if !mcp.IsModernProtocol(version) && !mcp.IsModernProtocol(msg.metaVersion) {
			// checkSession has vouched for the session ID.
			h.touchSessionTransport(r, r.Header.Get(server.HeaderKeySessionID))
		}
		h.posts.serve(fw, r)
	case h.posts != nil && r.Method == http.MethodGet && r.Header.Get("Last-Event-ID") != "":
		// Resume on the generation holding the stream, while it lives.
		if g := h.resumeOwner(r.Context(), r.Header.Get(server.HeaderKeySessionID), r.Header.Get("Last-Event-ID")); g != nil {
			g.t.ServeHTTP(fw, r)
			return nil
		}
		h.transport.ServeHTTP(fw, r)
	default:
		h.transport.ServeHTTP(fw, r)
	}
	return nil
}

// checkSession enforces session rules before mcp-go sees the request:
// mcp-go answers a missing ID with 404 (the spec says 400) and lets a GET
// attach to any session ID, including someone else's.
func (h *Handler) checkSession(w http.ResponseWriter, r *http.Request, msg peekedMessage, headerVersion string) error {
	// Protocol 2026-07-28 has no sessions; mcp-go ignores the header there.
	if mcp.IsModernProtocol(headerVersion) || mcp.IsModernProtocol(msg.metaVersion) {
		return nil
	}
	if r.Method == http.MethodPost && (msg.method == string(mcp.MethodInitialize) || !msg.ok) {
		// A body mcp-go cannot parse never reaches a session; it answers it.
		return nil
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		return caddyhttp.Error(http.StatusBadRequest,
			errors.New("missing Mcp-Session-Id header: send initialize first and repeat the session ID it returns"))
	}
	switch h.sessions.check(r.Context(), id, identityOf(r)) {
	case sessionUnavailable:
		w.Header().Set("Retry-After", redisRetryAfter)
		return caddyhttp.Error(http.StatusServiceUnavailable, errSessionsUnavailable)
	case sessionUnknown:
		return caddyhttp.Error(http.StatusNotFound, errors.New("unknown or ended MCP session: initialize a new one"))
	case sessionForeign:
		return caddyhttp.Error(http.StatusForbidden, errors.New("this MCP session belongs to another identity"))
	}
	return nil
}

// readBody reads a POST body up to limit bytes; more is 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(limit)
		}
		return nil, caddyhttp.Error(http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err))
	}
	return buf.Bytes(), nil
}

func errTooLarge(limit int64) error {
	return caddyhttp.Error(http.StatusRequestEntityTooLarge,
		fmt.Errorf("MCP message larger than %d bytes", limit))
}

// Allow headers: a stateless endpoint has no standalone GET stream.
const (
	statefulMethods  = "GET, POST, DELETE"
	statelessMethods = "POST, DELETE"
)

func (h *Handler) allowedMethods() string {
	if h.Stateless {
		return statelessMethods
	}
	return statefulMethods
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) error {
	w.Header().Set("Allow", allow)
	return caddyhttp.Error(http.StatusMethodNotAllowed,
		fmt.Errorf("method %s is not part of the MCP Streamable HTTP transport", r.Method))
}

// peekedMessage is what the transport needs to know about a JSON-RPC
// message before mcp-go parses it in full.
type peekedMessage struct {
	ok          bool // a JSON object
	id          json.RawMessage
	method      string
	metaVersion string // params._meta protocol version (2026-07-28 era)
	cursor      bool   // params.cursor given
	toolName    string // params.name (tools/call)
	arguments   json.RawMessage
	traceparent json.RawMessage // params._meta.traceparent (SEP-414), raw
	tracestate  json.RawMessage
}

// isResponse reports whether the message answers a request of the server
// (a result or an error, no method).
func (m peekedMessage) isResponse() bool {
	return m.ok && m.method == "" && len(m.id) > 0 && !bytes.Equal(m.id, []byte("null"))
}

// cacheable reports whether the message may be answered from a cached
// result: a request (it has an ID) for the first page, in the session era.
func (m peekedMessage) cacheable(headerVersion string) bool {
	return m.ok && len(m.id) > 0 && !bytes.Equal(m.id, []byte("null")) && !m.cursor &&
		!mcp.IsModernProtocol(headerVersion) && !mcp.IsModernProtocol(m.metaVersion)
}

func peekMessage(body []byte) peekedMessage {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			// A map, not a struct: encoding/json matches struct fields
			// case-insensitively, and mcp-go reads this key exactly, so
			// "IO.MODELCONTEXTPROTOCOL/PROTOCOLVERSION" must not count.
			Meta      map[string]json.RawMessage `json:"_meta"`
			Cursor    *string                    `json:"cursor"`
			Name      string                     `json:"name"`
			Arguments json.RawMessage            `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		// A field of an unexpected type (params as a list, say) still
		// leaves the others decoded; only a syntax error means "not JSON".
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return peekedMessage{}
		}
	}
	return peekedMessage{ok: true, id: m.ID, method: m.Method, metaVersion: metaProtocolVersion(m.Params.Meta), cursor: m.Params.Cursor != nil,
		toolName: m.Params.Name, arguments: m.Params.Arguments,
		traceparent: m.Params.Meta["traceparent"], tracestate: m.Params.Meta["tracestate"]}
}

// metaProtocolVersion reads params._meta's protocol version under its exact
// key, as mcp-go does (mcp.Meta.ProtocolVersion); a value that is not a
// string is no version.
func metaProtocolVersion(meta map[string]json.RawMessage) string {
	raw, ok := meta[mcp.MetaKeyProtocolVersion]
	if !ok {
		return ""
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v
}

// cachedToolsList answers tools/list from bytes mcp-go produced once at
// provision. The tool list is static per config, and encoding it is almost
// all re-compacting nested raw JSON (encoding/json compacts every
// Marshaler's output at every level), about a millisecond per call.
type cachedToolsList struct {
	result json.RawMessage // mcp-go's ListToolsResult
}

func newCachedToolsList(s *server.MCPServer) (*cachedToolsList, error) {
	resp := s.HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("listing the tools: %w", err)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Result) == 0 {
		return nil, fmt.Errorf("listing the tools: %s", b)
	}
	return &cachedToolsList{result: out.Result}, nil
}

func (c *cachedToolsList) write(w http.ResponseWriter, id json.RawMessage) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head := make([]byte, 0, len(id)+40)
	head = append(head, `{"jsonrpc":"2.0","id":`...)
	head = append(head, id...)
	head = append(head, `,"result":`...)
	_, _ = w.Write(head)
	_, _ = w.Write(c.result)
	_, _ = w.Write([]byte("}\n"))
	return nil
}
