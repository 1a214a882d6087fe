package fakeaws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/eventstream"
)

// StartLiveTail (JSON 1.1 request, event stream response): the response is
// application/vnd.amazon.eventstream, encoded with smithy-go's own
// eventstream encoder so the SDK's decoder is what tests exercise. It
// carries an initial-response event, a sessionStart event, then every
// UpdateInterval a sessionUpdate with the events appended (AppendEvents)
// to the tailed groups since the last one, filtered and sampled as AWS
// does, until the client closes the stream, the session reaches
// MaxDuration (SessionTimeoutException) or the fake closes.
//
// Serving: Start serves HTTP/1.1 and cleartext HTTP/2, StartTLS HTTPS with
// HTTP/2 by ALPN; the SDK reads the stream over either (only bidirectional
// streams require HTTP/2). HTTPClient gives an HTTP/2 client. Over
// HTTP/1.1 (the SDK's default client against an http:// endpoint) about
// one stream in ten dies right after it starts with "use of closed network
// connection": smithy-go closes the request body when the response headers
// arrive, its closed body's WriteTo returns io.EOF, and net/http, still
// checking the body for extra bytes, closes the connection under the
// stream (aws/aws-sdk-go-v2#2737). HTTP/2 is not affected, nor is a client
// that hides the body's WriteTo (readOnlyBodies in logs_livetail_test.go).
//
// Endpoint: the SDK sends StartLiveTail to the endpoint host prefixed with
// "stream-" (stream-logs.<region>.amazonaws.com) unless the endpoint's
// hostname is immutable or host prefixing is disabled. With BaseEndpoint
// (or AWS_ENDPOINT_URL) pointing at the fake, "stream-127.0.0.1" does not
// resolve, so a client must turn the prefix off for this operation when
// it uses a custom endpoint, e.g. with this client option:
//
//	func(o *cloudwatchlogs.Options) {
//		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
//			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("NoEndpointHostPrefix",
//				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
//					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
//				}), middleware.Before)
//		})
//	}
//
// (middleware is github.com/aws/smithy-go/middleware, smithyhttp
// github.com/aws/smithy-go/transport/http). The SDK has no Options field
// for it, and BaseEndpoint leaves the hostname mutable; the deprecated
// EndpointResolverWithOptions returning aws.Endpoint{HostnameImmutable:
// true} works too. TestLiveTail* use the option above.

func init() {
	Register(func(f *Fake) {
		f.Handle("logs", "StartLiveTail", func(r *Request) (any, error) { return LogsOf(r.Fake()).startLiveTail(r) })
	})
}

// LiveTailOptions tune Live Tail; zero fields take AWS's values.
type LiveTailOptions struct {
	// UpdateInterval is the time between sessionUpdate events (AWS: 1 s).
	UpdateInterval time.Duration
	// SampleLimit: an update carries at most this many events; when more
	// matched, an evenly spread sample of them and sessionMetadata.sampled
	// (AWS: 500).
	SampleLimit int
	// MaxDuration ends a session with SessionTimeoutException, on the fake
	// clock (AWS: 3 h).
	MaxDuration time.Duration
	// BufferLimit: events waiting for a slow reader beyond this many are
	// dropped, oldest first (AWS: 5,000).
	BufferLimit int
	// MaxSessions refuses a new session with LimitExceededException while
	// this many are open (0 = no limit; AWS's default quota is 15 per
	// account).
	MaxSessions int
}

func (o LiveTailOptions) withDefaults() LiveTailOptions {
	if o.UpdateInterval <= 0 {
		o.UpdateInterval = time.Second
	}
	if o.SampleLimit <= 0 {
		o.SampleLimit = 500
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 3 * time.Hour
	}
	if o.BufferLimit <= 0 {
		o.BufferLimit = 5000
	}
	return o
}

