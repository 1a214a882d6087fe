// Package caddyproc runs Caddy with this project's plugins as separate
// processes, for tests that need several instances (a cluster behind a
// load balancer, an instance killed with -9): in-process Caddy is one per
// process. A child is the test binary itself, re-executed as `caddy run`,
// so nothing is built and the children carry the same code (and race
// detector) as the test.
//
//	func TestMain(m *testing.M) {
//		caddyproc.RunIfChild() // a child runs Caddy here and never returns
//		os.Exit(m.Run())
//	}
//
//	a := caddyproc.Start(t, "a", sites)       // own admin port, XDG dirs, log file
//	a.Load(t, otherSites)                     // a config reload through the admin API
//	a.Goroutines(t)                           // from the admin API's pprof
//	a.Kill()                                  // kill -9
//
// Each instance gets its own free admin port, its own XDG data and config
// directories and a JSON log file at DEBUG; Caddy storage is shared only
// when the sites' globals say so.
package caddyproc

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp"
)

// childEnv marks a re-executed test binary that must run Caddy.
const childEnv = "CADDYPROC_CHILD_CONFIG"

// RunIfChild runs Caddy and exits when this process is a child started by
// Start; otherwise it returns at once. Call it first in TestMain.
func RunIfChild() {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	os.Args = []string{"caddy", "run", "--config", path, "--adapter", "caddyfile"}
	caddycmd.Main()
	os.Exit(0)
}

// Instance is one Caddy process.
type Instance struct {
	Name string
	// Admin is the admin API's base URL (http://127.0.0.1:port).
	Admin string
	// Dir holds the instance's XDG directories, Caddyfile and log.
	Dir string
	// LogPath is Caddy's JSON log (DEBUG and above).
	LogPath string
	// Globals are extra global options, kept across Load.
	Globals string

	adminAddr string
	env       []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs a Caddy whose global options are this kit's (admin address,
// log) plus globals, followed by sites, and waits until its admin API
// answers. The process is killed when t ends.
func Start(t testing.TB, name, globals, sites string, env ...string) *Instance {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := FreePort(t)
	i := &Instance{
		Name: name, Dir: dir, LogPath: filepath.Join(dir, "caddy.log"), Globals: globals,
		adminAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		env:       env,
	}
	i.Admin = "http://" + i.adminAddr
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(i.Caddyfile(sites)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		childEnv+"="+path,
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"HOME="+dir,
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// The child dies with the test, even if the test is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	i.cmd, i.exited = cmd, exited
	t.Cleanup(i.Kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("caddy %s exited at start:\n%s", name, i.Output())
		default:
		}
		resp, err := http.Get(i.Admin + "/config/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s: admin API not up within 60s:\n%s", name, i.Output())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Caddyfile is the whole Caddyfile of sites on this instance: the kit's
// global options and Globals, then sites.
func (i *Instance) Caddyfile(sites string) string {
	return fmt.Sprintf(`{
	admin %s
	persist_config off
	auto_https off
	skip_install_trust
	log {
		output file %s
		format json
		level DEBUG
	}
%s
}
%s
`, i.adminAddr, i.LogPath, i.Globals, sites)
}

// Load replaces the running config with sites (a reload), through the
// admin API, and fails t if Caddy refuses it.
func (i *Instance) Load(t testing.TB, sites string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, i.Admin+"/load", strings.NewReader(i.Caddyfile(sites)))
	req.Header.Set("Content-Type", "text/caddyfile")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("caddy %s: load: %v", i.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("caddy %s: load: %d %s", i.Name, resp.StatusCode, b)
	}
}

var goroutineTotal = regexp.MustCompile(`goroutine profile: total (\d+)`)

// Goroutines is the process's goroutine count, from the admin API's pprof.
func (i *Instance) Goroutines(t testing.TB) int {
	t.Helper()
	resp, err := http.Get(i.Admin + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatalf("caddy %s: pprof: %v", i.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := goroutineTotal.FindSubmatch(b)
	if m == nil {
		t.Fatalf("caddy %s: no goroutine total in %.200s", i.Name, b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// GoroutineDump is the full goroutine listing (debug=1), for failure
// messages.
func (i *Instance) GoroutineDump() string {
	resp, err := http.Get(i.Admin + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Metrics is the admin API's Prometheus exposition.
func (i *Instance) Metrics(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(i.Admin + "/metrics")
	if err != nil {
		t.Fatalf("caddy %s: metrics: %v", i.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Log is Caddy's log so far.
func (i *Instance) Log() string {
	b, _ := os.ReadFile(i.LogPath)
	return string(b)
}

// LogLines are the log lines whose message contains msg.
func (i *Instance) LogLines(msg string) []string {
	var out []string
	for _, l := range strings.Split(i.Log(), "\n") {
		if strings.Contains(l, `"msg":"`) && strings.Contains(l, msg) {
			out = append(out, l)
		}
	}
	return out
}

// Output is what the process wrote to stdout and stderr, with the tail
// of its log.
func (i *Instance) Output() string {
	b, _ := os.ReadFile(filepath.Join(i.Dir, "stdout.log"))
	log := i.Log()
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	return string(b) + "\n--- log tail ---\n" + log
}

// Running reports whether the process has not exited.
func (i *Instance) Running() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// Kill is kill -9. Safe to call twice.
func (i *Instance) Kill() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.Running() {
		_ = i.cmd.Process.Kill()
		<-i.exited
	}
}

// Stop asks Caddy to stop (SIGTERM: graceful) and waits for the exit.
func (i *Instance) Stop() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.Running() {
		return
	}
	_ = i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.exited:
	case <-time.After(15 * time.Second):
		_ = i.cmd.Process.Kill()
		<-i.exited
	}
}

// FreePort returns a loopback port nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitHTTP polls url until it answers anything at all (any status), or
// fails t after 30 s.
func WaitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering: %v", url, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
