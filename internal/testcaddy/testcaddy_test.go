package testcaddy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func site(port int, body string) string {
	return fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n}\nhttp://127.0.0.1:%d {\n\trespond %q\n}\n", port, body)
}

func get(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStartServesAtOnce: when Start returns, the config answers on the
// ports it was given, with no waiting.
func TestStartServesAtOnce(t *testing.T) {
	ports := Start(t, 2, func(p []int) string { return site(p[0], "first") })
	if len(ports) != 2 || ports[0] == ports[1] {
		t.Fatalf("ports %v", ports)
	}
	if got := get(t, ports[0]); got != "first" {
		t.Fatalf("got %q", got)
	}
}

// TestStartRetriesATakenPort: a port someone else bound between the pick
// and Caddy's bind costs one more attempt with new ports, not a failure.
func TestStartRetriesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	ports := Start(t, 1, func(p []int) string {
		calls++
		if calls == 1 {
			return site(taken.Addr().(*net.TCPAddr).Port, "taken")
		}
		return site(p[0], "second try")
	})
	if calls != 2 {
		t.Fatalf("config asked %d times, want 2", calls)
	}
	if got := get(t, ports[0]); got != "second try" {
		t.Fatalf("got %q", got)
	}
}

// TestLoadReportsRefusal: adapt errors name the Caddyfile line.
func TestLoadReportsRefusal(t *testing.T) {
	err := Load("http://127.0.0.1:1 {\n\tnot_a_directive\n}\n")
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:2") {
		t.Fatalf("err = %v", err)
	}
}