// LiveTailSession is a snapshot of one StartLiveTail stream.
type LiveTailSession struct {
	ID, RequestID string
	Owner         string // owner of the signing key
	AccessKeyID   string
	Region        string
	// LogGroups, LogStreamNames, LogStreamNamePrefixes and FilterPattern
	// are the request's.
	LogGroups             []string
	LogStreamNames        []string
	LogStreamNamePrefixes []string
	FilterPattern         string
	Proto                 string // the stream's HTTP protocol, e.g. "HTTP/2.0"
	// Started and Ended are wall-clock times (network behaviour, not the
	// fake clock); Ended is zero while the stream is open.
	Started, Ended time.Time
	// EndReason: "client closed", "write failed", "timeout", "failed"
	// (FailLiveTails) or "server closed".
	EndReason string
	// Updates counts sessionUpdate events sent, Events the log events in
	// them, SampledUpdates those marked sampled, Dropped events lost to
	// BufferLimit.
	Updates, Events, SampledUpdates, Dropped int
}

// Open reports whether the stream is still open.
func (s LiveTailSession) Open() bool { return s.Ended.IsZero() }

type liveEvent struct {
	group, stream, msg string
	ts, ingest         time.Time
}

type liveSession struct {
	lt          *liveTail
	f           *Fake
	snap        LiveTailSession
	groups      map[string]string // group ARN -> identifier as sent
	streams     []string
	prefixes    []string
	pattern     *filterPattern
	pending     []liveEvent
	startedFake time.Time
	fail        chan string
}

type liveTail struct {
	mu       sync.Mutex
	opts     LiveTailOptions
	sessions []*liveSession
	changed  chan struct{}
	seq      int
}

// notifyLocked wakes WaitLiveTail callers. Callers hold lt.mu.
func (lt *liveTail) notifyLocked() {
	if lt.changed != nil {
		close(lt.changed)
	}
	lt.changed = make(chan struct{})
}

// SetLiveTailOptions sets how Live Tail behaves (see LiveTailOptions).
func (l *Logs) SetLiveTailOptions(o LiveTailOptions) *Logs {
	l.live.mu.Lock()
	l.live.opts = o
	l.live.mu.Unlock()
	return l
}

// LiveTailSessions returns every Live Tail session so far, oldest first.
func (l *Logs) LiveTailSessions() []LiveTailSession {
	l.live.mu.Lock()
	defer l.live.mu.Unlock()
	return l.live.snapshotLocked()
}

func (lt *liveTail) snapshotLocked() []LiveTailSession {
	out := make([]LiveTailSession, len(lt.sessions))
	for i, s := range lt.sessions {
		out[i] = s.snap
	}
	return out
}

// WaitLiveTail waits until cond holds for the sessions (checked at every
// change: a session starting, sending an update or ending) or ctx ends,
// and returns the sessions it last saw.
func (l *Logs) WaitLiveTail(ctx context.Context, cond func([]LiveTailSession) bool) ([]LiveTailSession, error) {
	for {
		l.live.mu.Lock()
		snaps := l.live.snapshotLocked()
		if l.live.changed == nil {
			l.live.changed = make(chan struct{})
		}
		ch := l.live.changed
		l.live.mu.Unlock()
		if cond(snaps) {
			return snaps, nil
		}
		select {
		case <-ctx.Done():
			return snaps, ctx.Err()
		case <-ch:
		}
	}
}

// FailLiveTails ends every open session with a SessionStreamingException
// carrying message, as when Live Tail fails on the server side.
func (l *Logs) FailLiveTails(message string) {
	l.live.mu.Lock()
	defer l.live.mu.Unlock()
	for _, s := range l.live.sessions {
		if s.snap.Open() {
			select {
			case s.fail <- message:
			default:
			}
		}
	}
}

