package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// serveMain is the child mode: serve one Caddyfile until stdin closes, and
// answer a few commands on stdin so the parent can look inside (Go heap,
// goroutines) and ask for a garbage collection.
func serveMain(path string) {
	if r, err := strconv.Atoi(os.Getenv("BENCH_CHILD_MEMPROFILERATE")); err == nil && r > 0 {
		runtime.MemProfileRate = r
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	if err := loadCaddyfile(string(raw)); err != nil {
		fail(err)
	}
	fmt.Println("READY")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "gc":
			runtime.GC()
			fmt.Println("OK")
		case "free":
			debug.FreeOSMemory()
			fmt.Println("OK")
		case "mem":
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Printf("%d %d %d %d\n", m.HeapInuse, m.HeapSys-m.HeapReleased, m.Sys, runtime.NumGoroutine())
		default:
			if path, ok := strings.CutPrefix(sc.Text(), "heap "); ok {
				runtime.GC()
				f, err := os.Create(path)
				if err == nil {
					err = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
				fmt.Println("OK", err)
				continue
			}
			fmt.Println("?")
		}
	}
	fmt.Fprintln(os.Stderr, "stdin closed, stopping")
	_ = caddy.Stop()
}

// child is a Caddy in its own process, serving a Caddyfile from the run's
// temp dir; its stderr goes to <name>.log there.
type child struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	log  string
}

func (e *benchEnv) startChild(name, caddyfile string, env ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(e.dir, name+".caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		return nil, err
	}
	c := &child{name: name, log: filepath.Join(e.dir, name+".log")}
	logf, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c.cmd = exec.Command(exe, "-serve", path)
	c.cmd.Stderr = logf
	c.cmd.Env = append(os.Environ(), env...)
	// The child dies with us, even if we are killed.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.children = append(e.children, c)
	e.mu.Unlock()
	line, err := c.readLine(60 * time.Second)
	if err != nil || line != "READY" {
		c.stop()
		logText, _ := os.ReadFile(c.log)
		return nil, fmt.Errorf("child %s did not start (%v, %q): %s", name, err, line, tail(string(logText), 2000))
	}
	return c, nil
}

func (c *child) readLine(timeout time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.out.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(timeout):
		return "", errors.New("timed out")
	}
}

// do sends a command and returns the child's one-line answer.
func (c *child) do(cmd string) (string, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return "", err
	}
	return c.readLine(30 * time.Second)
}

// rss is the child's resident set size in bytes (/proc/<pid>/statm).
func (c *child) rss() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0, fmt.Errorf("statm: %q", raw)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}

// goStats is the child's Go view of its memory.
type goStats struct {
	heapInuse, heapRetained, sys int64
	goroutines                   int
}

func (c *child) goStats() (goStats, error) {
	line, err := c.do("mem")
	if err != nil {
		return goStats{}, err
	}
	var s goStats
	_, err = fmt.Sscanf(line, "%d %d %d %d", &s.heapInuse, &s.heapRetained, &s.sys, &s.goroutines)
	return s, err
}

// stop closes stdin (the child stops Caddy and exits) and kills it if it
// does not exit promptly. Safe to call twice.
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

const mib = 1 << 20
