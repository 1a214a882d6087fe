package cloudwatchmcp

import (
	"context"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/server"
)

// mcp-go keeps an object with buffered channels (about 9 KB) for every
// session it initialized until the session ends, although its Streamable
// HTTP transport rebuilds per-request state for any session ID the
// registry validates (and does so after every reload). serveInitialize
// hands that object back right after initialize, so an idle session costs
// only its registry entry. A standalone GET stream still gets a persistent
// object of its own, for as long as it may need to replay.
func (h *Handler) serveInitialize(w http.ResponseWriter, r *http.Request, body []byte) error {
	// The answer is held back until the state is released, so a client
	// that opens its GET stream the moment it learns the session ID cannot
	// have that stream's state released under it. Without a Flusher,
	// mcp-go answers in one JSON body.
	buf := &heldResponse{header: w.Header()}
	h.transport.ServeHTTP(buf, r)
	if id := w.Header().Get(server.HeaderKeySessionID); id != "" && buf.status == http.StatusOK {
		h.releaseTransportState(r.Context(), id)
		if h.store != nil {
			// Every instance must know the session before its client does.
			if err := h.sessions.publish(r.Context(), id, identityOf(r), body, buf.body); err != nil {
				w.Header().Del(server.HeaderKeySessionID)
				w.Header().Set("Retry-After", redisRetryAfter)
				return caddyhttp.Error(http.StatusServiceUnavailable, errSessionsUnavailable)
			}
		}
	}
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body)
	return nil
}

// releaseTransportState makes mcp-go drop its state for session id the way
// a DELETE would, while the registry keeps the session.
func (h *Handler) releaseTransportState(ctx context.Context, id string) {
	hdr := http.Header{}
	hdr.Set(server.HeaderKeySessionID, id)
	h.transport.Handle(discardResponse{}, &server.HTTPRequest{
		Method:  http.MethodDelete,
		Header:  hdr,
		Context: context.WithValue(ctx, releaseOnlyKey{}, true),
	})
}

// releaseOnlyKey marks releaseTransportState's request, for which the
// registry resolves keptSessions.
type releaseOnlyKey struct{}

// keptSessions is the registry as seen by releaseTransportState: the
// session is not ended.
type keptSessions struct{}

func (keptSessions) Generate() string               { return "" }
func (keptSessions) Validate(string) (bool, error)  { return false, nil }
func (keptSessions) Terminate(string) (bool, error) { return false, nil }

// heldResponse holds a response (status and body; headers go straight to
// the real writer's map) until the handler lets it go.
type heldResponse struct {
	header http.Header
	status int
	body   []byte
}

func (b *heldResponse) Header() http.Header { return b.header }

func (b *heldResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *heldResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// discardResponse swallows releaseTransportState's answer.
type discardResponse struct{}

func (discardResponse) Header() http.Header         { return http.Header{} }
func (discardResponse) WriteHeader(int)             {}
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) Flush()                      {}
func (discardResponse) CanStream() bool             { return false }

// Interface guards
var (
	_ server.SessionIdManager   = keptSessions{}
	_ http.ResponseWriter       = (*heldResponse)(nil)
	_ server.HTTPResponseWriter = discardResponse{}
)
