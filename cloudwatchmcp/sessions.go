package cloudwatchmcp

import (
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/sessionstore"
)

const (
	// maxSessions bounds the registry; the least recently used session
	// goes first.
	maxSessions = 10000
	// maxSessionsPerIdentity keeps one user from evicting everyone else's
	// sessions; that user's least recently used session goes first.
	maxSessionsPerIdentity = 64
)

// sessionStatus is what a session ID means for a given identity.
type sessionStatus int

const (
	sessionOK          sessionStatus = iota
	sessionUnknown                   // never issued, ended, idled out or evicted: 404
	sessionForeign                   // issued to another identity: 403
	sessionUnavailable               // the shared registry (Redis) cannot answer: 503
)

// sessionRegistry issues session IDs and binds each one to the identity that
// initialized it (MCP security best practices: "bind session IDs to
// user-specific information"). It is mcp-go's SessionIdManagerResolver, so
// mcp-go's own checks go through it too, and the handler's transport checks
// it first to answer 400/403/404 precisely.
//
// It is bounded (maxSessions, maxSessionsPerIdentity) and pruned without a
// goroutine: idle sessions are dropped when looked up or when a new session
// is created, and mcp-go's idle sweeper terminates them through it as well.
type sessionRegistry struct {
	ttl            time.Duration
	now            func() time.Time
	maxTotal       int
	maxPerIdentity int

	// onEnd, when set, learns of every session that ends (under mu).
	onEnd func(id string)

	// shared, when set, holds the sessions of the whole cluster (Redis,
	// sessions_shared.go); the registry is then this instance's cache of
	// them, and forgetting an entry here ends nothing.
	shared *sessionstore.Store

	mu          sync.Mutex
	lru         *list.List // of *sessionEntry, most recently used first
	byID        map[string]*list.Element
	perIdentity map[string]int
	// peak is the most sessions held since the maps were last rebuilt: Go
	// maps keep their buckets when emptied, so after a crowd has left they
	// are rebuilt at their new size.
	peak int
}

type sessionEntry struct {
	id       string
	owner    string
	lastSeen time.Time
	// logLevel is what the client asked for with logging/setLevel; mcp-go
	// keeps it per transport, and POSTs are served by rotating transports
	// (transport_generations.go), so the session keeps it here.
	logLevel mcp.LoggingLevel
	// transportTouched is when a POST last told the session transport
	// the session is active (transport_generations.go).
	transportTouched time.Time
	// With a shared registry: when this instance last gave the session its
	// full time to live in Redis, and what Redis holds of it.
	sharedAt time.Time
	shared   *sharedSession
}

func newSessionRegistry(ttl time.Duration, now func() time.Time) *sessionRegistry {
	if now == nil {
		now = time.Now
	}
	return &sessionRegistry{
		ttl:            ttl,
		now:            now,
		maxTotal:       maxSessions,
		maxPerIdentity: maxSessionsPerIdentity,
		lru:            list.New(),
		byID:           map[string]*list.Element{},
		perIdentity:    map[string]int{},
	}
}

// newSessionID returns 256 random bits, URL-safe (visible ASCII, as the
// spec requires).
func newSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create issues a session for owner.
func (s *sessionRegistry) create(owner string) string {
	id := newSessionID()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertLocked(id, owner, now)
	return id
}

// insertLocked adds a session, making room for it.
func (s *sessionRegistry) insertLocked(id, owner string, now time.Time) *sessionEntry {
	s.pruneLocked(now)
	if s.perIdentity[owner] >= s.maxPerIdentity {
		for el := s.lru.Back(); el != nil; el = el.Prev() {
			if el.Value.(*sessionEntry).owner == owner {
				s.removeLocked(el)
				break
			}
		}
	}
	for s.lru.Len() >= s.maxTotal {
		s.removeLocked(s.lru.Back())
	}
	e := &sessionEntry{id: id, owner: owner, lastSeen: now}
	s.byID[id] = s.lru.PushFront(e)
	s.perIdentity[owner]++
	s.peak = max(s.peak, len(s.byID))
	sessionsActive.Inc()
	return e
}

// use checks id for owner and, when it is theirs, marks it active.
func (s *sessionRegistry) use(id, owner string) sessionStatus {
	return s.lookup(id, owner, true)
}

func (s *sessionRegistry) lookup(id, owner string, touch bool) sessionStatus {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		return sessionUnknown
	}
	e := el.Value.(*sessionEntry)
	if s.expired(e, now) {
		s.removeLocked(el)
		return sessionUnknown
	}
	if e.owner != owner {
		return sessionForeign
	}
	if touch {
		e.lastSeen = now
		s.lru.MoveToFront(el)
	}
	return sessionOK
}

// end removes id; with owner checking, only the owner may end it.
func (s *sessionRegistry) end(id, owner string, checkOwner bool) sessionStatus {
	if s.shared != nil {
		return s.endShared(id, owner, checkOwner)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		return sessionUnknown
	}
	if checkOwner && el.Value.(*sessionEntry).owner != owner {
		return sessionForeign
	}
	s.removeLocked(el)
	return sessionOK
}

// endIdle removes id if it is idle.
func (s *sessionRegistry) endIdle(id string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok && s.expired(el.Value.(*sessionEntry), now) {
		s.removeLocked(el)
	}
}

