package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// measureP6: resident memory of a Caddy (child process, cognito_auth with
// role_arn vending + cloudwatch_mcp) holding cfg.p6Sessions idle MCP
// sessions, against the same process before the sessions; then again after
// session_idle_timeout has reclaimed them. Two populations run side by side
// in two children (memory figures do not depend on sharing the CPU):
//
//   - one session per user, cfg.p6Sessions distinct users: the sessions plus
//     one verified-token and one credential cache entry per user. Those
//     caches are bounded (cache_size, credentials_cache_size: 10,000 by
//     default) and forget a user idle for cache_idle, which the run sets to
//     the session idle timeout (the defaults are equal too: 30m);
//   - 50 sessions per user: the sessions alone, almost no cache.
//
// Every session is a full initialize + notifications/initialized through
// token verification and credential vending.
func measureP6(e *benchEnv, cfg config) ([]*result, error) {
	type variant struct {
		perUser      int
		added, after *result
		notes        []string
	}
	mb := func(x float64) string { return fmt.Sprintf("%.1f MB", x) }
	pct := func(x float64) string { return fmt.Sprintf("%+.1f %%", x) }
	var variants []*variant
	for i, perUser := range []int{1, 50} {
		users := cfg.p6Sessions / perUser
		who := fmt.Sprintf("%d distinct users, 1 session each", users)
		if perUser > 1 {
			who = fmt.Sprintf("%d users × %d sessions", users, perUser)
		}
		suffix := string(rune('a' + 2*i))
		v := &variant{perUser: perUser}
		v.added = &result{id: "P6" + suffix, measure: fmt.Sprintf("RSS added by %d idle MCP sessions (%s)", cfg.p6Sessions, who),
			baseline: "the same process before the sessions", goal: "≤ 200 MB added", unit: "MB",
			ratio: func(s, b float64) float64 { return s - b }, figFmt: mb}
		v.added.pass, v.added.miss = atMost(200, "MB")
		v.after = &result{id: "P6" + string(rune('a'+2*i+1)), measure: fmt.Sprintf("RSS after the idle TTL (%s) reclaimed those sessions (%s)", cfg.p6TTL, who),
			baseline: "the same process before the sessions", goal: "back within 10 %", unit: "MB",
			ratio: func(s, b float64) float64 { return 100 * (s - b) / b }, figFmt: pct}
		v.after.pass, v.after.miss = atMost(10, "points")
		variants = append(variants, v)
	}

	tokens := e.tokens(cfg.p6Sessions)
	for round := range cfg.rounds {
		var wg sync.WaitGroup
		errs := make([]error, len(variants))
		figs := make([]p6Figures, len(variants))
		for i, v := range variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				figs[i], errs[i] = p6Round(e, cfg, tokens[:cfg.p6Sessions/v.perUser], v.perUser, fmt.Sprintf("p6-%d-%d", round, i))
			}()
		}
		wg.Wait()
		for i, v := range variants {
			if errs[i] != nil {
				return nil, errs[i]
			}
			f := figs[i]
			v.added.subject = append(v.added.subject, f.loaded/mib)
			v.added.base = append(v.added.base, f.base/mib)
			v.after.subject = append(v.after.subject, f.afterFree/mib)
			v.after.base = append(v.after.base, f.base/mib)
			v.notes = append(v.notes, f.note)
		}
	}
	wait := cfg.p6TTL + max(cfg.p6TTL/2, time.Second) + time.Second
	var out []*result
	for _, v := range variants {
		v.added.note = "RSS (/proc/<pid>/statm) of the child Caddy with the sessions open and their connections closed, as it stands (garbage and free pages included); " +
			"baseline: the child after one warm-up session, a `debug.FreeOSMemory()` and 1 s. Per round: " + strings.Join(v.notes, "; ")
		v.after.note = fmt.Sprintf("Measured %s after the last session was opened (idle TTL + mcp-go's sweep interval + 1 s) and after `debug.FreeOSMemory()`, like the baseline, "+
			"so the figure is memory still held, not pages the Go runtime has yet to hand back (it does so by itself, more slowly); the RSS before that call is in the notes of the row above", wait)
		if v.perUser == 1 {
			v.after.note += fmt.Sprintf(". cognito_auth's `cache_idle` is %s, like the session idle timeout (both default to 30m), so the per-user verified-token and credential entries go with the sessions; "+
				"without it they would stay until the token or the credentials expire (1 h here). Heap profiles: `-childprof DIR`", cfg.p6TTL)
		}
		out = append(out, v.added, v.after)
	}
	return out, nil
}

