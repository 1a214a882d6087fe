package oauthproxy

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

// redisUsed opens a client of srv under its own name (so each instance
// of a test has its own connections) and returns the Redis used-code set.
func redisUsed(t *testing.T, srv *redistest.Server, name string) UsedCodes {
	t.Helper()
	c, release, err := redisclient.Open(srv.URL() + "?client_name=" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return NewRedisUsedCodes(c, nil)
}

// Two instances that share only the sealing key and Redis: a code
// redeemed on one is refused on the other by Redis, before any call
// upstream (without Redis, the upstream's own single use refuses it; see
// TestCodeReplayOnAnotherInstanceIsRefusedByTheUpstream).
func TestCodeReplayOnAnotherInstanceIsRefusedInRedis(t *testing.T) {
	srv := redistest.New(t)
	e := newEnv(t, func(c *Config) { c.UsedCodes = redisUsed(t, srv, "instance-a") })
	other := e.secondInstanceWith(redisUsed(t, srv, "instance-b"))
	a, code := e.authorized()
	if status, body := e.redeem(a, code); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	status, body := other.redeem(a, code)
	wantOAuthError(t, status, body, 400, "invalid_grant")
	if d, _ := body["error_description"].(string); !strings.Contains(d, "already been used") {
		t.Fatalf("refused for another reason: %v", body)
	}
	if tr := e.fake.TokenRequests(); len(tr) != 1 {
		t.Fatalf("%d upstream token requests: the replay reached the upstream", len(tr))
	}
	// Redis holds a digest of the code's identifier, not the code.
	d := srv.Dump(t)
	if len(d) != 1 || !strings.HasPrefix(d[0].Key, "cwmcp:oc:") || d[0].Values[0] != "1" || d[0].TTL <= 0 {
		t.Fatalf("Redis holds %+v", d)
	}
	if bytes.Contains(d.Text(), []byte(code[:16])) {
		t.Fatal("Redis holds the code")
	}
	e.scan.Capture("redis", d.Text())
}

// Redis down: redemption fails closed with 503 temporarily_unavailable
// and Retry-After, without calling the upstream or spending the code,
// which the client redeems once Redis is back.
func TestCodeRedemptionFailsClosedWithoutRedis(t *testing.T) {
	srv := redistest.New(t)
	e := newEnv(t, func(c *Config) { c.UsedCodes = redisUsed(t, srv, "instance-a") })
	a, code := e.authorized()
	srv.Stop()
	req := redeemRequest(e, a, code)
	resp, body := e.do(req)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, `"error":"temporarily_unavailable"`) || !strings.Contains(body, "retry the same request") {
		t.Fatalf("Redis down: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	e.scan.Capture("token error", []byte(body))
	if n := len(e.fake.TokenRequests()); n != 0 {
		t.Fatalf("%d upstream token requests while the code could not be claimed", n)
	}
	if err := srv.Restart(false); err != nil {
		t.Fatal(err)
	}
	// The breaker retries Redis within a few seconds.
	for i := 0; ; i++ {
		status, body := e.redeem(a, code)
		if status == 200 {
			break
		}
		if status != 503 || i > 200 {
			t.Fatalf("after Redis came back: %d %v", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, again := e.redeem(a, code)
	wantOAuthError(t, status, again, 400, "invalid_grant")
}

func redeemRequest(e *env, a *authRequest, code string) *http.Request {
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {a.clientID}, "code": {code},
		"redirect_uri": {a.redirectURI}, "code_verifier": {a.verifier}}
	req, _ := http.NewRequest(http.MethodPost, e.origin+PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
