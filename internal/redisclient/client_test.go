package redisclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
)

func TestOpenSharesOneClientPerURL(t *testing.T) {
	srv := redistest.New(t)
	ctx := context.Background()
	a, releaseA, err := Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, err := Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two clients for one URL")
	}
	other, releaseOther, err := Open(srv.URLDB(1))
	if err != nil {
		t.Fatal(err)
	}
	if other == a {
		t.Fatal("one client for two databases")
	}
	for _, c := range []*Client{a, other} {
		if err := c.Redis().Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := srv.ClientCount(ctx, ClientName); n != 2 {
		t.Fatalf("%d connections named %s, want 2", n, ClientName)
	}
	// Releasing one hold keeps the client; the last release closes it.
	releaseA()
	releaseA() // idempotent: must not release B's hold
	if err := b.Redis().Ping(ctx).Err(); err != nil {
		t.Fatalf("client closed while still held: %v", err)
	}
	releaseB()
	releaseOther()
	waitFor(t, func() bool { n, _ := srv.ClientCount(ctx, ClientName); return n == 0 }, "connections closed after the last release")
	if err := a.Redis().Ping(ctx).Err(); err == nil {
		t.Fatal("the released client still works")
	}
}

func TestParseURL(t *testing.T) {
	opt, err := ParseURL("redis://user:pa55word@redis.internal:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Addr != "redis.internal:6380" || opt.DB != 2 || opt.Username != "user" || opt.Password != "pa55word" ||
		opt.TLSConfig != nil || opt.ClientName != ClientName {
		t.Fatalf("%+v", opt)
	}
	if opt.DialTimeout != DefaultDialTimeout || opt.ReadTimeout != DefaultReadTimeout ||
		opt.WriteTimeout != DefaultWriteTimeout || opt.PoolTimeout != DefaultPoolTimeout || opt.MaxRetries != -1 || opt.Protocol != 2 {
		t.Fatalf("timeouts %v %v %v %v retries %d", opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout, opt.MaxRetries)
	}
	opt, err = ParseURL("rediss://cache.example:6379/0?read_timeout=2s&max_retries=2&client_name=edge")
	if err != nil {
		t.Fatal(err)
	}
	if opt.TLSConfig == nil || opt.TLSConfig.ServerName != "cache.example" {
		t.Fatalf("rediss must use TLS with the host's name: %+v", opt.TLSConfig)
	}
	if opt.ReadTimeout != 2*time.Second || opt.MaxRetries != 2 || opt.ClientName != "edge" || opt.DialTimeout != DefaultDialTimeout {
		t.Fatalf("query parameters must override the defaults: %v %d %q", opt.ReadTimeout, opt.MaxRetries, opt.ClientName)
	}
}

func TestURLErrorsNeverShowThePassword(t *testing.T) {
	const pw = "hunter2-very-secret"
	for _, raw := range []string{
		"http://u:" + pw + "@host:6379/0",
		"redis://u:" + pw + "@host:6379/notadb",
		"redis://u:" + pw + "@host:6379/0?nonsense=1",
		"redis://u:" + pw + "@host:6379/0#frag",
		"redis://u:" + pw + "@:6379/0",
		"redis://u:" + pw + "@host:6379/0\x7f",
		"redis://u:" + pw + "@host:6379/0?dial_timeout=forever",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("%q accepted", Redact(raw))
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
		if _, _, err := Open(raw); err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("Open: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://user:secret@host:6379/1":    "redis://user:xxxxx@host:6379/1",
		"rediss://:secret@host:6379/0":       "rediss://:xxxxx@host:6379/0",
		"redis://secret@host:6379":           "redis://xxxxx@host:6379",
		"redis://host:6379/0?read_timeout=1": "redis://host:6379/0?read_timeout=1",
		"redis://u:p@host\x7f":               "(invalid Redis URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKey(t *testing.T) {
	k := Key("rl", "https://issuer", "alice")
	if !strings.HasPrefix(k, KeyPrefix+"rl:") || strings.Contains(k, "alice") || strings.Contains(k, "issuer") {
		t.Fatalf("key %q", k)
	}
	if k == Key("rl", "https://issuera", "lice") || k == Key("rl", "https://issuer", "alice", "") || k == Key("oc", "https://issuer", "alice") {
		t.Fatal("parts or kinds run into each other")
	}
	if k != Key("rl", "https://issuer", "alice") {
		t.Fatal("not deterministic")
	}
}

// A frozen Redis (it accepts connections and never answers) holds one
// command for the read timeout; the breaker then answers everyone at
// once until a probe finds it back.
func TestFrozenRedisCostsOneBoundedWait(t *testing.T) {
	srv := redistest.New(t)
	c, release, err := Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	if err := c.Redis().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	start := time.Now()
	err = c.Redis().Get(ctx, "k").Err()
	if err == nil || !IsUnavailable(err) {
		t.Fatalf("frozen: %v", err)
	}
	// The read timeout plus scheduling slack on a loaded machine; go-redis
	// defaults (5 s, 3 retries) would take 20 s.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a frozen Redis held the command %v", d)
	}
	if c.Status().Up {
		t.Fatal("breaker still closed after a timeout")
	}
	// Everyone else is answered without waiting.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := time.Now()
			err := c.Redis().Get(ctx, "k").Err()
			d := time.Since(s)
			mu.Lock()
			slowest = max(slowest, d)
			mu.Unlock()
			if err == nil {
				t.Error("answered while frozen")
			}
		}()
	}
	wg.Wait()
	// At most one of them is the probe, which waits one read timeout.
	if slowest > 2*time.Second {
		t.Fatalf("slowest of 50 commands while frozen: %v", slowest)
	}
	srv.Thaw()
	waitFor(t, func() bool { return c.Redis().Get(ctx, "k").Err() == nil }, "recovery after thaw")
	if st := c.Status(); !st.Up || st.Outages != 1 || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
}