type p6Figures struct {
	base, loaded, afterRaw, afterFree float64 // bytes
	note                              string
}

// p6Round runs one child: baseline, len(tokens)×perUser sessions, loaded
// figure, idle TTL, after figure.
func p6Round(e *benchEnv, cfg config, tokens []string, perUser int, name string) (p6Figures, error) {
	var f p6Figures
	port, err := testport.Pick()
	if err != nil {
		return f, err
	}
	cf := globalOptions(e.dir+"/storage-"+name) + fmt.Sprintf(`
http://127.0.0.1:%d {
%s
	cloudwatch_mcp {
		session_idle_timeout %s
	}
}
`, port, e.authBlock(fmt.Sprintf("role_arn %s\n\t\tcache_idle %s", benchRole, cfg.p6TTL)), cfg.p6TTL)
	var env []string
	if cfg.childProf != "" {
		env = append(env, "BENCH_CHILD_MEMPROFILERATE=4096")
	}
	c, err := e.startChild(name, cf, env...)
	if err != nil {
		return f, err
	}
	defer c.stop()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	heap := func(stage string) error {
		if cfg.childProf == "" {
			return nil
		}
		_, err := c.do(fmt.Sprintf("heap %s/%s-%s.pprof", cfg.childProf, name, stage))
		return err
	}

	const conc = 16
	client := newClient(conc)
	warm, err := openSession(client, url, e.token("p6-warm"))
	if err != nil {
		return f, err
	}
	if _, err := warm.call(client, "tools/list", "{}"); err != nil {
		return f, err
	}
	settle := func(cmd string) (float64, goStats, error) {
		client.CloseIdleConnections()
		if cmd != "" {
			if _, err := c.do(cmd); err != nil {
				return 0, goStats{}, err
			}
		}
		time.Sleep(time.Second)
		rss, err := c.rss()
		if err != nil {
			return 0, goStats{}, err
		}
		gs, err := c.goStats()
		return float64(rss), gs, err
	}
	var g0, g1, g2 goStats
	if f.base, g0, err = settle("free"); err != nil {
		return f, err
	}

	// Open the sessions, conc at a time.
	n := len(tokens) * perUser
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s, err := openSession(client, url, tokens[i%len(tokens)])
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ids[i] = s.id
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return f, firstErr
	}
	opened := time.Since(start)
	lastOpened := time.Now()
	if f.loaded, g1, err = settle(""); err != nil {
		return f, err
	}
	if err := heap("loaded"); err != nil {
		return f, err
	}

	// Wait for the idle TTL and mcp-go's sweeper (every max(TTL/2, 1s)).
	time.Sleep(time.Until(lastOpened.Add(cfg.p6TTL + max(cfg.p6TTL/2, time.Second) + time.Second)))
	raw, err := c.rss()
	if err != nil {
		return f, err
	}
	f.afterRaw = float64(raw)
	if f.afterFree, g2, err = settle("free"); err != nil {
		return f, err
	}
	if err := heap("after"); err != nil {
		return f, err
	}
	// The sessions must really be gone: a sample of them answers 404.
	probe := newClient(1)
	for range 20 {
		i := rand.IntN(n)
		s := &mcpSession{url: url, token: tokens[i%len(tokens)], id: ids[i]}
		resp, err := probe.Do(s.request(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
		if err != nil {
			return f, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			return f, fmt.Errorf("P6: session %d still answers %d after the idle TTL", i, resp.StatusCode)
		}
	}
	f.note = fmt.Sprintf("%d sessions opened in %.1f s, RSS %.1f → %.1f MB (Go heap in use %.1f → %.1f MB, goroutines %d → %d), "+
		"after the TTL %.1f MB before `FreeOSMemory`, %.1f MB after (heap in use %.1f MB, goroutines %d)",
		n, opened.Seconds(), f.base/mib, f.loaded/mib, float64(g0.heapInuse)/mib, float64(g1.heapInuse)/mib, g0.goroutines, g1.goroutines,
		f.afterRaw/mib, f.afterFree/mib, float64(g2.heapInuse)/mib, g2.goroutines)
	return f, nil
}
