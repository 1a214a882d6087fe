package cloudwatchmcp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// toolsListTarget is one way of serving tools/list in process.
type toolsListTarget struct {
	serve   func(w http.ResponseWriter, r *http.Request)
	session string
}

// benchTargets builds the handler (every registered tool group, through
// what Caddy does per request) and a bare mcp-go StreamableHTTPServer with
// the same tools, each with an initialized session.
func benchTargets(b *testing.B) (handler, bare toolsListTarget) {
	b.Helper()
	h := provisionTestHandler(b, &Handler{Tools: toolkit.Groups()}, nil)
	b.Cleanup(func() { _ = h.Cleanup() })
	handler.serve = func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(testUserHeader, "alice")
		serveLikeCaddy(h, nil, w, r)
	}

	tools, err := h.env.Tools(toolkit.Groups()) // fresh, schemas not precomputed
	if err != nil {
		b.Fatal(err)
	}
	for i := range tools {
		if t := &tools[i].Tool; t.RawInputSchema != nil {
			t.InputSchema = mcp.ToolInputSchema{} // listable at all (see prepareTools)
		}
	}
	mcpServer := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false), server.WithLogging(), server.WithRecovery())
	mcpServer.AddTools(tools...)
	bareServer := server.NewStreamableHTTPServer(mcpServer)
	bare.serve = bareServer.ServeHTTP

	for _, tg := range []*toolsListTarget{&handler, &bare} {
		rec := httptest.NewRecorder()
		tg.serve(rec, newMCPRequest(initializeBody, ""))
		tg.session = rec.Header().Get(server.HeaderKeySessionID)
		if rec.Code != http.StatusOK || tg.session == "" {
			b.Fatalf("initialize: %d %s", rec.Code, rec.Body)
		}
		rec = httptest.NewRecorder()
		tg.serve(rec, newMCPRequest(toolsListBody, tg.session))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tools":[`) {
			b.Fatalf("tools/list: %d %s", rec.Code, rec.Body)
		}
	}
	return handler, bare
}

func newMCPRequest(body, session string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://localhost/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		r.Header.Set(server.HeaderKeySessionID, session)
		r.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	return r
}

// discardWriter is a reusable ResponseWriter so the benchmark measures the
// servers, not the recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) Flush()                      {}

func runToolsList(b *testing.B, tg toolsListTarget, n int) {
	body := []byte(toolsListBody)
	w := &discardWriter{h: http.Header{}}
	for range n {
		clear(w.h)
		w.status = 0
		postInProcess(tg.serve, w, tg.session, "", body)
		if w.status != http.StatusOK && w.status != 0 {
			b.Fatalf("tools/list: %d", w.status)
		}
	}
}

// BenchmarkToolsList compares tools/list through the handler (guard,
// transport checks, identity-bound sessions, Caddy's per-request setup)
// with a bare mcp-go StreamableHTTPServer serving the same tools.
func BenchmarkToolsList(b *testing.B) {
	handler, bare := benchTargets(b)
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		runToolsList(b, handler, b.N)
	})
	b.Run("bare_mcp_go", func(b *testing.B) {
		b.ReportAllocs()
		runToolsList(b, bare, b.N)
	})
}

// BenchmarkToolsListRatio interleaves both servers in one run and reports
// handler throughput as a fraction of bare mcp-go's (goal >= 0.8).
func BenchmarkToolsListRatio(b *testing.B) {
	handler, bare := benchTargets(b)
	var th, tb time.Duration
	const chunk = 50
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		start := time.Now()
		runToolsList(b, bare, n)
		tb += time.Since(start)
		start = time.Now()
		runToolsList(b, handler, n)
		th += time.Since(start)
	}
	b.ReportMetric(float64(tb)/float64(th), "handler/bare")
	b.ReportMetric(float64(th.Nanoseconds())/float64(b.N), "handler-ns/op")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "bare-ns/op")
}
