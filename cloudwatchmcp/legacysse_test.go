package cloudwatchmcp

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

// legacyStreamConn is an open legacy SSE stream read by hand.
type legacyStreamConn struct {
	resp     *http.Response
	events   *bufio.Reader
	endpoint string // absolute message URL
	session  string
}

// openLegacy opens <route>/sse as user and reads the endpoint event.
func openLegacy(t *testing.T, ts *testServer, user string, hdr map[string]string) *legacyStreamConn {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/mcp/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	if user != "" {
		req.Header.Set(testUserHeader, user)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /mcp/sse: %d %s", resp.StatusCode, body)
	}
	c := &legacyStreamConn{resp: resp, events: bufio.NewReader(resp.Body)}
	event, data := c.next(t)
	if event != "endpoint" || !strings.HasPrefix(data, "/mcp/message?sessionId=") {
		t.Fatalf("first event %q %q, want the endpoint /mcp/message?sessionId=…", event, data)
	}
	u, _ := url.Parse(data)
	c.session = u.Query().Get("sessionId")
	c.endpoint = ts.URL + data
	return c
}

// next reads the next event (comments skipped); EOF fails the test.
func (c *legacyStreamConn) next(t *testing.T) (event, data string) {
	t.Helper()
	for {
		line, err := c.events.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimSpace(line[len("data:"):])
		case line == "" && (event != "" || data != ""):
			return event, data
		}
	}
}

// ended reports whether the stream closes (reads to EOF) in time.
func (c *legacyStreamConn) ended() bool {
	stop := time.AfterFunc(15*time.Second, func() { c.resp.Body.Close() })
	defer stop.Stop()
	_, err := io.Copy(io.Discard, c.events)
	return err == nil
}

