package cloudwatchmcp

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const logLevelToolGroup = "transport_loglevel_testkit"

// holdRelease lets test_hold answer; tests that call it set it.
var holdRelease = make(chan struct{})

func init() {
	for _, t := range []toolkit.Tool{{
		Group: logLevelToolGroup,
		Tool:  mcp.NewTool("test_log", mcp.WithDescription("Logs one info and one debug message to the client, then answers.")),
		Handler: func(ctx context.Context, _ *toolkit.Env, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			toolkit.ClientLog(ctx, mcp.LoggingLevelInfo, "info-note")
			toolkit.ClientLog(ctx, mcp.LoggingLevelDebug, "debug-note")
			return mcp.NewToolResultText("logged"), nil
		},
	}, {
		Group: logLevelToolGroup,
		Tool:  mcp.NewTool("test_hold", mcp.WithDescription("Notifies, then answers once the test lets it, even if the client went away.")),
		Handler: func(ctx context.Context, _ *toolkit.Env, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			srv := server.ServerFromContext(ctx)
			_ = srv.SendNotificationToClient(ctx, "notifications/message", map[string]any{"level": "info", "data": "holding"})
			<-holdRelease
			return mcp.NewToolResultText("released"), nil
		},
	}} {
		toolkit.Register(t)
	}
}

// streamEntries counts mcp-go's resumable streams held by a transport. The
// map is unexported; a test may look (production code never does).
func streamEntries(t testing.TB, s *server.StreamableHTTPServer) int {
	t.Helper()
	f := reflect.ValueOf(s).Elem().FieldByName("resumableStreams")
	if !f.IsValid() || f.Type() != reflect.TypeFor[sync.Map]() {
		t.Fatal("mcp-go's StreamableHTTPServer has no resumableStreams sync.Map any more: see what keeps streams now and update this test")
	}
	m := (*sync.Map)(unsafe.Pointer(f.UnsafeAddr()))
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// heldStreams counts the streams every transport the handler can still
// reach holds.
func heldStreams(t testing.TB, h *Handler) int {
	n := streamEntries(t, h.transport)
	if h.posts != nil {
		n += streamEntries(t, h.posts.cur.Load().t)
	}
	return n
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sseWriter is a reusable in-process ResponseWriter that can stream, so
// POSTs are answered as SSE exactly as over the network.
type sseWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *sseWriter) Header() http.Header         { return w.h }
func (w *sseWriter) WriteHeader(s int)           { w.status = s }
func (w *sseWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *sseWriter) Flush()                      {}

// Issue 18, item 2: a busy stateful session's memory stays flat. Every
// call below streams (a notification, then the result), which is what
// left one entry, holding the response writer, in mcp-go's stream map per
// call until the session ended.
func TestBusySessionMemoryIsFlat(t *testing.T) {
	calls := 20000
	if testing.Short() {
		calls = 2000
	}
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")
	body := []byte(`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"test_notify","arguments":{"count":1}}}`)
	w := &sseWriter{h: http.Header{}}
	call := func() {
		clear(w.h)
		w.status = 0
		w.body.Reset()
		postInProcess(ts.serve, w, session, "alice", body)
		if w.status != http.StatusOK || !strings.HasPrefix(w.h.Get("Content-Type"), "text/event-stream") || !strings.Contains(w.body.String(), "sent 1") {
			t.Fatalf("tools/call: %d %q %s", w.status, w.h.Get("Content-Type"), w.body.String())
		}
	}
	// Warm up: the session's event store and the pools reach their size.
	for range 1000 {
		call()
	}
	entries, heap := heldStreams(t, ts.h), heapInUse()
	for range calls {
		call()
	}
	entriesAfter, heapAfter := heldStreams(t, ts.h), heapInUse()
	t.Logf("%d calls: streams held %d → %d, heap %d → %d KiB", calls, entries, entriesAfter, heap>>10, heapAfter>>10)
	if entriesAfter > postsPerGeneration {
		t.Errorf("%d streams held after %d calls in one session (at most %d)", entriesAfter, calls+1000, postsPerGeneration)
	}
	// 20,000 leaked streams held about 8 MiB here (a bare in-process
	// writer; behind Caddy each also held its response, ~3.5 KiB).
	if heapAfter > heap && heapAfter-heap > 2<<20 {
		t.Errorf("heap grew by %d KiB over %d calls", (heapAfter-heap)>>10, calls)
	}
}

// The session's log level outlives the transport generation it was set
// on: a client that asked for debug logs keeps getting them.
func TestLogLevelSurvivesGenerations(t *testing.T) {
	ts := newTestServer(t, &Handler{Tools: []string{testToolGroup, logLevelToolGroup}})
	session := ts.rawInit(t, "alice")
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session,
		`{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`), http.StatusOK)
	logged := func() string {
		resp := ts.rawRequest(t, http.MethodPost, "alice", session,
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_log","arguments":{}}}`)
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return b.String()
	}
	for i := range 2*postsPerGeneration + 1 {
		if got := logged(); !strings.Contains(got, "debug-note") || !strings.Contains(got, "info-note") {
			t.Fatalf("call %d lost the debug log level: %s", i, got)
		}
	}
}

