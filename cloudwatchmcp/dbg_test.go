package cloudwatchmcp

import (
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

type teeRT struct{ t *testing.T }

type teeBody struct {
	io.ReadCloser
	t *testing.T
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.Logf("GET body read %q %v", p[:n], err)
	return n, err
}

func (r teeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == "GET" {
		r.t.Logf("GET status %d %v", resp.StatusCode, resp.Header)
		resp.Body = teeBody{resp.Body, r.t}
	}
	return resp, err
}

func TestDbgGET(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newMCPClient(t, ts.endpoint(), "alice", legacyInit(), teeRT{t}, transport.WithContinuousListening())
	got := make(chan mcp.JSONRPCNotification, 4)
	c.OnNotification(func(n mcp.JSONRPCNotification) { got <- n })
	time.Sleep(300 * time.Millisecond)
	if err := ts.h.mcp.SendNotificationToSpecificClient(c.GetSessionId(), "notifications/message", map[string]any{"level": "info", "data": "streamed"}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		t.Log(n)
	case <-time.After(2 * time.Second):
		buf := make([]byte, 1<<20); t.Fatal("nothing", string(buf[:runtime.Stack(buf, true)]))
	}
}