func postLegacy(t *testing.T, url, user, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set(testUserHeader, user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

const legacyInitBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// newLegacySSEClient is mcp-go's HTTP+SSE client, initialized as user.
func newLegacySSEClient(t *testing.T, sseURL, user string) *client.Client {
	t.Helper()
	c, err := client.NewSSEMCPClient(sseURL, transport.WithHTTPClient(&http.Client{Transport: userTransport{user: user, base: http.DefaultTransport}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// The stream lives as long as Start's context.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	init := legacyInit()
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over legacy SSE: %v", err)
	}
	return c
}

func TestLegacySSEListsAndCallsToolsWithTheCallersCredentials(t *testing.T) {
	ts := newTestServer(t, &Handler{LegacySSE: true})
	for _, user := range []string{"alice", "bob"} {
		c := newLegacySSEClient(t, ts.URL+"/mcp/sse", user)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			cancel()
			t.Fatalf("%s: tools/list: %v", user, err)
		}
		found := false
		for _, tool := range list.Tools {
			found = found || tool.Name == "test_whoami"
		}
		if !found {
			t.Fatalf("%s: tools/list lacks test_whoami: %v", user, list.Tools)
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = "test_whoami"
		res, err := c.CallTool(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("%s: tools/call: %v", user, err)
		}
		got := res.Content[0].(mcp.TextContent).Text
		if res.IsError || !strings.Contains(got, ts.creds[user].AccessKeyID) {
			t.Fatalf("%s: whoami = %q (isError %v), want %s's credentials", user, got, res.IsError, user)
		}
	}
}

func TestLegacySSESessionBelongsToItsStreamsIdentity(t *testing.T) {
	ts := newTestServer(t, &Handler{LegacySSE: true})
	s := openLegacy(t, ts, "alice", nil)
	if code, body := postLegacy(t, s.endpoint, "bob", legacyInitBody); code != http.StatusForbidden {
		t.Fatalf("bob on alice's session: %d %s", code, body)
	}
	if code, body := postLegacy(t, s.endpoint, "", legacyInitBody); code != http.StatusForbidden {
		t.Fatalf("anonymous on alice's session: %d %s", code, body)
	}
	if code, body := postLegacy(t, ts.URL+"/mcp/message?sessionId=nope", "alice", legacyInitBody); code != http.StatusNotFound {
		t.Fatalf("unknown session: %d %s", code, body)
	}
	if code, body := postLegacy(t, ts.URL+"/mcp/message", "alice", legacyInitBody); code != http.StatusBadRequest {
		t.Fatalf("no sessionId: %d %s", code, body)
	}
	if code, body := postLegacy(t, s.endpoint, "alice", legacyInitBody); code != http.StatusAccepted {
		t.Fatalf("alice on her session: %d %s", code, body)
	}
	if _, data := s.next(t); !strings.Contains(data, `"id":1`) || !strings.Contains(data, "protocolVersion") {
		t.Fatalf("initialize answer on the stream: %s", data)
	}
	resp, err := http.Get(ts.URL + "/mcp/message?sessionId=" + s.session)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET on the message endpoint: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("stream readable by origin %q", got)
	}
}

func TestLegacySSEOffByDefault(t *testing.T) {
	ts := newTestServer(t, nil)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/mcp/sse", nil)
	req.Header.Set(testUserHeader, "alice")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /mcp/sse without legacy_sse: %d", resp.StatusCode)
	}
	if code, body := postLegacy(t, ts.URL+"/mcp/message?sessionId=x", "alice", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); code == http.StatusAccepted {
		t.Fatalf("POST /mcp/message without legacy_sse: %d %s", code, body)
	}
}

// atomicClock is a clock the keep-alive timer and the test may share.
type atomicClock struct{ ns atomic.Int64 }

func (c *atomicClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *atomicClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestLegacySSEIdleSessionEndsWithItsStream(t *testing.T) {
	clk := &atomicClock{}
	clk.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	ts := newTestServer(t, &Handler{LegacySSE: true, SessionIdleTimeout: caddy.Duration(time.Minute), now: clk.now, legacyTick: 5 * time.Millisecond})
	s := openLegacy(t, ts, "alice", nil)
	// A live session gets keep-alive comments and stays.
	line := ""
	for !strings.HasPrefix(line, ": keep-alive") {
		var err error
		if line, err = s.events.ReadString('\n'); err != nil {
			t.Fatalf("waiting for a keep-alive: %v", err)
		}
	}
	clk.advance(59 * time.Second)
	if code, body := postLegacy(t, s.endpoint, "alice", legacyInitBody); code != http.StatusAccepted {
		t.Fatalf("alice after 59s: %d %s", code, body)
	}
	clk.advance(61 * time.Second)
	if !s.ended() {
		t.Fatal("the idle session's stream did not end cleanly")
	}
	if code, body := postLegacy(t, s.endpoint, "alice", legacyInitBody); code != http.StatusNotFound {
		t.Fatalf("alice after the idle timeout: %d %s", code, body)
	}
	testwait.Until(t, "the session to leave the registry", func() bool { return ts.h.legacy.reg.len() == 0 })
}

func TestLegacySSEPerIdentityCapClosesTheOldestStream(t *testing.T) {
	ts := newTestServer(t, &Handler{LegacySSE: true})
	ts.h.legacy.reg.maxPerIdentity = 2
	first := openLegacy(t, ts, "alice", nil)
	bobs := openLegacy(t, ts, "bob", nil)
	openLegacy(t, ts, "alice", nil)
	openLegacy(t, ts, "alice", nil)
	if !first.ended() {
		t.Fatal("alice's oldest stream did not end")
	}
	if code, body := postLegacy(t, first.endpoint, "alice", legacyInitBody); code != http.StatusNotFound {
		t.Fatalf("alice's evicted session: %d %s", code, body)
	}
	if code, body := postLegacy(t, bobs.endpoint, "bob", legacyInitBody); code != http.StatusAccepted {
		t.Fatalf("bob's session: %d %s", code, body)
	}
}

func TestLegacySSECleanupEndsStreams(t *testing.T) {
	ts := newTestServer(t, &Handler{LegacySSE: true})
	a := openLegacy(t, ts, "alice", nil)
	b := openLegacy(t, ts, "bob", nil)
	if err := ts.h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if !a.ended() || !b.ended() {
		t.Fatal("a stream outlived Cleanup")
	}
	if n := ts.h.legacy.reg.len(); n != 0 {
		t.Fatalf("%d sessions left after Cleanup", n)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/mcp/sse", nil)
	req.Header.Set(testUserHeader, "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stream opened after Cleanup: %d", resp.StatusCode)
	}
}

func TestLegacySSEStepUpForMissingScopes(t *testing.T) {
	ts := newTestServer(t, &Handler{LegacySSE: true, Authorize: []AuthorizeRule{{Tools: []string{"test_whoami"}, Scopes: []string{"whoami:read"}}}})
	s := openLegacy(t, ts, "alice", nil)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_whoami"}}`
	req, _ := http.NewRequest(http.MethodPost, s.endpoint, strings.NewReader(call))
	req.Header.Set(testUserHeader, "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="whoami:read"`) {
		t.Fatalf("call without the scope: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
