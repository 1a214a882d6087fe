package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Two independent cloudwatch_mcp instances (separate servers, separate
// handler state) behind the same identity provider, as two Caddy instances
// behind a load balancer would be.
const twoInstances = globalOptions + `
http://localhost:{$E2E_HTTP_PORT}, http://localhost:{$E2E_SECOND_PORT} {
	log {
		output file {$E2E_LOGS}/access.log
		format json
	}
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		role_arn {$E2E_ROLE}
	}
	cloudwatch_mcp {
		%s
	}
}
`

func startInstances(t *testing.T, opts string) {
	t.Helper()
	scan.Begin(t)
	loadEdge(t, fmt.Sprintf(twoInstances, opts))
}

// post sends one JSON-RPC message to an instance and returns status,
// session header and body.
func post(t *testing.T, port int, tok, session, body string) (int, string, string) {
	t.Helper()
	req := mcpRequest(http.MethodPost, fmt.Sprintf("http://localhost:%d/mcp", port), tok, session, strings.NewReader(body))
	// Stateless requests carry the version without a session.
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

// TestStatelessAcrossInstances: in stateless mode a client may hit any
// instance for any request; every request is authenticated on its own.
func TestStatelessAcrossInstances(t *testing.T) {
	startInstances(t, "stateless")
	tok := token("alice")
	code, sid, body := post(t, httpPort, tok, "", initBody)
	if code != 200 || sid != "" {
		t.Fatalf("stateless initialize: %d, session %q, %s", code, sid, body)
	}
	fake.ResetCalls()
	for i := range 20 {
		port := []int{httpPort, secondPort}[i%2]
		var msg string
		if i%2 == 0 {
			msg = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
		} else {
			msg = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{}}}`
		}
		code, _, body := post(t, port, tok, "", msg)
		if code != 200 || strings.Contains(body, `"error"`) || strings.Contains(body, `"isError":true`) {
			t.Fatalf("request %d on :%d: %d %s", i, port, code, body)
		}
	}
	if n := fake.CallCount("DescribeLogGroups"); n != 10 {
		t.Fatalf("want 10 DescribeLogGroups calls, got %d", n)
	}
}

// TestSessionsAreLocalToAnInstance is the control: with sessions, a session
// minted by one instance is unknown to the other, which is why stateless
// mode exists.
func TestSessionsAreLocalToAnInstance(t *testing.T) {
	startInstances(t, "")
	tok := token("alice")
	code, sid, body := post(t, httpPort, tok, "", initBody)
	if code != 200 || sid == "" {
		t.Fatalf("initialize: %d, session %q, %s", code, sid, body)
	}
	if code, _, _ := post(t, httpPort, tok, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); code != 200 {
		t.Fatalf("own instance: %d", code)
	}
	if code, _, _ := post(t, secondPort, tok, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); code != http.StatusNotFound {
		t.Fatalf("other instance should not know the session: %d", code)
	}
}
