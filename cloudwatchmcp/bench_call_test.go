package cloudwatchmcp

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkToolsCall is one tools/call through the handler as Caddy runs
// it (guard, transport checks, session, audit and metrics middleware),
// answered as JSON (test_whoami) or as an SSE stream (test_notify, one
// notification then the result). Compare allocs/op before and after a
// change to the request path.
func BenchmarkToolsCall(b *testing.B) {
	ts := newTestServer(b, nil)
	session := ts.rawInit(b, "alice")
	for _, bc := range []struct{ name, body string }{
		{"json", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"test_whoami","arguments":{}}}`},
		{"sse", `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"test_notify","arguments":{"count":1}}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.status = 0
				postInProcess(ts.serve, w, session, "alice", body)
				if w.status != http.StatusOK && w.status != 0 {
					b.Fatalf("tools/call: %d", w.status)
				}
			}
		})
	}
}

// postInProcess serves one MCP POST of body, in session as user ("" =
// unauthenticated), through serve on w: the benchmarks' and memory tests'
// way to call the handler without a network in between.
func postInProcess(serve func(http.ResponseWriter, *http.Request), w http.ResponseWriter, session, user string, body []byte) {
	r := newMCPRequest("", session)
	if user != "" {
		r.Header.Set(testUserHeader, user)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	serve(w, r)
}
