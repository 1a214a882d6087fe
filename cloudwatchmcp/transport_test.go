package cloudwatchmcp

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/server"
)

// The 2026-07-28 marker in _meta is matched under its exact key, as mcp-go
// matches it: a case variant does not make a request sessionless, so the
// session-owner check still runs (issue 18, item 5).
func TestMetaProtocolVersionKeyIsExact(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, "2026-07-28"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"IO.MODELCONTEXTPROTOCOL/PROTOCOLVERSION":"2026-07-28"}}}`, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolversion":"2026-07-28"}}}`, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}}`, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":"2026-07-28"}}`, ""},
	} {
		m := peekMessage([]byte(tc.body))
		if !m.ok || m.metaVersion != tc.want || m.method != "tools/list" {
			t.Errorf("%s: ok=%v method=%q metaVersion=%q, want %q", tc.body, m.ok, m.method, m.metaVersion, tc.want)
		}
	}
}

func TestSessionOwnerCheckNotSkippedByMetaKeyCase(t *testing.T) {
	ts := newTestServer(t, nil)
	session := ts.rawInit(t, "alice")
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_whoami",` +
		`"_meta":{"IO.MODELCONTEXTPROTOCOL/PROTOCOLVERSION":"2026-07-28"}}}`
	resp := ts.rawRequest(t, http.MethodPost, "bob", session, body)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// 403 from the owner check; before the fix the check was skipped and
	// only mcp-go's own validation answered (404).
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(got), "belongs to another identity") {
		t.Fatalf("bob with a case-variant _meta key on alice's session: %d %s", resp.StatusCode, got)
	}
	if strings.Contains(string(got), ts.creds["alice"].AccessKeyID) {
		t.Fatal("bob saw alice's identity")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// In stateless mode a GET is answered 405 with Allow before mcp-go, which
// would log the raw Mcp-Session-Id header, however large, at INFO (issue
// 18, item 4).
func TestStatelessGETIsRefusedBeforeMCPGo(t *testing.T) {
	var logs syncBuffer
	h := &Handler{Stateless: true, slogger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ts := newTestServer(t, h)
	huge := strings.Repeat("S", 200<<10)
	resp := ts.rawRequest(t, http.MethodGet, "alice", "", "", server.HeaderKeySessionID, huge)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := logs.String(); strings.Contains(got, huge[:64]) || strings.Contains(got, "Rejected GET") {
		t.Errorf("mcp-go logged the refused GET (%d bytes of log)", len(got))
	}
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("stateless GET: %d %.200s", resp.StatusCode, body)
	}
	if allow := resp.Header.Get("Allow"); allow != "POST, DELETE" {
		t.Errorf("Allow = %q", allow)
	}
	if strings.Contains(string(body), huge[:64]) {
		t.Error("the response echoes the session header")
	}
	if t.Failed() {
		t.FailNow()
	}
	// POST still works, and a stateful endpoint still offers GET.
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", "", initializeBody), http.StatusOK)
	stateful := newTestServer(t, nil)
	resp = stateful.rawRequest(t, http.MethodPut, "alice", "", "")
	if allow := resp.Header.Get("Allow"); allow != "GET, POST, DELETE" {
		t.Fatalf("stateful Allow = %q", allow)
	}
	wantStatus(t, resp, http.StatusMethodNotAllowed)
}