// setLogLevel records the session's logging/setLevel.
func (s *sessionRegistry) setLogLevel(id string, level mcp.LoggingLevel) {
	s.mu.Lock()
	if el, ok := s.byID[id]; ok {
		el.Value.(*sessionEntry).logLevel = level
	}
	s.mu.Unlock()
	s.setLogLevelShared(id, level)
}

// logLevel returns the session's logging/setLevel, "" when never set.
func (s *sessionRegistry) logLevel(id string) mcp.LoggingLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		return el.Value.(*sessionEntry).logLevel
	}
	return ""
}

// touchDue reports whether the session transport should hear of id's
// activity, at most once per every, and notes that it will.
func (s *sessionRegistry) touchDue(id string, every time.Duration) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		return false
	}
	e := el.Value.(*sessionEntry)
	if now.Sub(e.transportTouched) < every {
		return false
	}
	e.transportTouched = now
	return true
}

// holds reports whether id is a live session.
func (s *sessionRegistry) holds(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	return ok
}

// len reports how many sessions are held.
func (s *sessionRegistry) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// clear drops every session (the last config using the registry is gone).
func (s *sessionRegistry) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessionsActive.Sub(float64(s.lru.Len()))
	s.lru.Init()
	// Fresh maps rather than clear(): Go maps never shrink.
	s.byID = map[string]*list.Element{}
	s.perIdentity = map[string]int{}
}

func (s *sessionRegistry) expired(e *sessionEntry, now time.Time) bool {
	return s.ttl > 0 && now.Sub(e.lastSeen) > s.ttl
}

// pruneLocked drops idle sessions. The list is in last-use order, so the
// idle ones are all at the back.
func (s *sessionRegistry) pruneLocked(now time.Time) {
	for el := s.lru.Back(); el != nil && s.expired(el.Value.(*sessionEntry), now); el = s.lru.Back() {
		s.removeLocked(el)
	}
}

func (s *sessionRegistry) removeLocked(el *list.Element) {
	e := s.lru.Remove(el).(*sessionEntry)
	delete(s.byID, e.id)
	sessionsActive.Dec()
	if s.onEnd != nil {
		s.onEnd(e.id)
	}
	if n := s.perIdentity[e.owner] - 1; n > 0 {
		s.perIdentity[e.owner] = n
	} else {
		delete(s.perIdentity, e.owner)
	}
	if s.peak > 1024 && len(s.byID) < s.peak/4 {
		s.byID, s.perIdentity = maps.Collect(maps.All(s.byID)), maps.Collect(maps.All(s.perIdentity))
		s.peak = len(s.byID)
	}
}

// ResolveSessionIdManager implements server.SessionIdManagerResolver: a
// request gets a manager bound to its caller's identity; nil (mcp-go's idle
// sweeper, CloseSessions) gets one that may end any session.
func (s *sessionRegistry) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	if r == nil {
		return systemSessions{s}
	}
	if r.Context().Value(releaseOnlyKey{}) != nil {
		return keptSessions{}
	}
	return &boundSessions{reg: s, owner: identityOf(r)}
}

var (
	errUnknownSession = errors.New("unknown or ended session")
	errForeignSession = errors.New("session belongs to another identity")
)

// boundSessions is the registry as seen by one caller.
type boundSessions struct {
	reg   *sessionRegistry
	owner string
}

func (b *boundSessions) Generate() string { return b.reg.create(b.owner) }

func (b *boundSessions) Validate(id string) (bool, error) {
	switch b.reg.lookup(id, b.owner, false) {
	case sessionUnknown:
		return false, errUnknownSession
	case sessionForeign:
		return false, errForeignSession
	}
	return false, nil
}

func (b *boundSessions) Terminate(id string) (bool, error) {
	// Another identity may not end a session (the transport has already
	// answered 403; this keeps mcp-go's path safe on its own).
	switch b.reg.end(id, b.owner, true) {
	case sessionForeign:
		return true, nil
	case sessionUnavailable:
		return false, errSessionsUnavailable
	}
	return false, nil
}

// systemSessions is the registry as seen by mcp-go's background work.
type systemSessions struct{ reg *sessionRegistry }

// Generate is never reached without a request; bind to no one just in case.
func (m systemSessions) Generate() string { return m.reg.create(noOwner) }

func (m systemSessions) Validate(id string) (bool, error) {
	m.reg.mu.Lock()
	_, ok := m.reg.byID[id]
	m.reg.mu.Unlock()
	if !ok {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate ends a session mcp-go's sweeper found idle, unless the registry
// saw it used since (tools/list is answered without touching mcp-go).
// mcp-go then drops its own state for the session; a later request simply
// gets fresh transport state.
func (m systemSessions) Terminate(id string) (bool, error) {
	m.reg.endIdle(id)
	return false, nil
}

// noOwner is an identity no request can have (identityOf never returns it).
const noOwner = "\xff"

// identityOf names the caller for session binding: the issuer and subject
// an authentication handler (cognito_auth, or Caddy's own) placed in the
// replacer. Unauthenticated requests share the empty identity.
func identityOf(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.auth.user.id")
	if id == "" {
		return ""
	}
	iss, _ := repl.GetString("http.auth.user.issuer")
	return iss + "\x00" + id
}

// Interface guards
var (
	_ server.SessionIdManagerResolver = (*sessionRegistry)(nil)
	_ server.SessionIdManager         = (*boundSessions)(nil)
	_ server.SessionIdManager         = systemSessions{}
)
