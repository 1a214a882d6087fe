package oauthproxy

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// docServer is a client's https server publishing its metadata document
// at /client.json, reachable as https://example.com:<port>/client.json
// through an injected resolver (httptest's certificate names
// example.com).
type docServer struct {
	srv      *httptest.Server
	clientID string
	fetches  atomic.Int64
	handler  atomic.Value // func(w, r)
}

func newDocServer(t *testing.T) *docServer {
	d := &docServer{}
	d.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fetches.Add(1)
		d.handler.Load().(func(http.ResponseWriter, *http.Request))(w, r)
	}))
	t.Cleanup(d.srv.Close)
	_, port, _ := net.SplitHostPort(d.srv.Listener.Addr().String())
	d.clientID = "https://example.com:" + port + "/client.json"
	d.serveDoc(map[string]any{"client_id": d.clientID, "client_name": "Doc Client", "redirect_uris": []string{clientCB}}, "max-age=60")
	return d
}

func (d *docServer) serveDoc(doc any, cacheControl string) {
	b, _ := json.Marshal(doc)
	d.handler.Store(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		_, _ = w.Write(b)
	})
}

// withDocServer lets the proxy reach d (and only d) on loopback.
func withDocServer(d *docServer, timeout time.Duration) func(*Config) {
	return func(c *Config) {
		pool := x509.NewCertPool()
		pool.AddCert(d.srv.Certificate())
		c.CIMD = CIMDOptions{
			RootCAs: pool,
			Timeout: timeout,
			Guard: &Guard{
				Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
					if host == "example.com" {
						return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
					}
					return nil, errors.New("no such host")
				},
				Allow: func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") },
			},
		}
	}
}

func TestMetadataDocumentClientLogsIn(t *testing.T) {
	d := newDocServer(t)
	e := newEnv(t, withDocServer(d, 5*time.Second))
	a := newAuthRequest(d.clientID, clientCB)
	resp, body := e.get(e.authURL(a))
	if resp.StatusCode != 200 || !strings.Contains(body, "Doc Client") || !strings.Contains(body, "published by example.com:") {
		t.Fatalf("consent page %d: %s", resp.StatusCode, body)
	}
	code := e.codeFor(a, alice, alicePass)
	if status, tok := e.redeem(a, code); status != 200 || tok["access_token"] == "" {
		t.Fatalf("token: %d %v", status, tok)
	}
	// Fresh for 60 s per Cache-Control: one fetch for both authorize requests.
	if n := d.fetches.Load(); n != 1 {
		t.Fatalf("%d document fetches, want 1 (cached per max-age)", n)
	}
	e.clock.advance(61 * time.Second)
	e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
	if n := d.fetches.Load(); n != 2 {
		t.Fatalf("%d document fetches after max-age, want 2", n)
	}
	// A redirect URI the document does not list is an error page.
	resp, body = e.get(e.authURL(newAuthRequest(d.clientID, "http://127.0.0.1:8765/elsewhere")))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
}

func TestMetadataDocumentNoStoreIsFetchedEachTime(t *testing.T) {
	d := newDocServer(t)
	d.serveDoc(map[string]any{"client_id": d.clientID, "redirect_uris": []string{clientCB}}, "no-store")
	e := newEnv(t, withDocServer(d, 5*time.Second))
	for range 3 {
		if resp, _ := e.get(e.authURL(newAuthRequest(d.clientID, clientCB))); resp.StatusCode != 200 {
			t.Fatalf("authorize: %d", resp.StatusCode)
		}
	}
	if n := d.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches of a no-store document, want 3", n)
	}
}

// Callbacks the server does not accept are left out of a document's
// list; the others still work, and a document with none is refused.
func TestMetadataDocumentUnacceptableRedirectsAreLeftOut(t *testing.T) {
	d := newDocServer(t)
	d.serveDoc(map[string]any{"client_id": d.clientID, "redirect_uris": []string{"myapp://cb", "javascript:alert(1)", clientCB}}, "")
	e := newEnv(t, withDocServer(d, 5*time.Second))
	if resp, _ := e.get(e.authURL(newAuthRequest(d.clientID, clientCB))); resp.StatusCode != 200 {
		t.Fatalf("the accepted callback: %d", resp.StatusCode)
	}
	for _, r := range []string{"myapp://cb", "javascript:alert(1)"} {
		resp, body := e.get(e.authURL(newAuthRequest(d.clientID, r)))
		wantErrorPage(t, resp, body, http.StatusBadRequest)
	}
	d.serveDoc(map[string]any{"client_id": d.clientID, "redirect_uris": []string{"javascript:alert(1)"}}, "")
	e.clock.advance(time.Hour) // past the heuristic freshness
	resp, body := e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
}

