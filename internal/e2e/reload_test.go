package e2e

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

// TestReloadsUnderLoad reloads the config 50 times while two users keep
// calling a tool, once with MCP sessions (the default: each user keeps one
// session through every reload) and once stateless. No request may fail,
// goroutines and heap must come back to where they were, and the caches
// must survive: no JWKS fetch and no credential exchange because of a
// reload.
func TestReloadsUnderLoad(t *testing.T) {
	t.Run("sessions", func(t *testing.T) { testReloadsUnderLoad(t, "", false) })
	t.Run("stateless", func(t *testing.T) { testReloadsUnderLoad(t, "stateless", false) })
	t.Run("sessions over HTTP/2", func(t *testing.T) { testReloadsUnderLoad(t, "", true) })
}

func testReloadsUnderLoad(t *testing.T, mcpOptions string, h2 bool) {
	const reloads = 50
	f := privateFake(t)
	tagged := &taggedLogGroups{}
	tagged.install(f)
	// Every generation answers with its number, so the test knows when
	// the new config serves.
	load := func(gen int) string {
		cf := fmt.Sprintf(hostileCaddyfile, fmt.Sprintf("header X-Config-Generation %d", gen), mcpOptions)
		if h2 {
			cf = strings.Replace(cf, "http://localhost:{$E2E_HTTP_PORT} {", "https://localhost:{$E2E_HTTPS_PORT} {\n\ttls internal", 1)
		}
		return cf
	}
	scan.Begin(t)
	loadEdge(t, load(0))
	url := endpoint()
	if h2 {
		url = fmt.Sprintf("https://localhost:%d/mcp", httpsPort)
	}
	// Unlike every other test here, the reloads keep the ports: this test
	// is about a config taking over the listeners of the one serving, as
	// `caddy reload` (the admin API's POST /load, i.e. caddy.Load) does.
	reload := func(gen int) {
		t.Helper()
		if err := testcaddy.Load(load(gen)); err != nil {
			t.Fatalf("reload %d: %v", gen, err)
		}
	}

	// Responses of the load are not kept for the secret scan (that would
	// grow the heap being measured); the debug and access logs are scanned.
	users := []string{fmt.Sprintf("reload-a-%d", time.Now().UnixNano()), fmt.Sprintf("reload-b-%d", time.Now().UnixNano())}
	toks := []string{token(users[0]), token(users[1])}
	// With sessions, each user initializes once; every later request of
	// the run, across all reloads, carries that session.
	sessions := []string{"", ""}
	// Keep-alive connections to a retiring server can be closed under a
	// request in flight; a client that does not retry POSTs would see that
	// as a failure. Over HTTP/1.1 the load uses a fresh connection per
	// request. Over HTTP/2 it keeps one connection, as MCP clients do: the
	// retiring server's GOAWAY tells the client which requests it never
	// processed, and Go's client retries exactly those.
	loadClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if h2 {
		loadClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			// Caddy's internal CA is not in the system pool (skip_install_trust).
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test only
		}}
		// Caddy issues the internal certificate in the background: the
		// site answers once a TLS handshake succeeds.
		testwait.Until(t, "Caddy's internal certificate", func() bool {
			resp, err := loadClient.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
	}
	if mcpOptions == "" {
		for u := range users {
			r, err := mcpDoAt(loadClient, url, http.MethodPost, toks[u], "", hostileInit)
			if err != nil || r.status != http.StatusOK || r.session == "" {
				t.Fatalf("initialize: %v %d %q %s", err, r.status, r.session, r.body)
			}
			sessions[u] = r.session
		}
	}
	var sent, failed, redials, dropped atomic.Int64
	var firstErr atomic.Value
	// servedBy is the newest generation that answered a request.
	var servedBy atomic.Int64
	// unanswered holds the prefixes of requests whose connection closed
	// before an answer; they were sent again with a new prefix. Once the
	// load has stopped and settled, none of them may have reached the
	// fake: a tool that ran and lost its answer is a failure.
	var unanswered struct {
		sync.Mutex
		prefixes []string
	}
	runLoad := func(stop <-chan struct{}, done *sync.WaitGroup) {
		defer done.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := i % 2
			var r mcpReply
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				prefix := fmt.Sprintf("/tenant/%s/%d/%d", users[u], i, attempt)
				r, err = mcpDoAt(loadClient, url, http.MethodPost, toks[u], sessions[u], describeCall(i+1, prefix))
				if err == nil {
					if gen, _ := strconv.ParseInt(r.header.Get("X-Config-Generation"), 10, 64); gen > servedBy.Load() {
						servedBy.Store(gen) // one load goroutine: no race between load and store
					}
					break
				}
				// Caddy hands its listening socket to the new config; a
				// connection caught in the old server's accept queue is reset
				// or closed before the request is routed. That is Caddy's
				// listener handoff, not a request our handlers failed: it is
				// retried, and counted.
				var oe *net.OpError
				if errors.As(err, &oe) && oe.Op == "dial" {
					redials.Add(1)
					continue
				}
				dropped.Add(1)
				unanswered.Lock()
				unanswered.prefixes = append(unanswered.prefixes, prefix)
				unanswered.Unlock()
			}
			sent.Add(1)
			if err != nil || r.status != http.StatusOK || r.msg.Result.IsError {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %d %v %s", err, r.status, r.header, r.body))
			}
			time.Sleep(5 * time.Millisecond) // pacing only
		}
	}
	// measure lets the connections of retired servers and clients wind
	// down (asynchronously) and returns the lowest goroutine count and live
	// heap it sees. With targets of zero it samples for two seconds (the
	// baseline); otherwise it returns as soon as both are at their targets,
	// or after 30 s: a leak stays however long it waits, stragglers go,
	// and a loaded machine only makes them go later. A retiring config
	// (about 600 KiB here) can stay reachable for a while after its last
	// connection closes.
	measure := func(gTarget int, hTarget uint64) (int, uint64) {
		loadClient.CloseIdleConnections()
		// The edge's AWS and JWKS clients keep idle keep-alive pools whose
		// size depends on how requests overlapped; they are not leaks.
		f.CloseClientConnections()
		issuer.CloseClientConnections()
		g, heap := math.MaxInt, uint64(math.MaxUint64)
		for i := 0; ; i++ {
			g = min(g, runtime.NumGoroutine())
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = min(heap, ms.HeapAlloc)
			baselineDone := gTarget == 0 && i >= 8
			atTarget := gTarget > 0 && g <= gTarget && heap <= hTarget
			if baselineDone || atTarget || i >= 120 {
				return g, heap
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	// phase reloads generations from..to-1 while the load runs. After each
	// reload it waits until the new generation has answered a request, so
	// every generation serves traffic, however slow the machine.
	phase := func(from, to int) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go runLoad(stop, &wg)
		for gen := from; gen < to; gen++ {
			reload(gen)
			testwait.Until(t, fmt.Sprintf("generation %d to answer", gen), func() bool {
				return servedBy.Load() >= int64(gen) || failed.Load() > 0
			})
		}
		close(stop)
		wg.Wait()
	}
	// Warm-up: first use of every path, then a few reloads, so one-time
	// allocations (module registration, SDK endpoint tables) are in the
	// baseline.
	phase(1, 11)
	if failed.Load() != 0 {
		t.Fatalf("warm-up: %d of %d requests failed, first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	// lostAnswers checks the requests retried since the last check.
	lostAnswers := func() {
		unanswered.Lock()
		defer unanswered.Unlock()
		for _, p := range unanswered.prefixes {
			if tagged.saw(p) {
				t.Errorf("the request for %s reached AWS but its answer was lost", p)
			}
		}
		unanswered.prefixes = nil
	}
	// The fake AWS keeps a log of every call (and the strings in it keep
	// each request's header block alive); empty the test's own records so
	// the heap figure is the edge's.
	forget := func() {
		f.ResetCalls()
		tagged.mu.Lock()
		tagged.calls = nil
		tagged.mu.Unlock()
	}
	lostAnswers()
	forget()
	g0, h0 := measure(0, 0)
	jwks0 := issuer.JWKSFetches()
	sent0 := sent.Load()

	phase(11, 11+reloads)
	exch := f.CallCount("AssumeRoleWithWebIdentity")
	lostAnswers()
	forget()
	gTarget, hTarget := g0+g0/20, h0+h0/20
	g1, h1 := measure(gTarget, hTarget)
	jwks1 := issuer.JWKSFetches()
	t.Logf("%d reloads under load: %d requests, %d failed; %d resets on connect and %d connections closed before an answer, retried; goroutines %d -> %d; heap %d KiB -> %d KiB; JWKS fetches +%d; credential exchanges +%d",
		reloads, sent.Load()-sent0, failed.Load(), redials.Load(), dropped.Load(), g0, g1, h0>>10, h1>>10, jwks1-jwks0, exch)
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during reloads, first: %v", failed.Load(), firstErr.Load())
	}
	if g1 > gTarget {
		t.Errorf("goroutines grew from %d to %d over %d reloads", g0, g1, reloads)
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Logf("goroutines:\n%.6000s", buf.String())
	}
	if h1 > hTarget {
		t.Errorf("heap grew from %d KiB to %d KiB (> 5%%) over %d reloads", h0>>10, h1>>10, reloads)
	}
	if jwks1 != jwks0 {
		t.Errorf("reloads caused %d JWKS fetches", jwks1-jwks0)
	}
	if exch != 0 {
		t.Errorf("reloads caused %d credential exchanges (the credential cache did not survive)", exch)
	}
}