func TestStoppedRedisFailsFastAndRecovers(t *testing.T) {
	srv := redistest.New(t, redistest.Options{Password: "a-password-for-this-test"})
	c, release, err := Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	if err := c.Redis().Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for range 20 {
		start := time.Now()
		err := c.Redis().Ping(ctx).Err()
		if err == nil || !IsUnavailable(err) {
			t.Fatalf("down: %v", err)
		}
		if strings.Contains(err.Error(), "a-password-for-this-test") {
			t.Fatalf("error shows the password: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a refused connection took %v", d)
		}
	}
	if err := srv.Restart(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return c.Redis().Ping(ctx).Err() == nil }, "recovery after restart")
	if strings.Contains(c.String(), "a-password-for-this-test") || !strings.Contains(c.String(), "xxxxx") {
		t.Fatalf("String() = %q", c.String())
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBreaker(func() time.Time { return now })
	down := errors.New("dial tcp: connection refused")
	if b.Allow() != nil {
		t.Fatal("closed breaker refused")
	}
	b.ReportResult(nil)
	b.ReportResult(errRedisReply("WRONGTYPE Operation against a key holding the wrong kind of value"))
	if up, _, _ := b.state(); !up {
		t.Fatal("an error reply opened the breaker")
	}
	b.ReportResult(down)
	if b.Allow() != ErrUnavailable {
		t.Fatal("open breaker let a command through")
	}
	now = now.Add(minOpen)
	if b.Allow() != nil {
		t.Fatal("no probe after minOpen")
	}
	if b.Allow() != ErrUnavailable {
		t.Fatal("a second probe while the first runs")
	}
	b.ReportResult(down) // the probe failed: twice as long
	now = now.Add(minOpen)
	if b.Allow() != ErrUnavailable {
		t.Fatal("backoff did not double")
	}
	now = now.Add(minOpen)
	if b.Allow() != nil {
		t.Fatal("no probe after the doubled backoff")
	}
	for range 10 {
		b.ReportResult(down)
		now = now.Add(maxOpen)
		if b.Allow() != nil {
			t.Fatal("backoff grew past maxOpen")
		}
	}
	// A probe whose result never comes back frees the slot.
	if b.Allow() != ErrUnavailable {
		t.Fatal("second probe")
	}
	now = now.Add(probeTimeout)
	if b.Allow() != nil {
		t.Fatal("the probe slot was never freed")
	}
	b.ReportResult(nil)
	if b.Allow() != nil {
		t.Fatal("not closed after a successful probe")
	}
	if up, n, last := b.state(); !up || n != 1 || last != down.Error() {
		t.Fatalf("state %v %d %q", up, n, last)
	}
	for _, e := range []error{errRedisReply("LOADING Redis is loading the dataset in memory"), context.DeadlineExceeded, ErrUnavailable} {
		if !IsUnavailable(e) {
			t.Errorf("%v not a failure", e)
		}
	}
	for _, e := range []error{nil, context.Canceled, errRedisReply("NOSCRIPT No matching script")} {
		if IsUnavailable(e) {
			t.Errorf("%v is a failure", e)
		}
	}
}

// errRedisReply is an error reply as go-redis returns it.
type errRedisReply string

func (e errRedisReply) Error() string { return string(e) }
func (errRedisReply) RedisError()     {}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