func TestMetadataDocumentMustNameItself(t *testing.T) {
	d := newDocServer(t)
	d.serveDoc(map[string]any{"client_id": "https://claude.ai/client.json", "client_name": "Claude", "redirect_uris": []string{clientCB}}, "")
	e := newEnv(t, withDocServer(d, 5*time.Second))
	resp, body := e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "does not name its own URL") {
		t.Fatalf("page does not say why: %s", body)
	}
}

func TestMetadataDocumentOversizedIsRefused(t *testing.T) {
	d := newDocServer(t)
	e := newEnv(t, withDocServer(d, 5*time.Second))
	big := strings.Repeat("x", defaultCIMDMaxBytes)
	for _, chunked := range []bool{false, true} {
		d.handler.Store(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			body := fmt.Sprintf(`{"client_id":%q,"redirect_uris":[%q],"client_name":%q}`, d.clientID, clientCB, big)
			if chunked {
				// No Content-Length: the cap applies to what arrives.
				w.(http.Flusher).Flush()
			}
			_, _ = w.Write([]byte(body))
		})
		resp, body := e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
		wantErrorPage(t, resp, body, http.StatusBadRequest)
		if !strings.Contains(body, "too large") {
			t.Fatalf("chunked=%v: page does not say why: %s", chunked, body)
		}
	}
}

func TestMetadataDocumentSlowIsRefused(t *testing.T) {
	d := newDocServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	d.handler.Store(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"client_id":`))
		w.(http.Flusher).Flush()
		select { // drip nothing more until the proxy gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	e := newEnv(t, withDocServer(d, 300*time.Millisecond))
	start := time.Now()
	resp, body := e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "did not arrive in time") {
		t.Fatalf("page does not say why: %s", body)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("the fetch took %v: the timeout did not apply", el)
	}
}

func TestMetadataDocumentRedirectIsNotFollowed(t *testing.T) {
	d := newDocServer(t)
	d.handler.Store(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	e := newEnv(t, withDocServer(d, 5*time.Second))
	resp, body := e.get(e.authURL(newAuthRequest(d.clientID, clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
	if n := d.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches", n)
	}
}

func TestMetadataDocumentURLRules(t *testing.T) {
	for _, bad := range []string{
		"http://example.com/client.json", "https://example.com", "https://example.com/",
		"https://user@example.com/c.json", "https://example.com/c.json#x", "https://example.com/a/../c.json",
	} {
		if checkClientIDURL(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := checkClientIDURL("https://example.com/oauth/client.json"); err != nil {
		t.Fatal(err)
	}
}

func TestFreshness(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		hdr  http.Header
		want time.Duration
	}{
		{http.Header{"Cache-Control": {"max-age=120"}}, 120 * time.Second},
		{http.Header{"Cache-Control": {"public, max-age=999999"}}, maxFreshness},
		{http.Header{"Cache-Control": {"no-store"}}, 0},
		{http.Header{"Cache-Control": {"no-cache"}}, 0},
		{http.Header{"Cache-Control": {"max-age=60, no-store"}}, 0},
		{http.Header{"Cache-Control": {"max-age=60"}, "Expires": {"0"}}, time.Minute},
		{http.Header{"Expires": {now.Add(time.Hour).UTC().Format(http.TimeFormat)}}, time.Hour},
		{http.Header{"Expires": {"0"}}, 0},
		{http.Header{}, heuristicFreshness},
	} {
		if got := freshness(tc.hdr, now); got < tc.want-time.Second || got > tc.want {
			t.Errorf("%v: %v, want %v", tc.hdr, got, tc.want)
		}
	}
}

func TestCIMDCacheIsBounded(t *testing.T) {
	c := newCIMDCache(3)
	now := time.Now()
	for i := range 10 {
		c.put(fmt.Sprintf("https://c%d.example/x", i), &clientInfo{}, now.Add(time.Hour), now)
	}
	if c.len() != 3 {
		t.Fatalf("cache holds %d", c.len())
	}
	c.put("https://fresh.example/x", &clientInfo{}, now.Add(-time.Second), now)
	if c.get("https://fresh.example/x", now) != nil {
		t.Fatal("an expired entry was served")
	}
	_ = url.URL{}
}
