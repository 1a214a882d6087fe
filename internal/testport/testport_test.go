package testport

import (
	"fmt"
	"net"
	"testing"
)

// TestFreeNCanBeListenedOn: the ports are distinct and free on every
// interface, which is where Caddy binds a site address like
// http://localhost:PORT.
func TestFreeNCanBeListenedOn(t *testing.T) {
	ports := FreeN(t, 8)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d handed out twice: %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			t.Fatalf("the free port %d cannot be bound: %v", p, err)
		}
		defer l.Close()
	}
}
