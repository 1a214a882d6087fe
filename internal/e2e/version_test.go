package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/buildinfo"
)

// TestVersionComesFromTheBuild: the version the MCP server reports in
// initialize (serverInfo.version) and the user agent of its AWS requests
// come from the build information (internal/buildinfo), not a constant
// that drifts from the release. In this test binary it is "(devel)".
func TestVersionComesFromTheBuild(t *testing.T) {
	_, requests := recordingFake(t)
	startSecurityEdge(t)
	want := buildinfo.Version()

	tok := token("version-user")
	r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit)
	if err != nil || r.status != http.StatusOK {
		t.Fatalf("initialize: %v %d %s", err, r.status, r.body)
	}
	var init struct {
		Result struct {
			ServerInfo struct{ Name, Version string } `json:"serverInfo"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(jsonRPCPayload(r.body)), &init); err != nil {
		t.Fatalf("initialize answer %q: %v", r.body, err)
	}
	if got := init.Result.ServerInfo; got.Name != "caddy-cloudwatch-mcp" || got.Version != want {
		t.Errorf("serverInfo = %+v, want caddy-cloudwatch-mcp %s", got, want)
	}

	if c, err := mcpDo(hostileClient, http.MethodPost, tok, r.session, describeCall(2, "/aws")); err != nil || c.status != http.StatusOK || c.msg.Result.IsError {
		t.Fatalf("describe_log_groups: %v %d %s", err, c.status, c.body)
	}
	// The SDK turns characters a user agent may not carry into '-'.
	uaVersion := strings.NewReplacer("(", "-", ")", "-").Replace(want)
	found := false
	for _, req := range requests() {
		if !strings.HasPrefix(req.target, "Logs_") {
			continue
		}
		ua := req.header.Get("User-Agent")
		if !strings.Contains(ua, "caddy-cloudwatch-mcp/"+uaVersion) {
			t.Errorf("CloudWatch Logs request with User-Agent %q, want caddy-cloudwatch-mcp/%s", ua, uaVersion)
		}
		found = true
	}
	if !found {
		t.Fatal("no CloudWatch Logs request reached the fake")
	}
}

// jsonRPCPayload returns the JSON-RPC message of a JSON or SSE answer.
func jsonRPCPayload(body string) string {
	for _, line := range strings.Split(body, "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok && strings.Contains(d, `"id"`) {
			return strings.TrimSpace(d)
		}
	}
	return body
}
