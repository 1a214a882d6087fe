package cognitoauth

import (
	"net/http"
	"sync"
	"testing"
	"time"

	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// fakeClock drives the key source's rest period.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func useFakeClock(m *CognitoAuth) *fakeClock {
	c := &fakeClock{t: time.Now()}
	m.keys.mu.Lock()
	m.keys.now = c.now
	m.keys.mu.Unlock()
	return c
}

func TestKeyRotationFetchesOnce(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	is.Rotate(ti.RSA)
	for i := 0; i < 5; i++ {
		if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
			t.Fatalf("after rotation: %d %s", res.rec.Code, res.rec.Body)
		}
	}
	if got := is.JWKSFetches(); got != 2 {
		t.Fatalf("jwks fetches = %d, want 2 (initial + rotation)", got)
	}
}

func TestJWKSOutageKeepsCachedKeys(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	clock := useFakeClock(m)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	is.SetDown(true)
	// Fresh tokens (not in the token cache) still verify with cached keys.
	for i := 0; i < 20; i++ {
		if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
			t.Fatalf("during outage: %d %s", res.rec.Code, res.rec.Body)
		}
	}
	// A new key cannot be fetched: its tokens are rejected as invalid,
	// while the known key keeps working.
	oldKID := is.CurrentKID()
	kid := is.Rotate(ti.RSA)
	res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient))))
	if res.rec.Code != 401 || res.challengeError() != "invalid_token" {
		t.Fatalf("unknown kid during outage: %d", res.rec.Code)
	}
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(oldKID)))); res.rec.Code != 200 {
		t.Fatalf("old key after failed refetch: %d", res.rec.Code)
	}
	if got := is.JWKSFetches(); got != 2 {
		t.Fatalf("jwks fetches = %d, want 2", got)
	}
	// Back up and rested: the new key is picked up on demand.
	is.SetDown(false)
	clock.advance(restPeriod)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient), ti.KID(kid)))); res.rec.Code != 200 {
		t.Fatalf("after recovery: %d %s", res.rec.Code, res.rec.Body)
	}
}

func TestColdStartOutageThenRecovery(t *testing.T) {
	is := newCognitoIssuer(t)
	is.SetDown(true)
	m := cognitoModule(t, is)
	clock := useFakeClock(m)
	tok := is.Mint(is.CognitoAccessClaims("u", testClient))
	for i := 0; i < 3; i++ {
		res := serve(t, m, bearerRequest(tok))
		if res.rec.Code != http.StatusServiceUnavailable || res.rec.Header().Get("Retry-After") == "" {
			t.Fatalf("no keys: %d %v", res.rec.Code, res.rec.Header())
		}
	}
	if got := is.JWKSFetches(); got != 1 {
		t.Fatalf("fetches while resting = %d, want 1", got)
	}
	is.SetDown(false)
	clock.advance(restPeriod)
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatalf("after recovery: %d %s", res.rec.Code, res.rec.Body)
	}
}

func TestDiscoveryFailureRetriedOnDemand(t *testing.T) {
	is := ti.New()
	t.Cleanup(is.Close)
	is.SetDown(true)
	m := provision(t, &CognitoAuth{Issuer: is.Issuer(), Audiences: []string{"api"}})
	clock := useFakeClock(m)
	tok := is.Mint(is.OIDCAccessClaims("u", "api"))
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("issuer down: %d", res.rec.Code)
	}
	is.SetDown(false)
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("resting: %d", res.rec.Code)
	}
	clock.advance(restPeriod)
	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatalf("after rest: %d %s", res.rec.Code, res.rec.Body)
	}
	if is.DiscoveryFetches() != 2 || is.JWKSFetches() != 1 {
		t.Fatalf("discovery=%d jwks=%d, want 2/1", is.DiscoveryFetches(), is.JWKSFetches())
	}
}

func TestUnknownKidStorm(t *testing.T) {
	is := newCognitoIssuer(t)
	m := cognitoModule(t, is)
	clock := useFakeClock(m)
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	is.ResetCounters()
	claims := is.CognitoAccessClaims("u", testClient)
	var wg sync.WaitGroup
	codes := make(chan int, 1000)
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				tok := is.Mint(claims, ti.HeaderKID("fresh-"+string(rune('a'+w))+"-"+itoa(i)))
				codes <- serve(t, m, bearerRequest(tok)).rec.Code
			}
		}(w)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 401 {
			t.Fatalf("storm request got %d", c)
		}
	}
	if got := is.JWKSFetches(); got > 1 {
		t.Fatalf("1000 unknown kids caused %d fetches, want at most 1 per %s", got, restPeriod)
	}
	// Known keys keep working during the rest period.
	if res := serve(t, m, bearerRequest(is.Mint(is.CognitoAccessClaims("u", testClient)))); res.rec.Code != 200 {
		t.Fatalf("known kid during rest: %d", res.rec.Code)
	}
	// The next period allows exactly one more fetch.
	clock.advance(restPeriod)
	for i := 0; i < 100; i++ {
		serve(t, m, bearerRequest(is.Mint(claims, ti.HeaderKID("later-"+itoa(i)))))
	}
	if got := is.JWKSFetches(); got != 2 {
		t.Fatalf("fetches after one more period = %d, want 2", got)
	}
}

func TestColdStartBurstWaitsForOneFetch(t *testing.T) {
	is := newCognitoIssuer(t)
	is.SetJWKSDelay(200 * time.Millisecond)
	m := cognitoModule(t, is)
	const n = 64
	toks := make([]string, n)
	for i := range toks {
		toks[i] = is.Mint(is.CognitoAccessClaims("user-"+itoa(i), testClient))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			codes[i] = serve(t, m, bearerRequest(toks[i])).rec.Code
		}(i)
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if got := is.JWKSFetches(); got != 1 {
		t.Fatalf("cold burst caused %d fetches, want 1", got)
	}
}

func TestKeySourceSharedAndReleased(t *testing.T) {
	is := newCognitoIssuer(t)
	a := cognitoModule(t, is)
	b := cognitoModule(t, is, func(m *CognitoAuth) { m.TokenUse = "any" })
	if a.keys != b.keys {
		t.Fatal("two configs with one JWKS URL got different key sources")
	}
	src := a.keys
	_ = a.Cleanup()
	_ = a.Cleanup() // idempotent
	if src.ctx.Err() != nil {
		t.Fatal("source stopped while still in use")
	}
	_ = b.Cleanup()
	if src.ctx.Err() == nil {
		t.Fatal("source not stopped after the last user")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
