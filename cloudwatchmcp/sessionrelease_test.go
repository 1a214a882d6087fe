package cloudwatchmcp

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// After initialize, mcp-go holds nothing for an idle session; the session
// still works, is still bound to its owner, and a GET stream gets the
// persistent state it needs to receive notifications.
func TestIdleSessionHoldsNoTransportState(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.rawInit(t, "alice")
	if err := ts.h.mcp.SendNotificationToSpecificClient(id, "notifications/message", nil); !errors.Is(err, server.ErrSessionNotFound) {
		t.Fatalf("mcp-go still holds the idle session: %v", err)
	}
	if !ts.h.sessions.holds(id) {
		t.Fatal("the registry lost the session")
	}
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "alice", id, toolsCallBody("test_whoami")), http.StatusOK)
	wantStatus(t, ts.rawRequest(t, http.MethodPost, "bob", id, toolsCallBody("test_whoami")), http.StatusForbidden)

	stream := ts.rawRequest(t, http.MethodGet, "alice", id, "")
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET %d", stream.StatusCode)
	}
	// The stream registers its session with mcp-go asynchronously to this
	// response; notify until it arrives.
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "hello-stream") {
				return
			}
		case <-tick.C:
			_ = ts.h.mcp.SendNotificationToSpecificClient(id, "notifications/message",
				map[string]any{"level": "info", "data": "hello-stream"})
		case <-deadline:
			t.Fatal("a notification never reached the GET stream")
		}
	}
}

func toolsCallBody(name string) string {
	return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + name + `","arguments":{}}}`
}
