package cognitoauth

import (
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

// A user idle past cache_idle is forgotten by both caches and pays one
// exchange on return; a user seen within it keeps both entries.
func TestCacheIdleForgetsUsersWhoLeft(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.AssumeRole = vendRole
		m.CacheIdle = caddy.Duration(10 * time.Minute)
	})
	stay, leave := e.idToken("stays"), e.idToken("leaves")
	wantOK(t, vendServe(t, m, stay))
	wantOK(t, vendServe(t, m, leave))
	e.clock.advance(6 * time.Minute)
	wantOK(t, vendServe(t, m, stay))
	e.clock.advance(6 * time.Minute)

	m.forgetIdle(e.clock.now().Add(-10 * time.Minute))
	if n, c := m.cache.len(), m.credCache.len(); n != 1 || c != 1 {
		t.Fatalf("after the sweep: %d verified tokens, %d credentials cached; want 1 and 1", n, c)
	}
	wantOK(t, vendServe(t, m, stay))
	if n := e.fake.CallCount("AssumeRole"); n != 2 {
		t.Fatalf("%d exchanges, want 2 (the active user kept their credentials)", n)
	}
	wantOK(t, vendServe(t, m, leave))
	if n := e.fake.CallCount("AssumeRole"); n != 3 {
		t.Fatalf("%d exchanges, want 3 (the returning user exchanged once)", n)
	}
}

// The sweeper runs on its own, and Cleanup stops it.
func TestCacheIdleSweeperRunsAndStops(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.AssumeRole = vendRole
		m.CacheIdle = caddy.Duration(time.Second)
		m.now = time.Now // the sweeper keeps real time; the fake's clock is e.clock
	})
	wantOK(t, vendServe(t, m, e.idToken("brief")))
	testwait.Until(t, "the idle entries to be swept", func() bool { return m.cache.len() == 0 && m.credCache.len() == 0 })
	if m.sweeper == nil {
		t.Fatal("no sweeper")
	}
	if err := m.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if m.sweeper != nil {
		t.Fatal("Cleanup left the sweeper running")
	}

	off := e.module(t, func(m *CognitoAuth) { m.AssumeRole = vendRole; m.CacheIdle = -1 })
	if off.sweeper != nil {
		t.Fatal("cache_idle off started a sweeper")
	}
}