// A client whose POST stream broke resumes it with GET and Last-Event-ID
// and receives the rest live: the GET reaches the generation that holds
// the stream.
func TestBrokenPOSTStreamResumesLive(t *testing.T) {
	brokenPOSTStreamResumesLive(t, &Handler{Tools: []string{testToolGroup, logLevelToolGroup}})
}

// The same with the sessions and events in Redis (redis.go): the GET
// reaching the instance that produces the stream continues it live.
func TestBrokenPOSTStreamResumesLiveWithRedis(t *testing.T) {
	srv := redistest.New(t)
	brokenPOSTStreamResumesLive(t, &Handler{Tools: []string{testToolGroup, logLevelToolGroup},
		Redis: srv.URL(), RedisSecret: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
}

func brokenPOSTStreamResumesLive(t *testing.T, h *Handler) {
	ts := newTestServer(t, h)
	session := ts.rawInit(t, "alice")
	release := make(chan struct{})
	holdRelease = release
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.endpoint(), strings.NewReader(
		`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"test_hold","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(testUserHeader, "alice")
	req.Header.Set(server.HeaderKeySessionID, session)
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := readSSE(t, resp.Body, func(got []sseEvent) bool { return len(got) == 1 })
	cancel() // the connection breaks
	resp.Body.Close()
	if len(first) != 1 || first[0].id == "" || !strings.Contains(first[0].data, "holding") {
		t.Fatalf("first event %+v", first)
	}

	resume := ts.rawRequest(t, http.MethodGet, "alice", session, "", "Last-Event-ID", first[0].id, "Accept", "text/event-stream")
	defer resume.Body.Close()
	if resume.StatusCode != http.StatusOK {
		t.Fatalf("resume: %d", resume.StatusCode)
	}
	close(release)
	released = true
	rest := readSSE(t, resume.Body, func(got []sseEvent) bool { return len(got) == 1 })
	if len(rest) != 1 || !strings.Contains(rest[0].data, "released") {
		t.Fatalf("resumed stream: %+v", rest)
	}
}

// A session busy with POSTs keeps its GET stream past the idle timeout:
// the POSTs, served by generations, still tell the session transport (and
// so its idle sweeper) that the session is in use.
func TestBusySessionKeepsItsGETStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for twice the idle timeout in real time")
	}
	const ttl = 4 * time.Second
	ts := newTestServer(t, &Handler{SessionIdleTimeout: caddy.Duration(ttl)})
	session := ts.rawInit(t, "alice")
	stream := ts.rawRequest(t, http.MethodGet, "alice", session, "", "Accept", "text/event-stream")
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET %d", stream.StatusCode)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Calls for more than twice the timeout (the sweeper looks every
	// ttl/2); a stream swept meanwhile ends, closing lines.
	for end := time.Now().Add(2*ttl + ttl/4); time.Now().Before(end); {
		wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", session, toolsCallBody("test_whoami")), http.StatusOK)
		select {
		case _, open := <-lines:
			if !open {
				t.Fatal("the GET stream of a busy session was ended")
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case l, open := <-lines:
			if !open {
				t.Fatal("the GET stream ended")
			}
			if strings.Contains(l, "still-here") {
				return
			}
		case <-tick.C:
			_ = ts.h.mcp.SendNotificationToSpecificClient(session, "notifications/message",
				map[string]any{"level": "info", "data": "still-here"})
		case <-deadline:
			t.Fatal("a notification never reached the GET stream")
		}
	}
}
