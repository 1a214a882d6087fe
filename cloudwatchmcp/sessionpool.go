package cloudwatchmcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/server"
)

// sessionPools keeps each handler configuration's MCP sessions and their
// replayable events across config reloads. Caddy provisions the new config
// before it cleans up the old one, so a reload that leaves this handler's
// configuration unchanged hands the same session table to the new handler
// and clients keep their Mcp-Session-Id. mcp-go's own per-session transport
// state is ephemeral (it is rebuilt for any ID the registry validates), so
// only the registry and the event store need to outlive a config. A change
// to the handler's own configuration starts a fresh table: its clients get
// 404 and re-initialize, as the spec tells them to.
var sessionPools = caddy.NewUsagePool()

// sessionState is one configuration's sessions.
type sessionState struct {
	reg    *sessionRegistry
	events *eventStore
}

// Destruct runs when no loaded config uses the sessions any more.
func (s *sessionState) Destruct() error {
	s.reg.clear()
	s.events.clear()
	return nil
}

// sessionPoolKey names a handler's session table: its configuration as
// given (before Provision fills in defaults, so equal Caddyfiles give equal
// keys), the listen addresses of its server, and its place among the
// handlers of that server with the same configuration. Each handler thus
// has a table of its own, and a reload hands it to the handler standing in
// the same place.
func sessionPoolKey(ctx caddy.Context, h *Handler) (string, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encoding the configuration: %w", err)
	}
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:])
	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		key += " " + strings.Join(srv.Listen, ",")
	}
	return fmt.Sprintf("%s #%d", key, occurrence(ctx, key)), nil
}

// provisioned counts, per server of a config being loaded (Caddy gives
// each server its own context), the handlers provisioned per key.
var provisioned = struct {
	sync.Mutex
	seen map[context.Context]map[string]int
}{seen: map[context.Context]map[string]int{}}

// occurrence returns how many handlers with key this server provisioned
// before this one.
func occurrence(ctx caddy.Context, key string) int {
	provisioned.Lock()
	defer provisioned.Unlock()
	m := provisioned.seen[ctx.Context]
	if m == nil {
		m = map[string]int{}
		provisioned.seen[ctx.Context] = m
		// The count matters only while this config loads; drop it with
		// the config.
		context.AfterFunc(ctx.Context, func() {
			provisioned.Lock()
			delete(provisioned.seen, ctx.Context)
			provisioned.Unlock()
		})
	}
	n := m[key]
	m[key]++
	return n
}

// loadSessions takes this configuration's session table from the pool,
// creating it on the first load.
func (h *Handler) loadSessions() error {
	v, _, err := sessionPools.LoadOrNew(h.sessionKey, func() (caddy.Destructor, error) {
		reg := newSessionRegistry(time.Duration(h.SessionIdleTimeout), h.now)
		reg.shared = h.store // nil without redis
		events := newEventStore(maxEventsPerSession, maxEventBytesPerSession)
		// The registry decides when a session ends (DELETE, idle, evicted);
		// its events go with it.
		reg.onEnd = func(id string) { _ = events.PurgeSession(context.Background(), id) }
		return &sessionState{reg: reg, events: events}, nil
	})
	if err != nil {
		return err
	}
	st := v.(*sessionState)
	h.sessions, h.events = st.reg, st.events
	return nil
}

// releaseSessions gives the table back; the last config to use it ends
// every session in it.
func (h *Handler) releaseSessions() {
	if h.sessionKey != "" {
		_, _ = sessionPools.Delete(h.sessionKey)
	}
}

// registeredEvents is the event store as mcp-go's transport sees it. A
// transport purges a session's events whenever it drops its own state for
// the session, including when an old config's transport shuts down during
// a reload; the events must stay while the registry still holds the
// session, so the client can resume its stream on the new config.
type registeredEvents struct {
	*eventStore
	reg *sessionRegistry
	// owner is the POST transport generation this view belongs to (zero
	// for the session transport); its events name it, so a resuming GET
	// reaches the transport that holds the live stream.
	owner weak.Pointer[postGeneration]
}

// StoreEvent records message as the owner's.
func (e registeredEvents) StoreEvent(_ context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	return e.eventStore.storeEvent(sessionID, streamID, message, e.owner)
}

// PurgeSession forgets the events of a session the registry no longer holds.
func (e registeredEvents) PurgeSession(ctx context.Context, sessionID string) error {
	if e.reg.holds(sessionID) {
		return nil
	}
	return e.eventStore.PurgeSession(ctx, sessionID)
}

// Interface guards
var (
	_ caddy.Destructor  = (*sessionState)(nil)
	_ server.EventStore = registeredEvents{}
)
