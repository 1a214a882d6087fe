// Package redistest runs a real redis-server for tests: its own process on
// a free loopback port, no persistence unless asked, stopped when the test
// ends. Tests can stop it (Redis down), freeze it (Redis hangs: connections
// are accepted, nothing is answered), restart it with or without its data,
// count the connections of a client name, and read back every key and
// value for secret scans.
//
//	srv := redistest.New(t)                      // skips, or fails in CI, without redis-server
//	url := srv.URL()                             // redis://127.0.0.1:<port>/0
//	srv.Stop()                                   // down
//	srv.Restart(false)                           // up again, empty
//	scan.Capture("redis", srv.Dump(t).Text())    // every key and value
//
// The bench uses Start, which needs no testing.T.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options of a server.
type Options struct {
	// Persist keeps the data across Restart and kill -9: append-only file,
	// fsync on every write. Default: no persistence at all.
	Persist bool
	// Password, if set, is required of every client (requirepass).
	Password string
}

// Server is one redis-server process. Its port stays the same across
// Restart, so clients configured with URL reconnect by themselves.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// Port is the TCP port.
	Port int

	bin      string
	dir      string
	password string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	persist bool
	frozen  bool
	admin   *redis.Client
	closed  bool
}

// Binary is the redis-server on PATH, or an error saying how to install it.
func Binary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server not found on PATH (Debian: apt-get install redis-server)")
	}
	return p, nil
}

// Required reports whether a missing redis-server must fail the run
// instead of skipping: in CI (CI set) or with CI_REQUIRE_REDIS=1.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("CI_REQUIRE_REDIS") == "1"
}

// Require skips t without redis-server, or fails it when Required.
func Require(t testing.TB) {
	t.Helper()
	if _, err := Binary(); err != nil {
		if Required() {
			t.Fatalf("%v; CI needs it (CI or CI_REQUIRE_REDIS=1 is set)", err)
		}
		t.Skipf("skipping: %v; set CI_REQUIRE_REDIS=1 to make this a failure", err)
	}
}

// New starts a server for t (see Require when redis-server is missing)
// and stops it and removes its files when t ends.
func New(t testing.TB, opts ...Options) *Server {
	t.Helper()
	Require(t)
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server on a free loopback port and waits until it
// answers PING. Close stops it.
func Start(o Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, password: o.Password}
	// A free port can be taken between the probe and redis-server's bind:
	// try a few.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.Port, s.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(o.Persist); err == nil {
			return s, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// URL is the redis:// URL of database 0, with the password if any.
func (s *Server) URL() string { return s.URLDB(0) }

// URLDB is the redis:// URL of database db.
func (s *Server) URLDB(db int) string {
	auth := ""
	if s.password != "" {
		auth = ":" + s.password + "@"
	}
	return fmt.Sprintf("redis://%s%s/%d", auth, s.Addr, db)
}

func (s *Server) start(persist bool) error {
	args := []string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"),
		"--daemonize", "no", "--save", "",
	}
	if persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.password != "" {
		args = append(args, "--requirepass", s.password)
	}
	cmd := exec.Command(s.bin, args...)
	// The server dies with the test process, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited, s.persist, s.frozen = cmd, exited, persist, false
	if s.admin == nil {
		s.admin = redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password, ClientName: "redistest",
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1, DisableIdentity: true})
	}
	s.mu.Unlock()
	return s.waitReady(exited)
}

// waitReady pings until the server answers (and, with persistence, has
// loaded its data), or fails if it exits or takes longer than 15 s.
func (s *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start: %s", s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = s.admin.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server did not answer PING within 15s (%v): %s", err, s.logTail())
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// Stop takes the server down (SIGTERM, waiting for the exit): clients get
// connection refused until Restart. Without persistence its data is gone.
func (s *Server) Stop() {
	s.signal(syscall.SIGTERM)
}

// Kill is kill -9: the server vanishes without closing anything.
func (s *Server) Kill() {
	s.kill()
}

func (s *Server) kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited, frozen := s.cmd, s.exited, s.frozen
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	if frozen && sig != syscall.SIGKILL {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped process handles SIGTERM only once resumed
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Pid is the server process's id (0 before the first start).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Running reports whether the process is up (it may be frozen).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Freeze stops the process (SIGSTOP) without closing its socket: the
// kernel still accepts connections and buffers requests, but nothing is
// answered, as with a hung or partitioned Redis. Thaw resumes it.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && !s.frozen {
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
		s.frozen = true
	}
}

// Thaw resumes a frozen server.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.frozen {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.frozen = false
	}
}

// Restart stops the server if it runs and starts it again on the same
// port, with or without persistence. Data survives only when both the
// old and the new server persist.
func (s *Server) Restart(persist bool) error {
	s.Stop()
	if !persist {
		// Leftover append-only files would be loaded by a persistent
		// restart later; a server without persistence starts empty.
		_ = os.RemoveAll(filepath.Join(s.dir, "appendonlydir"))
	}
	return s.start(persist)
}

// Admin is the kit's own client of the server (client name "redistest"),
// for assertions. Do not close it.
func (s *Server) Admin() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admin
}

// Close stops the server and removes its files. Safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	admin := s.admin
	s.mu.Unlock()
	s.kill()
	if admin != nil {
		_ = admin.Close()
	}
	_ = os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
