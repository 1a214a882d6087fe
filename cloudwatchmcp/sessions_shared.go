package cloudwatchmcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"weak"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sessionstore"
)

// With redis, the registry in Redis is the truth for every instance: each
// session request asks it (one round trip: owner check, state, and, at
// most every tenth of the idle timeout, a fresh time to live), so a DELETE
// or an idle-out anywhere is a 404 everywhere and another identity is a 403
// everywhere. The local registry caches what the request needs afterwards
// (log level, client info) and lets mcp-go's Validate answer without a
// second round trip. Only Redis's TTL ends an idle session: this instance's
// sweeper forgets its cache entry and ends nothing, so a session busy on
// another instance lives on.

var errSessionsUnavailable = errors.New("the MCP session registry (Redis) cannot be reached; retry shortly")

// sharedSession is what Redis holds of a session, decoded.
type sharedSession struct {
	record       sessionstore.Record
	clientInfo   mcp.Implementation
	capabilities mcp.ClientCapabilities
}

// check is use for a request: in Redis when the registry is shared.
func (s *sessionRegistry) check(ctx context.Context, id, identity string) sessionStatus {
	if s.shared == nil {
		return s.use(id, identity)
	}
	now := s.now()
	s.mu.Lock()
	refresh := true
	var cached *sharedSession
	if el, ok := s.byID[id]; ok {
		e := el.Value.(*sessionEntry)
		refresh = now.Sub(e.sharedAt) >= s.shared.TTL()/10
		cached = e.shared
	}
	s.mu.Unlock()

	st, rec, err := s.shared.Use(ctx, id, s.shared.Owner(identity), refresh)
	if err != nil {
		return sessionUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	switch st {
	case sessionstore.Unknown:
		if ok {
			s.removeLocked(el)
		}
		return sessionUnknown
	case sessionstore.Foreign:
		return sessionForeign
	}
	var e *sessionEntry
	if ok {
		e = el.Value.(*sessionEntry)
		e.lastSeen = now
		s.lru.MoveToFront(el)
	} else {
		e = s.insertLocked(id, identity, now)
	}
	if refresh {
		e.sharedAt = now
	}
	if cached == nil || cached.record != rec {
		cached = decodeShared(rec)
	}
	e.shared, e.logLevel = cached, mcp.LoggingLevel(rec.LogLevel)
	return sessionOK
}

// decodeShared decodes the client part of a record once per change.
func decodeShared(rec sessionstore.Record) *sharedSession {
	sh := &sharedSession{record: rec}
	var c struct {
		ClientInfo   mcp.Implementation     `json:"clientInfo"`
		Capabilities mcp.ClientCapabilities `json:"capabilities"`
	}
	if json.Unmarshal([]byte(rec.Client), &c) == nil {
		sh.clientInfo, sh.capabilities = c.ClientInfo, c.Capabilities
	}
	return sh
}

// publish records in Redis the session initialize just created here;
// on failure the session is forgotten (the client gets 503).
func (s *sessionRegistry) publish(ctx context.Context, id, identity string, initBody []byte, response []byte) error {
	var req struct {
		Params struct {
			ClientInfo   json.RawMessage `json:"clientInfo"`
			Capabilities json.RawMessage `json:"capabilities"`
		} `json:"params"`
	}
	_ = json.Unmarshal(initBody, &req)
	client, _ := json.Marshal(map[string]json.RawMessage{"clientInfo": req.Params.ClientInfo, "capabilities": req.Params.Capabilities})
	rec := sessionstore.Record{ProtocolVersion: negotiatedVersion(response), Client: string(client)}
	err := s.shared.Create(ctx, id, s.shared.Owner(identity), rec)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		if err != nil {
			s.removeLocked(el)
		} else {
			e := el.Value.(*sessionEntry)
			e.sharedAt, e.shared = now, decodeShared(rec)
		}
	}
	return err
}