// deliver hands newly appended events of a group to the open sessions
// that tail it. Callers hold l.mu.
func (lt *liveTail) deliver(groupARN string, events []storedEvent, mask func(string) string) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	limit := lt.opts.withDefaults().BufferLimit
	for _, s := range lt.sessions {
		ident, ok := s.groups[groupARN]
		if !ok || !s.snap.Open() {
			continue
		}
		for _, e := range events {
			if len(s.streams) > 0 && !slices.Contains(s.streams, e.stream) {
				continue
			}
			if len(s.prefixes) > 0 && !slices.ContainsFunc(s.prefixes, func(p string) bool { return strings.HasPrefix(e.stream, p) }) {
				continue
			}
			if !s.pattern.matches(e.msg) {
				continue
			}
			s.pending = append(s.pending, liveEvent{group: ident, stream: e.stream, msg: mask(e.msg), ts: e.ts, ingest: e.ingest})
		}
		if n := len(s.pending) - limit; n > 0 {
			s.pending = append([]liveEvent(nil), s.pending[n:]...)
			s.snap.Dropped += n
		}
	}
}

func (l *Logs) startLiveTail(r *Request) (any, error) {
	ids := r.Strings("logGroupIdentifiers")
	streams, prefixes := r.Strings("logStreamNames"), r.Strings("logStreamNamePrefixes")
	switch {
	case len(ids) == 0:
		return nil, invalidParam("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(ids) > 10:
		return nil, invalidParam("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length less than or equal to 10")
	case len(streams) > 0 && len(prefixes) > 0:
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes are mutually exclusive. Only one of these parameters can be passed.")
	case (len(streams) > 0 || len(prefixes) > 0) && len(ids) != 1:
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes can be specified only when logGroupIdentifiers contains exactly one log group.")
	case len(streams) > 100 || len(prefixes) > 100:
		return nil, invalidParam("1 validation error detected: at most 100 log stream names or prefixes")
	}
	pattern := r.String("logEventFilterPattern")
	fp, err := compileFilterPattern(pattern)
	if err != nil {
		return nil, invalidParam("Invalid filter pattern %q: %v", pattern, err)
	}

	l.mu.Lock()
	groups := map[string]string{}
	for _, id := range ids {
		if !strings.HasPrefix(id, "arn:") {
			l.mu.Unlock()
			return nil, invalidParam("Log group identifier %q is not an ARN: StartLiveTail takes log group ARNs", id)
		}
		g, gerr := l.resolveGroup(id, r.Region, "logGroupIdentifiers", true)
		if gerr == nil {
			gerr = readable(r, g, "StartLiveTail")
		}
		if gerr != nil {
			l.mu.Unlock()
			return nil, gerr
		}
		groups[g.ARN()] = id
	}
	// Registering under l.mu means no event appended after this call is
	// missed: AppendEvents delivers under the same lock.
	lt := &l.live
	lt.mu.Lock()
	defer lt.mu.Unlock()
	defer l.mu.Unlock()
	opts := lt.opts.withDefaults()
	if opts.MaxSessions > 0 {
		open := 0
		for _, s := range lt.sessions {
			if s.snap.Open() {
				open++
			}
		}
		if open >= opts.MaxSessions {
			return nil, Errorf("LimitExceededException", "You have reached the maximum number of concurrent Live Tail sessions (%d).", opts.MaxSessions)
		}
	}
	lt.seq++
	s := &liveSession{
		lt: lt, f: l.f, groups: groups, streams: streams, prefixes: prefixes, pattern: fp,
		startedFake: r.Now(), fail: make(chan string, 1),
		snap: LiveTailSession{
			ID:        fmt.Sprintf("%08x-%s-4%s-8%s-%s", lt.seq, randHex(2), randHex(2)[1:], randHex(2)[1:], randHex(6)),
			RequestID: fmt.Sprintf("%s-%s-4%s-8%s-%s", randHex(4), randHex(2), randHex(2)[1:], randHex(2)[1:], randHex(6)),
			Owner:     r.Owner, AccessKeyID: r.AccessKeyID, Region: r.Region,
			LogGroups: ids, LogStreamNames: streams, LogStreamNamePrefixes: prefixes, FilterPattern: pattern,
			Proto: r.HTTP.Proto, Started: time.Now(),
		},
	}
	lt.sessions = append(lt.sessions, s)
	lt.notifyLocked()
	return s, nil
}

// event builds an event-stream event message with a JSON payload.
func event(eventType string, payload any) eventstream.Message {
	b, _ := json.Marshal(payload)
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.EventMessageType))
	m.Headers.Set(eventstream.EventTypeHeader, eventstream.StringValue(eventType))
	m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue("application/json"))
	m.Payload = b
	return m
}

