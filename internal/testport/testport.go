// Package testport hands out loopback TCP ports that nothing listens on,
// for the tests, the demo and the benchmarks that start servers of their
// own. A fixed port is shared with everything else on the machine: another
// test binary, another engineer's run, or the server of the previous config
// load still shutting down on it, whose closing keep-alive connections
// answer the next request with EOF. A port fresh from the kernel is shared
// with none of them.
package testport

import (
	"net"
	"testing"
)

// PickN returns n distinct ports that nothing listens on right now: the
// kernel chooses each for a listener, and all stay open until every one
// is chosen, so none is handed out twice. Until the caller binds them,
// another process could take one; testcaddy.Start retries for that.
func PickN(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Pick is PickN for one port.
func Pick() (int, error) {
	p, err := PickN(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// FreeN is PickN for a test: it fails t when the system has no ports to
// give.
func FreeN(t testing.TB, n int) []int {
	t.Helper()
	p, err := PickN(n)
	if err != nil {
		t.Fatalf("testport: %v", err)
	}
	return p
}

// Free is FreeN for one port.
func Free(t testing.TB) int {
	t.Helper()
	return FreeN(t, 1)[0]
}
