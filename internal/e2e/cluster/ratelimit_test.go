package cluster

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

// Subs are UUID-like, as Cognito's, and long enough for the secret scan.
const (
	aliceSub = "a11ce000-6d2f-4c1e-9f0a-7e3b5c9d2a41"
	bobSub   = "b0b00000-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
	carolSub = "ca201000-9f8e-4d7c-a6b5-c4d3e2f1a0b9"
	daveSub  = "da7e0000-0f1e-4d2c-b3a4-958677665544"
)

// The limit allows a burst of 20 and refills one a minute, so a test
// that takes less than a minute sees no refill.
const (
	clusterLimit = "60 1h burst 20"
	burst        = 20
	refillEvery  = time.Minute
)

// admitted counts 200s and checks every refusal is a 429 with a
// Retry-After within one refill.
func admitted(t *testing.T, answers []answer) int {
	t.Helper()
	n := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("request %d: %v", i, a.err)
		case a.status == 200:
			n++
		case a.status == 429:
			s, err := strconv.Atoi(a.retryAfter)
			if err != nil || s < 1 || s > int(refillEvery/time.Second) {
				t.Fatalf("request %d: 429 with Retry-After %q, want 1..60", i, a.retryAfter)
			}
		default:
			t.Fatalf("request %d: status %d", i, a.status)
		}
	}
	return n
}

// wantBurst checks that exactly the burst was admitted, or one more if
// the requests took long enough for a refill.
func wantBurst(t *testing.T, what string, got int, took time.Duration) {
	t.Helper()
	extra := int(took / refillEvery)
	if got < burst || got > burst+extra {
		t.Fatalf("%s: %d admitted in %v, want exactly %d (+%d for refill)", what, got, took, burst, extra)
	}
}

// Issue 14, proof 1: three times the limit from one user, spread over
// three instances, admits exactly the burst; another user is unaffected.
// Without Redis each instance would admit its own burst (60 in all).
func TestRateLimitIsOneBudgetAcrossInstances(t *testing.T) {
	srv := redistest.New(t)
	nodes := startCluster(t, 3, srv.URL(), clusterLimit)
	alice := token(aliceSub)
	start := time.Now()
	answers := spread(nodes, alice, 3*burst, 6)
	wantBurst(t, "alice over 3 instances", admitted(t, answers), time.Since(start))
	// Every instance refused some: the budget was spent cluster-wide.
	for i, n := range nodes {
		refused := 0
		for j := i; j < len(answers); j += len(nodes) {
			if answers[j].status == 429 {
				refused++
			}
		}
		if refused == 0 {
			t.Errorf("instance %s refused nothing", n.Name)
		}
	}
	bob := token(bobSub)
	for _, n := range nodes {
		if a := get(n.url, bob); a.status != 200 {
			t.Fatalf("bob on %s: %d", n.Name, a.status)
		}
	}
	checkSecrets(t, srv, nodes, aliceSub, bobSub)
}

// Issue 14, proof 4 (rate limit part): Redis down, every instance still
// answers, quickly, with its own buckets; each warns once (not per
// request); when Redis is back every instance uses it again by itself,
// and the budget is cluster-wide again.
func TestRedisDownFallsBackAndRecovers(t *testing.T) {
	srv := redistest.New(t)
	nodes := startCluster(t, 3, srv.URL(), clusterLimit)
	carol := token(carolSub)
	if a := get(nodes[0].url, carol); a.status != 200 {
		t.Fatalf("before: %d", a.status)
	}

	srv.Stop()
	for _, n := range nodes {
		var answers []answer
		for range burst + 5 {
			a := get(n.url, carol)
			if a.took > time.Second {
				t.Fatalf("%s took %v with Redis down", n.Name, a.took)
			}
			answers = append(answers, a)
		}
		// The instance's own bucket was never charged (Redis decided).
		if got := admitted(t, answers); got != burst {
			t.Fatalf("%s admitted %d with Redis down, want its own burst %d", n.Name, got, burst)
		}
		if w := n.LogLines("Redis cannot decide rate limits"); len(w) != 1 || !strings.Contains(w[0], `"level":"warn"`) {
			t.Fatalf("%s: %d warnings for %d requests, want 1: %v", n.Name, len(w), burst+5, w)
		}
		if m := n.Metrics(t); !strings.Contains(m, "caddy_cognito_auth_rate_limit_fallbacks_total 25") {
			t.Errorf("%s: fallback metric missing or wrong:\n%s", n.Name, grepLines(m, "fallbacks"))
		}
	}

	if err := srv.Restart(false); err != nil {
		t.Fatal(err)
	}
	// No restart of Caddy: each instance finds Redis again on its own.
	probe := token("probe-0000-0000-0000-000000000000")
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodes {
		for len(n.LogLines("Redis decides rate limits again")) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not go back to Redis:\n%s", n.Name, n.Output())
			}
			get(n.url, probe)
			time.Sleep(50 * time.Millisecond)
		}
	}
	dave := token(daveSub)
	start := time.Now()
	wantBurst(t, "dave after recovery", admitted(t, spread(nodes, dave, 3*burst, 6)), time.Since(start))
	checkSecrets(t, srv, nodes, carolSub, daveSub)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
