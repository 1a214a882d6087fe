package oauthproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/keylimit"
)

// testIPHeader carries the caller's address in these tests: the limit
// reads it through the ClientIP hook, as Caddy's client_ip is read.
const testIPHeader = "X-Test-Client-IP"

// limitedTo gives the proxy a bucket of burst requests per address,
// refilling one per second.
func limitedTo(burst int) func(*Config) {
	return func(c *Config) {
		c.RateLimit = RateLimit{
			Store:    keylimit.New(rate.Limit(1), burst, 1000),
			ClientIP: func(r *http.Request) string { return r.Header.Get(testIPHeader) },
		}
	}
}

// registerFrom registers a client as a caller at ip; the body is in
// the response's X-Body header, for brevity.
func (e *env) registerFrom(ip string) *http.Response {
	e.t.Helper()
	b := `{"client_name":"Limited","redirect_uris":["` + clientCB + `"]}`
	req, _ := http.NewRequest(http.MethodPost, e.origin+PathRegister, strings.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(testIPHeader, ip)
	resp, body := e.send(req)
	resp.Header.Set("X-Body", body)
	return resp
}

func (e *env) authorizeFrom(ip string, a *authRequest) (*http.Response, string) {
	e.t.Helper()
	req := mustRequest(http.MethodGet, e.authURL(a))
	req.Header.Set(testIPHeader, ip)
	return e.send(req)
}

// Registration over the limit gets 429, Retry-After and an RFC 6749 JSON
// error; the next request after the refill is admitted; other addresses
// have budgets of their own.
func TestRegistrationIsRateLimitedPerAddress(t *testing.T) {
	e := newEnv(t, limitedTo(3))
	for i := range 3 {
		if resp := e.registerFrom("203.0.113.7"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, resp.StatusCode, resp.Header.Get("X-Body"))
		}
	}
	resp := e.registerFrom("203.0.113.7")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("4th registration: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Header.Get("X-Body")), &body); err != nil || body["error"] != "temporarily_unavailable" ||
		!strings.Contains(body["error_description"], "retry after 1 seconds") {
		t.Fatalf("429 body %q", resp.Header.Get("X-Body"))
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("429 headers %v", resp.Header)
	}
	if resp := e.registerFrom("198.51.100.9"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("another address was limited: %d", resp.StatusCode)
	}
	e.clock.advance(time.Second)
	if resp := e.registerFrom("203.0.113.7"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("after the refill: %d", resp.StatusCode)
	}
}

// Authorization requests share the address's budget with registration;
// over it the browser gets an error page, never a redirect, and the
// client is not even looked at.
func TestAuthorizeOverTheLimitIsAPage(t *testing.T) {
	e := newEnv(t, limitedTo(2))
	a := newAuthRequest(e.register(clientCB), clientCB) // no address: its own bucket
	if resp, body := e.authorizeFrom("203.0.113.7", a); resp.StatusCode != http.StatusOK {
		t.Fatalf("first authorize: %d %s", resp.StatusCode, body)
	}
	if resp := e.registerFrom("203.0.113.7"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("registration: %d", resp.StatusCode)
	}
	resp, body := e.authorizeFrom("203.0.113.7", a)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Location") != "" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d, Location %q, Retry-After %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Retry-After"))
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Too many sign-in attempts") ||
		strings.Contains(body, "<form") || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("429 page: %s\n%s", resp.Header, body)
	}
}

// Fetching a client's metadata document is an outbound request to a URL
// the caller chose: it costs one more than the authorization request
// itself, a cached document costs nothing, and a fetch over the limit is
// never made.
func TestMetadataDocumentFetchesCountAgainstTheLimit(t *testing.T) {
	d := newDocServer(t)
	e := newEnv(t, withDocServer(d, 5*time.Second), limitedTo(4))
	a := newAuthRequest(d.clientID, clientCB)
	for i := range 2 { // 2 + 1, then 1 (cached)
		if resp, body := e.authorizeFrom("203.0.113.7", a); resp.StatusCode != http.StatusOK {
			t.Fatalf("authorize %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if n := d.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1 (the second request was served from the cache)", n)
	}
	// One token left: the authorization request is admitted, the fetch of
	// another document is not.
	other := newAuthRequest(strings.Replace(d.clientID, "/client.json", "/other.json", 1), clientCB)
	resp, body := e.authorizeFrom("203.0.113.7", other)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") {
		t.Fatalf("fetch over the limit: %d %s", resp.StatusCode, body)
	}
	if n := d.fetches.Load(); n != 1 {
		t.Fatalf("a fetch over the limit was made (%d fetches)", n)
	}
}

// A host holds a whole IPv6 /64: its addresses share one budget, the
// next /64 has its own, and an IPv4-mapped address is its IPv4 address.
func TestRateLimitKeys(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", in, got, want)
		}
	}
	e := newEnv(t, limitedTo(1))
	if resp := e.registerFrom("2001:db8:1:2::a"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	if resp := e.registerFrom("2001:db8:1:2::b"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("same /64: %d", resp.StatusCode)
	}
	if resp := e.registerFrom("2001:db8:1:3::a"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("next /64: %d", resp.StatusCode)
	}
}

// Without a ClientIP hook the peer address counts; without a store there
// is no limit at all.
func TestRateLimitDefaults(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimit = RateLimit{Store: keylimit.New(rate.Limit(1), 1, 10)} })
	if status, body := e.registerRaw(map[string]any{"redirect_uris": []string{clientCB}}); status != http.StatusCreated {
		t.Fatalf("first: %d %s", status, body)
	}
	if status, _ := e.registerRaw(map[string]any{"redirect_uris": []string{clientCB}}); status != http.StatusTooManyRequests {
		t.Fatalf("second from the same peer: %d", status)
	}
	open := newEnv(t)
	for i := range 50 {
		if status, body := open.registerRaw(map[string]any{"redirect_uris": []string{clientCB}}); status != http.StatusCreated {
			t.Fatalf("registration %d without a limit: %d %s", i, status, body)
		}
	}
}

// Many callers cost bounded memory: the store keeps at most its maximum
// of addresses.
func TestRateLimitMemoryIsBounded(t *testing.T) {
	store := keylimit.New(rate.Limit(1), 5, 100)
	e := newEnv(t, func(c *Config) {
		c.RateLimit = RateLimit{Store: store, ClientIP: func(r *http.Request) string { return r.Header.Get(testIPHeader) }}
	})
	for i := range 1000 {
		if resp := e.registerFrom(fmt.Sprintf("10.%d.%d.1", i/256, i%256)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("address %d: %d", i, resp.StatusCode)
		}
	}
	if n := store.Len(); n != 100 {
		t.Fatalf("%d addresses tracked, want the cap of 100", n)
	}
}