func exception(code, message string) eventstream.Message {
	b, _ := json.Marshal(map[string]string{"message": message})
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.ExceptionMessageType))
	m.Headers.Set(eventstream.ExceptionTypeHeader, eventstream.StringValue(code))
	m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue("application/json"))
	m.Payload = b
	return m
}

// serveStream writes the session's event stream until it ends.
func (s *liveSession) serveStream(w http.ResponseWriter, r *http.Request) {
	reason := "server closed"
	defer func() { s.end(reason) }()
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	send := func(m eventstream.Message) bool {
		if err := enc.Encode(w, m); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-RequestId", s.snap.RequestID)
	w.WriteHeader(http.StatusOK)

	s.lt.mu.Lock()
	start := map[string]any{"requestId": s.snap.RequestID, "sessionId": s.snap.ID, "logGroupIdentifiers": s.snap.LogGroups}
	if len(s.snap.LogStreamNames) > 0 {
		start["logStreamNames"] = s.snap.LogStreamNames
	}
	if len(s.snap.LogStreamNamePrefixes) > 0 {
		start["logStreamNamePrefixes"] = s.snap.LogStreamNamePrefixes
	}
	if s.snap.FilterPattern != "" {
		start["logEventFilterPattern"] = s.snap.FilterPattern
	}
	opts := s.lt.opts.withDefaults()
	s.lt.mu.Unlock()
	if !send(event("initial-response", map[string]any{})) || !send(event("sessionStart", start)) {
		reason = "write failed"
		return
	}

	tick := time.NewTicker(opts.UpdateInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			reason = "client closed"
			return
		case <-s.f.closing:
			return
		case msg := <-s.fail:
			send(exception("SessionStreamingException", msg))
			reason = "failed"
			return
		case <-tick.C:
		}
		if !s.f.now().Before(s.startedFake.Add(opts.MaxDuration)) {
			send(exception("SessionTimeoutException", fmt.Sprintf("Live Tail session %s timed out after %s.", s.snap.ID, opts.MaxDuration)))
			reason = "timeout"
			return
		}
		s.lt.mu.Lock()
		batch := s.pending
		s.pending = nil
		opts = s.lt.opts.withDefaults()
		s.lt.mu.Unlock()
		sampled := len(batch) > opts.SampleLimit
		if sampled {
			batch = sample(batch, opts.SampleLimit)
		}
		results := make([]any, 0, len(batch))
		for _, e := range batch {
			results = append(results, map[string]any{
				"logGroupIdentifier": e.group,
				"logStreamName":      e.stream,
				"message":            e.msg,
				"timestamp":          e.ts.UnixMilli(),
				"ingestionTime":      e.ingest.UnixMilli(),
			})
		}
		// Counted before the write, so a client that has read an update
		// finds it in LiveTailSessions.
		s.lt.mu.Lock()
		s.snap.Updates++
		s.snap.Events += len(batch)
		if sampled {
			s.snap.SampledUpdates++
		}
		s.lt.notifyLocked()
		s.lt.mu.Unlock()
		if !send(event("sessionUpdate", map[string]any{"sessionMetadata": map[string]any{"sampled": sampled}, "sessionResults": results})) {
			reason = "write failed"
			return
		}
	}
}

func (s *liveSession) end(reason string) {
	s.lt.mu.Lock()
	s.snap.Ended, s.snap.EndReason = time.Now(), reason
	s.pending = nil
	s.lt.notifyLocked()
	s.lt.mu.Unlock()
}

// sample picks n events spread evenly over batch, in order.
func sample(batch []liveEvent, n int) []liveEvent {
	out := make([]liveEvent, n)
	for i := range out {
		out[i] = batch[i*len(batch)/n]
	}
	return out
}
