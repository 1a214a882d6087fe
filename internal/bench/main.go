// Command bench measures caddy-cloudwatch-mcp on loopback against the
// in-process fakes and writes BENCHMARKS.md. Every figure is a ratio against
// a baseline measured in the same run, or an absolute figure where the goal
// is one (exchange counts, latency after completion, memory), over several
// rounds that alternate the order of subject and baseline.
//
//	go run ./internal/bench [-rounds 3] [-duration 3s] [-concurrency 16] [-out BENCHMARKS.md]
//	go run ./internal/bench -short      # every measure, briefly (< 60 s): CI checks the suite runs
//	go run ./internal/bench -only P1,P7 -cpuprofile cpu.out -memprofile mem.out
//
// The load generator is this Go program (net/http with keep-alive), sharing
// the machine's cores with the servers it measures. P6, P8, P9 and P10 run
// Caddy in child processes: this binary re-executed with -serve <Caddyfile>. P11
// logs in through cognito_auth's oauth_proxy in front of a fake Cognito
// hosted UI with a scripted browser (internal/loginbrowser). P9 and P10 start
// their own redis-server (skipped without one, unless CI or CI_REQUIRE_REDIS=1 is
// set).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

type config struct {
	rounds      int
	duration    time.Duration
	concurrency int
	latencyN    int
	out         string
	short       bool

	p3Burst, p3Renewals int
	p5Durations         []time.Duration
	p5PerDuration       int
	p6Sessions          int
	p6TTL               time.Duration
	p7Users             int
	p8Conc              int
	childProf           string
}

// command is the exact command line that produced the report.
func (c config) command() string {
	return strings.TrimSpace("go run ./internal/bench " + strings.Join(os.Args[1:], " "))
}

func (c *config) applyDefaults() {
	c.p3Burst = 500
	c.p7Users = 1000
	c.p8Conc = c.concurrency
	if c.short {
		c.p3Renewals = 1
		c.p5Durations = []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond}
		c.p5PerDuration = 2
		c.p6Sessions = 1000
		c.p6TTL = 2 * time.Second
		return
	}
	c.p3Renewals = 3
	c.p5Durations = []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second}
	c.p5PerDuration = 5
	c.p6Sessions = 10000
	c.p6TTL = 10 * time.Second
}

type measure struct {
	id  string
	run func(*benchEnv, config) ([]*result, error)
}

var measures = []measure{
	{"P1", one(measureP1)}, {"P2", one(measureP2)}, {"P3", measureP3}, {"P4", one(measureP4)},
	{"P5", measureP5}, {"P6", measureP6}, {"P7", one(measureP7)}, {"P8", measureP8}, {"P9", measureP9},
	{"P10", measureP10}, {"P11", measureP11}, {"P13", measureP13},
}

func one(f func(*benchEnv, config) (*result, error)) func(*benchEnv, config) ([]*result, error) {
	return func(e *benchEnv, c config) ([]*result, error) {
		r, err := f(e, c)
		if err != nil {
			return nil, err
		}
		return []*result{r}, nil
	}
}

func main() {
	var cfg config
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds per measure (min/median/max are reported)")
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "load duration per subject per round")
	flag.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent keep-alive connections")
	flag.IntVar(&cfg.latencyN, "latency-n", 400, "sequential calls per latency sample")
	flag.StringVar(&cfg.out, "out", "", "report file (default BENCHMARKS.md; with -short, a file in the temp dir)")
	flag.BoolVar(&cfg.short, "short", false, "run every measure briefly (1 round, short loads, 1,000 sessions for P6): checks that the suite runs, figures are not meaningful")
	only := flag.String("only", "", "comma-separated measure ids to run (default all)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (servers and load generator) to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the run to this file")
	flag.StringVar(&cfg.childProf, "childprof", "", "P6: write heap profiles of the child Caddy (loaded, after the TTL) into this directory")
	mutexprofile := flag.String("mutexprofile", "", "write a mutex contention profile of the run to this file")
	serve := flag.String("serve", "", "internal: serve this Caddyfile in this process (child mode for P6 and P8)")
	flag.Parse()
	if *serve != "" {
		serveMain(*serve)
		return
	}
	if cfg.short {
		cfg.rounds = 1
		cfg.duration = 300 * time.Millisecond
		cfg.latencyN = 50
	}
	if cfg.out == "" {
		cfg.out = "BENCHMARKS.md"
		if cfg.short {
			cfg.out = os.TempDir() + "/BENCHMARKS.short.md"
		}
	}
	cfg.applyDefaults()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	if *mutexprofile != "" {
		runtime.SetMutexProfileFraction(5)
	}

	start := time.Now()
	env, err := startEnv()
	if err != nil {
		fail(err)
	}
	defer env.close()

	var results []*result
	for _, m := range measures {
		if *only != "" && !strings.Contains(","+strings.ToUpper(*only)+",", ","+m.id+",") {
			continue
		}
		t := time.Now()
		rs, err := m.run(env, cfg)
		if err != nil {
			env.close()
			fail(fmt.Errorf("%s: %w", m.id, err))
		}
		for _, r := range rs {
			fmt.Println(summary(r))
		}
		fmt.Printf("(%s took %s)\n", m.id, time.Since(t).Round(100*time.Millisecond))
		results = append(results, rs...)
	}
	if *memprofile != "" {
		if f, err := os.Create(*memprofile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if *mutexprofile != "" {
		if f, err := os.Create(*mutexprofile); err == nil {
			_ = pprof.Lookup("mutex").WriteTo(f, 0)
			f.Close()
		}
	}
	if err := os.WriteFile(cfg.out, []byte(report(cfg, results, time.Since(start))), 0o644); err != nil {
		fail(err)
	}
	fmt.Println("wrote", cfg.out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
