package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

func legacySSEURL() string { return endpoint() + "/sse" }

// legacyClient is mcp-go's HTTP+SSE (2024-11-05) client with tok on every
// request, initialized; its stream lives until the test ends.
func legacyClient(t *testing.T, tok string) *client.Client {
	t.Helper()
	c, err := client.NewSSEMCPClient(legacySSEURL(), transport.WithHTTPClient(&http.Client{Transport: bearer{tok}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("opening the legacy SSE stream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2024-11-05"
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e-legacy", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over legacy SSE: %v", err)
	}
	return c
}

// openLegacyStream opens the stream by hand and returns the response and
// the announced message URL.
func openLegacyStream(t *testing.T, tok string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, legacySSEURL(), nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return resp, ""
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the endpoint event: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: "); ok {
			return resp, fmt.Sprintf("http://localhost:%d%s", httpPort, data)
		}
	}
}

func legacyPost(t *testing.T, url, tok, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// TestLegacySSEThroughEdge: an HTTP+SSE client lists and calls tools
// through cognito_auth with its bearer token; another user's token on its
// session and a foreign Origin get 403.
func TestLegacySSEThroughEdge(t *testing.T) {
	startHostile(t, "", "legacy_sse")
	c := legacyClient(t, token("legacy-alice"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list over legacy SSE: %v", err)
	}
	if len(list.Tools) < 19 {
		t.Fatalf("tools/list over legacy SSE: %d tools", len(list.Tools))
	}
	res := callTool(t, c, "describe_log_groups", map[string]any{"log_group_name_prefix": "/aws/lambda"})
	if res.IsError || !strings.Contains(text(res), "/aws/lambda/checkout") {
		t.Fatalf("describe_log_groups over legacy SSE: %s", text(res))
	}

	_, msgURL := openLegacyStream(t, token("legacy-alice"), nil)
	if msgURL == "" || !strings.Contains(msgURL, "/mcp/message?sessionId=") {
		t.Fatalf("announced endpoint %q", msgURL)
	}
	list1 := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if code, body := legacyPost(t, msgURL, token("legacy-bob"), list1, nil); code != http.StatusForbidden {
		t.Fatalf("bob's token on alice's session: %d %s", code, body)
	}
	if code, body := legacyPost(t, msgURL, "", list1, nil); code != http.StatusUnauthorized {
		t.Fatalf("no token on alice's session: %d %s", code, body)
	}
	evil := map[string]string{"Origin": "https://evil.example"}
	if code, body := legacyPost(t, msgURL, token("legacy-alice"), list1, evil); code != http.StatusForbidden {
		t.Fatalf("foreign Origin on the message endpoint: %d %s", code, body)
	}
	if resp, _ := openLegacyStream(t, token("legacy-alice"), evil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Origin on the stream: %d", resp.StatusCode)
	}
	if resp, _ := openLegacyStream(t, "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stream without a token: %d", resp.StatusCode)
	}
	if code, body := legacyPost(t, msgURL, token("legacy-alice"), list1, nil); code != http.StatusAccepted {
		t.Fatalf("alice on her session: %d %s", code, body)
	}
}

func TestLegacySSEOffByDefaultThroughEdge(t *testing.T) {
	startEdge(t)
	if resp, _ := openLegacyStream(t, token("legacy-alice"), nil); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /mcp/sse without legacy_sse: %d", resp.StatusCode)
	}
	code, body := legacyPost(t, endpoint()+"/message?sessionId=x", token("legacy-alice"), `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	if code == http.StatusAccepted || code < 400 {
		t.Fatalf("POST /mcp/message without legacy_sse: %d %s", code, body)
	}
}

// TestLegacySSEReloadsEndStreams: every reload ends the old config's
// streams (clients reconnect to the new one) and leaves no goroutine of
// the legacy transport behind.
func TestLegacySSEReloadsEndStreams(t *testing.T) {
	cf := func(gen int) string {
		return fmt.Sprintf(hostileCaddyfile, fmt.Sprintf("header X-Config-Generation %d", gen), "legacy_sse")
	}
	scan.Begin(t)
	loadEdge(t, cf(0))
	tok := token("legacy-reload")
	for gen := 1; gen <= 5; gen++ {
		resp, msgURL := openLegacyStream(t, tok, nil)
		if msgURL == "" {
			t.Fatalf("generation %d: stream %d", gen-1, resp.StatusCode)
		}
		if code, body := legacyPost(t, msgURL, tok, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil); code != http.StatusAccepted {
			t.Fatalf("generation %d: %d %s", gen-1, code, body)
		}
		if err := testcaddy.Load(cf(gen)); err != nil {
			t.Fatalf("reload %d: %v", gen, err)
		}
		ended := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
		select {
		case err := <-ended:
			if err != nil {
				t.Fatalf("reload %d: the old stream broke instead of ending: %v", gen, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("reload %d: the old config's stream is still open", gen)
		}
	}
	testwait.Until(t, "no legacy SSE goroutine left but the live config's none", func() bool {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		return !strings.Contains(buf.String(), "(*SSEServer)") && !strings.Contains(buf.String(), "legacysse.go")
	})
}
