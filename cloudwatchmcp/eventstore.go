package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"weak"

	"github.com/mark3labs/mcp-go/server"
)

const (
	// maxEventsPerSession and maxEventBytesPerSession bound what a session
	// can replay after a broken stream; older events are forgotten first
	// (resuming from them is then 400 Unknown Last-Event-ID).
	maxEventsPerSession     = 512
	maxEventBytesPerSession = 4 << 20

	// maxEventBytesTotal bounds the whole store, so 10,000 chatty sessions
	// cannot hold 10,000 x 4 MiB; the oldest events of any session go first.
	maxEventBytesTotal = 64 << 20
)

// eventStore is a bounded in-memory server.EventStore. mcp-go's
// InMemoryEventStore keeps every event of a session until the session ends,
// which for a long-lived session with chatty tools is unbounded.
type eventStore struct {
	maxEvents     int
	maxBytes      int
	maxTotalBytes int

	mu         sync.Mutex
	seq        uint64
	sessions   map[string]*sessionEvents
	totalBytes int
	// order lists events oldest first across sessions, for the global
	// budget. Entries whose event is already gone are skipped and
	// compacted away.
	order []eventRef
	live  int
}

type eventRef struct {
	session string
	seq     uint64
}

type sessionEvents struct {
	events []storedEvent // in seq order
	bytes  int
}

type storedEvent struct {
	seq     uint64
	stream  string
	message json.RawMessage
	// owner is the POST transport generation that recorded the event
	// (transport_generations.go), held weakly: a retired generation is
	// freed even while its events can still be replayed. Zero for the
	// session transport's own streams.
	owner weak.Pointer[postGeneration]
}

func newEventStore(maxEvents, maxBytes int) *eventStore {
	return &eventStore{maxEvents: maxEvents, maxBytes: maxBytes, maxTotalBytes: maxEventBytesTotal, sessions: map[string]*sessionEvents{}}
}

// StoreEvent records message and returns its event ID.
func (s *eventStore) StoreEvent(_ context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	return s.storeEvent(sessionID, streamID, message, weak.Pointer[postGeneration]{})
}

// storeEvent records message for the transport generation owner.
func (s *eventStore) storeEvent(sessionID, streamID string, message json.RawMessage, owner weak.Pointer[postGeneration]) (string, error) {
	msg := append(json.RawMessage(nil), message...) // the caller may reuse its buffer
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	se := s.sessions[sessionID]
	if se == nil {
		se = &sessionEvents{}
		s.sessions[sessionID] = se
	}
	se.events = append(se.events, storedEvent{seq: s.seq, stream: streamID, message: msg, owner: owner})
	se.bytes += len(msg)
	s.totalBytes += len(msg)
	s.live++
	s.order = append(s.order, eventRef{session: sessionID, seq: s.seq})
	drop := 0
	for len(se.events)-drop > 1 && (len(se.events)-drop > s.maxEvents || se.bytes > s.maxBytes) {
		drop++
	}
	s.dropOldest(se, drop)
	s.enforceTotal()
	return strconv.FormatUint(s.seq, 10), nil
}

// dropOldest forgets the n oldest events of a session.
func (s *eventStore) dropOldest(se *sessionEvents, n int) {
	if n <= 0 {
		return
	}
	for _, ev := range se.events[:n] {
		se.bytes -= len(ev.message)
		s.totalBytes -= len(ev.message)
	}
	s.live -= n
	clear(se.events[:n]) // release the messages to the GC
	se.events = se.events[n:]
}

// enforceTotal drops the globally oldest events while the store is over
// its total budget, keeping at least the newest event.
func (s *eventStore) enforceTotal() {
	i := 0
	for s.totalBytes > s.maxTotalBytes && s.live > 1 && i < len(s.order) {
		ref := s.order[i]
		i++
		if se := s.sessions[ref.session]; se != nil && len(se.events) > 0 && se.events[0].seq == ref.seq {
			s.dropOldest(se, 1)
		}
	}
	s.order = s.order[i:]
	// Stale references (events dropped per session or purged) are
	// compacted once they outnumber the live events.
	if len(s.order) > 2*s.live+64 {
		kept := s.order[:0]
		for _, ref := range s.order {
			if se := s.sessions[ref.session]; se != nil && len(se.events) > 0 && ref.seq >= se.events[0].seq {
				kept = append(kept, ref)
			}
		}
		clear(s.order[len(kept):])
		s.order = kept
	}
}

// ReplayEventsAfter sends the events recorded after lastEventID on its
// stream.
func (s *eventStore) ReplayEventsAfter(_ context.Context, sessionID, lastEventID string, send func(eventID string, message json.RawMessage) error) (string, error) {
	seq, err := strconv.ParseUint(lastEventID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %q", server.ErrUnknownEventID, lastEventID)
	}
	s.mu.Lock()
	se := s.sessions[sessionID]
	if se == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: %q", server.ErrUnknownEventID, lastEventID)
	}
	i := sort.Search(len(se.events), func(i int) bool { return se.events[i].seq >= seq })
	if i == len(se.events) || se.events[i].seq != seq {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: %q", server.ErrUnknownEventID, lastEventID)
	}
	stream := se.events[i].stream
	var tail []storedEvent
	for _, ev := range se.events[i+1:] {
		if ev.stream == stream {
			tail = append(tail, ev)
		}
	}
	s.mu.Unlock()

	for _, ev := range tail {
		if err := send(strconv.FormatUint(ev.seq, 10), ev.message); err != nil {
			return "", err
		}
	}
	return stream, nil
}

// ownerOf returns the generation that recorded lastEventID of sessionID,
// nil when it is the session transport, gone, or the ID is unknown.
func (s *eventStore) ownerOf(sessionID, lastEventID string) *postGeneration {
	seq, err := strconv.ParseUint(lastEventID, 10, 64)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[sessionID]
	if se == nil {
		return nil
	}
	i := sort.Search(len(se.events), func(i int) bool { return se.events[i].seq >= seq })
	if i == len(se.events) || se.events[i].seq != seq {
		return nil
	}
	return se.events[i].owner.Value()
}

// PurgeSession forgets a session's events (DELETE, idle sweep, shutdown).
func (s *eventStore) PurgeSession(_ context.Context, sessionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if se := s.sessions[sessionID]; se != nil {
		s.totalBytes -= se.bytes
		s.live -= len(se.events)
		delete(s.sessions, sessionID)
	}
	return nil
}

// clear forgets every event.
func (s *eventStore) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]*sessionEvents{}
	s.order = nil
	s.totalBytes, s.live = 0, 0
}

// sessionCount reports how many sessions have events recorded.
func (s *eventStore) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

var _ server.EventStore = (*eventStore)(nil)
