package cluster

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redisclient"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

// Issue 14, proof 5: 50 config reloads with Redis configured leave the
// goroutines and the Redis connections flat: the client is shared across
// configs (the same connections serve before and after), and each
// reload's handlers give their hold back.
func TestReloadsKeepRedisConnectionsAndGoroutinesFlat(t *testing.T) {
	srv := redistest.New(t)
	n := startCluster(t, 1, srv.URL(), clusterLimit)[0]
	tok := token(aliceSub)
	ctx := context.Background()
	// Two configs with different limits, so every reload provisions new
	// handlers and stores instead of finding them equal.
	configs := []string{siteBlock(n.port, "600 1m burst 500"), siteBlock(n.port, "601 1m burst 500")}
	reloadAndServe := func(i int) {
		n.Load(t, configs[i%2])
		if a := afterReload(n.url, tok); a.status != 200 {
			t.Fatalf("reload %d: %d %v", i, a.status, a.err)
		}
	}
	for i := range 4 { // warm up: first reloads allocate what stays
		reloadAndServe(i)
	}
	before := n.Goroutines(t)
	conns := connectionIDs(t, srv)
	if len(conns) == 0 {
		t.Fatal("no Redis connection of the instance")
	}
	for i := range 50 {
		reloadAndServe(i)
	}
	// Old configs finish cleaning up shortly after a reload.
	deadline := time.Now().Add(15 * time.Second)
	after := n.Goroutines(t)
	for after > before+2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		after = n.Goroutines(t)
	}
	if after > before+2 {
		t.Fatalf("goroutines %d → %d over 50 reloads:\n%s", before, after, n.GoroutineDump())
	}
	now := connectionIDs(t, srv)
	if len(now) > len(conns) {
		t.Fatalf("Redis connections %v → %v over 50 reloads", conns, now)
	}
	// Kept, not replaced: the connections of before still serve.
	for _, id := range now {
		if !contains(conns, id) {
			t.Fatalf("connection %s is new: the client did not survive the reloads (%v → %v)", id, conns, now)
		}
	}
	if c, err := srv.ClientCount(ctx, redisclient.ClientName); err != nil || c != len(now) {
		t.Fatalf("client count %d %v", c, err)
	}

	// A reload that changes the URL opens a new client and the old
	// config's release closes the old one: 20 such reloads, still flat.
	urls := []string{srv.URLDB(1), srv.URLDB(2)}
	for i := range 20 {
		n.Load(t, siteBlockRedis(n.port, "600 1m burst 500", urls[i%2]))
		if a := afterReload(n.url, tok); a.status != 200 {
			t.Fatalf("URL change %d: %d %v", i, a.status, a.err)
		}
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		c, err := srv.ClientCount(ctx, redisclient.ClientName)
		if err != nil {
			t.Fatal(err)
		}
		if c <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections after 20 reloads changing the URL: old clients were not closed", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if g := n.Goroutines(t); g > before+2 {
		t.Fatalf("goroutines %d → %d after the URL changes:\n%s", before, g, n.GoroutineDump())
	}
	checkSecrets(t, srv, []*node{n}, aliceSub)
}

// afterReload is get right after a reload. Caddy may reset a connection
// that its old server accepted while stopping: a transport error (never
// a status) is retried on a new connection.
func afterReload(url, tok string) answer {
	var a answer
	for range 5 {
		if a = getWith(fresh, url, tok); a.err == nil {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a
}

// connectionIDs are the ids of the instances' Redis connections.
func connectionIDs(t *testing.T, srv *redistest.Server) []string {
	t.Helper()
	list, err := srv.Admin().ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+redisclient.ClientName+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
