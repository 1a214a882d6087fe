package cloudwatchmcp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Issue 18, item 7, through a real Caddy: a connection from another
// machine gets 403 from `credentials default`, whatever Host it sends.
// Caddy's proxy_protocol listener wrapper gives the connection the peer
// address of the PROXY header, which lets one loopback test client be a
// genuinely non-loopback peer as far as Caddy and the handler know.
func TestServerCredentialsRefuseRemotePeersThroughCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	caddyDirs(t)
	port := freePort(t)
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort(t)})
	tester.InitServer(fmt.Sprintf(`{
		admin localhost:%d
		http_port %d
		skip_install_trust
		persist_config off
		servers {
			listener_wrappers {
				proxy_protocol {
					allow 127.0.0.1/32
				}
			}
		}
	}
	http://localhost:%d, http://127.0.0.1:%d {
		cloudwatch_mcp {
			tools transport_testkit
			credentials default
		}
	}`, adminPort(t), port, port, port), "caddyfile")

	initialize := func(srcIP string) (int, string) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"caddytest","version":"1"}}}`
		fmt.Fprintf(conn, "PROXY TCP4 %s 127.0.0.1 40000 %d\r\n", srcIP, port)
		fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: localhost:%d\r\nContent-Type: application/json\r\n"+
			"Accept: application/json, text/event-stream\r\nX-Forwarded-For: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			port, len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := initialize("10.1.2.3"); code != http.StatusForbidden {
		t.Fatalf("a peer on another machine: %d %s", code, body)
	}
	if code, body := initialize("127.0.0.1"); code != http.StatusOK || !strings.Contains(body, `"protocolVersion"`) {
		t.Fatalf("a local peer: %d %s", code, body)
	}
}
