package redistest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestDumpReadsEveryType(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, ClientName: "kit-test", DisableIdentity: true})
	defer c.Close()
	c.Set(ctx, "str", "string-value", time.Hour)
	c.HSet(ctx, "hash", "f1", "hash-value")
	c.RPush(ctx, "list", "list-value")
	c.SAdd(ctx, "set", "set-value")
	c.ZAdd(ctx, "zset", redis.Z{Score: 2, Member: "zset-value"})
	c.XAdd(ctx, &redis.XAddArgs{Stream: "stream", Values: map[string]any{"payload": "stream-value"}})
	c1 := redis.NewClient(&redis.Options{Addr: s.Addr, DB: 3, DisableIdentity: true})
	defer c1.Close()
	c1.Set(ctx, "other-db", "db3-value", 0)

	d := s.Dump(t)
	if len(d) != 7 {
		t.Fatalf("%d keys: %v", len(d), d.Keys())
	}
	text := d.Text()
	for _, v := range []string{"string-value", "hash-value", "list-value", "set-value", "zset-value", "stream-value", "db3-value", "f1", "payload"} {
		if !bytes.Contains(text, []byte(v)) {
			t.Errorf("dump misses %q:\n%s", v, text)
		}
	}
	for _, e := range d {
		if e.Key == "str" && (e.TTL <= 0 || e.TTL > time.Hour) {
			t.Errorf("ttl of str: %v", e.TTL)
		}
	}
	if n, err := s.ClientCount(ctx, "kit-test"); err != nil || n != 1 {
		t.Fatalf("client count %d, %v", n, err)
	}
}

func TestStopFreezeRestart(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	s.Freeze()
	start := time.Now()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("a frozen server answered")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the read timeout did not apply: %v", d)
	}
	s.Thaw()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after thaw: %q %v", v, err)
	}

	s.Stop()
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a stopped server answered")
	}
	if err := s.Restart(false); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("without persistence the data must be gone: %v", err)
	}

	// With persistence, even kill -9 keeps what was written.
	if err := s.Restart(true); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Restart(true); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "kept").Result(); err != nil || v != "yes" {
		t.Fatalf("persistent restart lost the data: %q %v", v, err)
	}
	if err := s.Restart(false); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Dump(t)); n != 0 {
		t.Fatalf("a restart without persistence kept %d keys", n)
	}
}

func TestPassword(t *testing.T) {
	s := New(t, Options{Password: "kit-password-0123456789"})
	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DisableIdentity: true})
	defer anon.Close()
	if err := anon.Set(context.Background(), "k", "v", 0).Err(); err == nil {
		t.Fatal("no password required")
	}
}
