package cognitoauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// TestJWKSOutageTenSimulatedMinutes takes the issuer down for ten minutes
// of the key source's clock, stepping one second at a time. Every second a
// fresh token under the known key must verify, and a token under a kid
// nobody knows must be refused; the unknown kids may cost at most one JWKS
// fetch per rest period (10 s). After recovery, a key rotated during the
// outage is picked up on demand. (jwks_test.go covers the single steps;
// this is the long run.)
func TestJWKSOutageTenSimulatedMinutes(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is, func(m *CognitoAuth) { m.CacheSize = -1 })
	clock := useFakeClock(m)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	known := is.CurrentKID()
	// Rotated mid-outage: signed with a key the edge has never seen.
	rotated := is.Rotate(ti.RSA)
	is.SetCurrent(known)
	is.SetDown(true)
	is.ResetCounters()

	const outage = 10 * time.Minute
	steps, unknownTried := 0, 0
	for elapsed := time.Duration(0); elapsed < outage; elapsed += time.Second {
		if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(known)))); res.rec.Code != 200 {
			t.Fatalf("known key at +%v: %d %s", elapsed, res.rec.Code, res.rec.Body)
		}
		for _, kid := range []string{rotated, "never-" + itoa(steps)} {
			opt := ti.KID(rotated)
			if kid != rotated {
				opt = ti.HeaderKID(kid)
			}
			res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), opt)))
			unknownTried++
			if res.rec.Code != http.StatusUnauthorized || res.challengeError() != "invalid_token" {
				t.Fatalf("unknown kid %s at +%v: %d", kid, elapsed, res.rec.Code)
			}
		}
		steps++
		if max := int(elapsed/restPeriod) + 1; is.JWKSFetches() > max {
			t.Fatalf("%d JWKS fetches after %v of outage, want at most %d (one per %v)", is.JWKSFetches(), elapsed, max, restPeriod)
		}
		clock.advance(time.Second)
	}
	fetches := is.JWKSFetches()
	if want := int(outage / restPeriod); fetches > want {
		t.Fatalf("%d fetches during a %v outage, want at most %d", fetches, outage, want)
	}
	if fetches == 0 {
		t.Fatal("no fetch was attempted during the outage: the rotated key could never be found")
	}

	is.SetDown(false)
	clock.advance(restPeriod)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(rotated)))); res.rec.Code != 200 {
		t.Fatalf("rotated key after recovery: %d %s", res.rec.Code, res.rec.Body)
	}
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(known)))); res.rec.Code != 200 {
		t.Fatalf("old key after recovery: %d", res.rec.Code)
	}
	t.Logf("%d simulated seconds: %d known-key verifications, %d unknown-kid tokens, %d JWKS fetches (limit %d)",
		steps, steps, unknownTried, fetches, int(outage/restPeriod))
}

// TestCredentialCacheSurvivesReload: a reload provisions a new module
// before the old one is cleaned up. With an unchanged vending config the
// new module must find the credentials the old one vended (no second
// exchange), and a changed config must not.
func TestCredentialCacheSurvivesReload(t *testing.T) {
	e := newVendEnv(t)
	cfg := func(m *CognitoAuth) { m.RoleARN = vendRole }
	old := e.module(t, cfg)
	tok := e.idToken("alice")
	wantOK(t, vendServe(t, old, tok))

	reloaded := e.module(t, cfg)
	_ = old.Cleanup()
	wantOK(t, vendServe(t, reloaded, tok))
	if n := e.fake.CallCount("AssumeRoleWithWebIdentity"); n != 1 {
		t.Fatalf("credential exchanges after an unchanged reload = %d, want 1", n)
	}

	changed := e.module(t, func(m *CognitoAuth) { m.RoleARN = vendRole; m.SessionDuration = caddy.Duration(2 * time.Hour) })
	_ = reloaded.Cleanup()
	wantOK(t, vendServe(t, changed, tok))
	if n := e.fake.CallCount("AssumeRoleWithWebIdentity"); n != 2 {
		t.Fatalf("credential exchanges after a vending change = %d, want 2", n)
	}
	key := changed.credCacheKey
	_ = changed.Cleanup()
	if n, ok := credCaches.References(key); ok || n != 0 {
		t.Fatalf("cache still referenced (%d) after the last cleanup", n)
	}
}