// negotiatedVersion reads result.protocolVersion of an initialize answer
// (JSON, or a single SSE event).
func negotiatedVersion(response []byte) string {
	var out struct {
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	if i := bytes.Index(response, []byte("data: ")); i >= 0 {
		response = response[i+len("data: "):]
	}
	dec := json.NewDecoder(bytes.NewReader(response))
	_ = dec.Decode(&out)
	return out.Result.ProtocolVersion
}

// endShared ends id in Redis (everywhere) and forgets it here.
func (s *sessionRegistry) endShared(id, identity string, checkOwner bool) sessionStatus {
	owner := ""
	if checkOwner {
		owner = s.shared.Owner(identity)
	}
	st, err := s.shared.End(context.Background(), id, owner)
	if err != nil {
		return sessionUnavailable
	}
	if st == sessionstore.Foreign {
		return sessionForeign
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		s.removeLocked(el)
	}
	if st == sessionstore.Unknown {
		return sessionUnknown
	}
	return sessionOK
}

// setLogLevelShared records logging/setLevel for every instance. A failure
// leaves the level with this instance only (logged by mcp-go's caller as
// nothing worse: the client's next setLevel retries).
func (s *sessionRegistry) setLogLevelShared(id string, level mcp.LoggingLevel) {
	if s.shared != nil {
		_ = s.shared.SetLogLevel(context.Background(), id, string(level))
	}
}

// sharedOf is what Redis said of id at this request's check.
func (s *sessionRegistry) sharedOf(id string) *sharedSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		return el.Value.(*sessionEntry).shared
	}
	return nil
}

// applyShared gives the request's mcp-go session the client info,
// capabilities and protocol version of its initialize, wherever that ran.
func (s *sessionRegistry) applyShared(session server.ClientSession) {
	sh := s.sharedOf(session.SessionID())
	if sh == nil {
		return
	}
	if c, ok := session.(server.SessionWithClientInfo); ok && c.GetClientInfo().Name == "" {
		c.SetClientInfo(sh.clientInfo)
		c.SetClientCapabilities(sh.capabilities)
	}
	if v, ok := session.(interface {
		ProtocolVersion() string
		SetProtocolVersion(string)
	}); ok && v.ProtocolVersion() == "" && sh.record.ProtocolVersion != "" {
		v.SetProtocolVersion(sh.record.ProtocolVersion)
	}
}

// sharedEvents is the event store in Redis, as one of mcp-go's transports
// sees it (owner: its POST generation, zero for the session transport).
type sharedEvents struct {
	store  *sessionstore.Store
	owner  weak.Pointer[postGeneration]
	routes *streamRoutes
}

func (e sharedEvents) StoreEvent(ctx context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	if e.owner != (weak.Pointer[postGeneration]{}) {
		e.routes.note(streamID, e.owner)
	}
	return e.store.StoreEvent(ctx, sessionID, streamID, message)
}

func (e sharedEvents) ReplayEventsAfter(ctx context.Context, sessionID, lastEventID string, send func(string, json.RawMessage) error) (string, error) {
	return e.store.ReplayEventsAfter(ctx, sessionID, lastEventID, send)
}

// PurgeSession does nothing: a transport drops its state for a session for
// reasons of its own (after initialize, idle here, shutdown) while the
// session lives on elsewhere. DELETE (End) and Redis's TTL remove events.
func (sharedEvents) PurgeSession(context.Context, string) error { return nil }

// streamRoutes remembers which of this instance's POST generations
// produces each stream, so a resuming GET that lands here continues the
// stream live (as without redis); elsewhere it is replayed from Redis.
// Entries of freed generations are pruned as the map grows.
type streamRoutes struct {
	mu    sync.Mutex
	m     map[string]weak.Pointer[postGeneration]
	prune int
}

func (r *streamRoutes) note(stream string, g weak.Pointer[postGeneration]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[stream]; ok {
		return
	}
	if r.m == nil || len(r.m) >= r.prune {
		kept := map[string]weak.Pointer[postGeneration]{}
		for k, v := range r.m {
			if v.Value() != nil {
				kept[k] = v
			}
		}
		r.m, r.prune = kept, max(1024, 2*len(kept))
	}
	r.m[stream] = g
}

func (r *streamRoutes) get(stream string) *postGeneration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[stream].Value()
}

// resumeOwner is the generation of this instance that produces the
// stream lastEventID belongs to, nil if none does (any more).
func (h *Handler) resumeOwner(ctx context.Context, sessionID, lastEventID string) *postGeneration {
	if h.store == nil {
		return h.events.ownerOf(sessionID, lastEventID)
	}
	stream, err := h.store.StreamOf(ctx, sessionID, lastEventID)
	if err != nil || stream == "" {
		return nil
	}
	return h.routes.get(stream)
}

// Interface guards
var _ server.EventStore = sharedEvents{}
