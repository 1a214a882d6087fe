package cloudwatchmcp_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp/caddyfile"
)

// caddytest runs one in-process Caddy per test binary, on the admin port
// of the first test that starts it; every test of the binary uses that
// port, picked free the first time it is asked for. Fixed ports collide
// with any other Caddy on the machine, and a test would then load its
// config into someone else's server.
var (
	adminPortOnce sync.Once
	adminPortNum  int
)

func adminPort(t *testing.T) int {
	t.Helper()
	adminPortOnce.Do(func() { adminPortNum = freePort(t) })
	return adminPortNum
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// caddyDirs points Caddy's data and config dirs at a temp dir before the
// in-process Caddy starts. Not t.TempDir: Caddy outlives the test.
func caddyDirs(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cloudwatchmcp-caddytest-")
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	return dir
}

// sseReader yields the data lines of an SSE stream as they arrive.
func sseReader(t *testing.T, resp *http.Response) <-chan string {
	t.Helper()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- data
			}
		}
	}()
	return lines
}

func nextData(t *testing.T, lines <-chan string, what string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("stream ended before %s", what)
		}
		return l
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not streamed within 5s", what)
	}
	return ""
}

// SSE streams through a real Caddy whose route has encode and access
// logging on: both wrap the response writer and hide http.Flusher.
func TestSSEThroughCaddyWithEncodeAndAccessLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	dir := caddyDirs(t)
	accessLog := filepath.Join(dir, "access.log")
	// Issue 8 secret scan: debug logs on, and a real JWT on every request
	// that neither the logs nor any response may echo.
	debugLog := filepath.Join(dir, "caddy.log")
	scan := secretscan.New()
	scan.WatchFile(debugLog)
	scan.WatchFile(accessLog)
	is := testissuer.New()
	defer is.Close()
	bearer := is.Mint(is.OIDCAccessClaims("sse-user", "https://mcp.example/mcp"))
	httpPort, httpsPort := freePort(t), freePort(t)
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort(t)})
	tester.InitServer(fmt.Sprintf(`{
		admin localhost:%d
		http_port %d
		https_port %d
		skip_install_trust
		persist_config off
		debug
		log {
			output file %s
			format json
		}
	}
	http://localhost:%d {
		log {
			output file %s
		}
		encode zstd gzip
		handle /mcp {
			cloudwatch_mcp {
				tools transport_testkit
			}
		}
	}`, adminPort(t), httpPort, httpsPort, debugLog, httpPort, accessLog), "caddyfile")

	endpoint := fmt.Sprintf("http://localhost:%d/mcp", httpPort)
	cl := &http.Client{Transport: scan.Transport(nil)} // no overall timeout: streams stay open
	do := func(method, session, body string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, endpoint, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := do(http.MethodPost, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"caddytest","version":"1"}}}`)
	resp.Body.Close()
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize: %s, session %q", resp.Status, session)
	}

	// A tool call that notifies while it runs is answered as an SSE stream:
	// the notifications, then the result. (Done before a GET stream exists:
	// mcp-go hands a session's notifications to whichever stream reads first.)
	notify := do(http.MethodPost, session, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"test_notify","arguments":{"count":3}}}`)
	if ct := notify.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("notifying tool call answered %s %q", notify.Status, ct)
	}
	posted := sseReader(t, notify)
	var notes int
	for {
		data := nextData(t, posted, "the tool call's events")
		if strings.Contains(data, `"notifications/message"`) {
			notes++
			continue
		}
		if !strings.Contains(data, `"sent 3"`) {
			t.Fatalf("final event %s", data)
		}
		break
	}
	notify.Body.Close()
	if notes != 3 {
		t.Fatalf("%d notifications before the result, want 3", notes)
	}
	if !notify.Uncompressed {
		t.Fatal("encode did not compress the POST stream")
	}

	// The GET stream's headers arrive while it stays open, and a later
	// notification arrives on it.
	stream := do(http.MethodGet, session, "", "Accept", "text/event-stream")
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET: %s %q", stream.Status, stream.Header.Get("Content-Type"))
	}
	// Go's transport asked for gzip and undoes it: encode compressed the
	// stream, so every event below had to be flushed through the encoder.
	if !stream.Uncompressed {
		t.Fatal("encode did not compress the stream; the test would not prove flushing through it")
	}
	events := sseReader(t, stream)
	call := do(http.MethodPost, session, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_notify_later"}}`)
	call.Body.Close()
	if call.StatusCode != http.StatusOK {
		t.Fatalf("tools/call: %s", call.Status)
	}
	if got := nextData(t, events, "the GET notification"); !strings.Contains(got, `"later"`) {
		t.Fatalf("GET event %s", got)
	}

	// DELETE ends the session; its stream closes and the ID is dead.
	del := do(http.MethodDelete, session, "")
	del.Body.Close()
	if del.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %s", del.Status)
	}
	select {
	case _, open := <-events:
		if open {
			t.Fatal("unexpected event after DELETE")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GET stream still open after DELETE")
	}
	gone := do(http.MethodPost, session, `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`)
	gone.Body.Close()
	if gone.StatusCode != http.StatusNotFound {
		t.Fatalf("ended session: %s", gone.Status)
	}

	// Errors go through Caddy's error handling, and the guard holds here too.
	evil := do(http.MethodPost, "", `{"jsonrpc":"2.0","id":5,"method":"initialize","params":{}}`, "Origin", "http://evil.example.com")
	evil.Body.Close()
	if evil.StatusCode != http.StatusForbidden {
		t.Fatalf("hostile Origin: %s", evil.Status)
	}

	// The access log recorded the requests, the stream included.
	logged, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logged), `"uri":"/mcp"`); n < 5 {
		t.Fatalf("access log has %d /mcp entries:\n%s", n, logged)
	}
	if !strings.Contains(string(logged), `"Authorization":["REDACTED"]`) {
		t.Fatal("the access log does not show the Authorization header redacted; the scan below would prove less")
	}
	if found := scan.Check(t); len(found) == 0 {
		t.Logf("secret scan: %v", scan.Stats())
	}
}
