package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// Issue 9 parts 1 and 2 through the real edge: per-tool authorization with
// the MCP step-up challenge, and the audit trail routed by Caddy's `log`.
const authorizeCaddyfile = `
{
	admin localhost:{$E2E_ADMIN_PORT}
	http_port {$E2E_HTTP_PORT}
	https_port {$E2E_HTTPS_PORT}
	skip_install_trust
	persist_config off
	storage file_system {$E2E_STORAGE}
	log audit {
		output file {$E2E_LOGS}/audit.log
		format json
		include http.handlers.cloudwatch_mcp.audit
	}
}
http://localhost:{$E2E_HTTP_PORT} {
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		role_arn {$E2E_ROLE}
	}
	cloudwatch_mcp {
		authorize logs {
			scopes logs:read
		}
		authorize describe_log_groups {
			groups sre
		}
	}
}
`

// scopedToken mints an access token for sub with the given scope and
// groups claim.
func scopedToken(sub, scope string, groups ...string) string {
	c := issuer.OIDCAccessClaims(sub, endpoint()).With("scope", scope)
	if len(groups) > 0 {
		c = c.With("cognito:groups", groups)
	}
	return issuer.Mint(c, testissuer.Typ("at+jwt"))
}

func toolNames(t *testing.T, tok string) []string {
	t.Helper()
	c := connect(t, tok)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func TestStepUpAndAuditThroughEdge(t *testing.T) {
	scan.Begin(t)
	auditLog := os.Getenv("E2E_LOGS") + "/audit.log"
	scan.WatchFile(auditLog)
	loadEdge(t, authorizeCaddyfile)
	var before int64
	if st, err := os.Stat(auditLog); err == nil {
		before = st.Size()
	}

	// tools/list shows each caller only what they may call.
	plain := scopedToken("stepup-alice", "openid")
	if names := toolNames(t, plain); slices.Contains(names, "describe_log_groups") || slices.Contains(names, "execute_log_insights_query") ||
		!slices.Contains(names, "get_metric_data") {
		t.Fatalf("openid-only caller sees %v", names)
	}
	full := scopedToken("stepup-bob", "openid logs:read", "sre")
	if names := toolNames(t, full); !slices.Contains(names, "describe_log_groups") || !slices.Contains(names, "execute_log_insights_query") {
		t.Fatalf("authorized caller sees %v", names)
	}

	// A tools/call without logs:read: 403 insufficient_scope with the
	// scope to ask for and the metadata that says where.
	sid := openSession(t, plain)
	resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), plain, sid, strings.NewReader(
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":"/aws"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	prm := fmt.Sprintf("http://localhost:%d/.well-known/oauth-protected-resource/mcp", httpPort)
	want := `Bearer error="insufficient_scope", scope="logs:read", resource_metadata="` + prm + `"`
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("step-up: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, err = http.Get(prm)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource string `json:"resource"`
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || meta.Resource != endpoint() {
		t.Fatalf("metadata: %d %+v %v", resp.StatusCode, meta, err)
	}

	// After step-up the call runs; a caller with the scope but not the
	// group gets a tool error naming it.
	if res := callTool(t, connect(t, full), "describe_log_groups", map[string]any{"log_group_name_prefix": "/aws"}); res.IsError ||
		!strings.Contains(text(res), "/aws/lambda/checkout") {
		t.Fatalf("authorized call: %s", text(res))
	}
	if res := callTool(t, connect(t, scopedToken("stepup-carol", "logs:read")), "describe_log_groups", map[string]any{}); !res.IsError ||
		!strings.Contains(text(res), `group "sre"`) {
		t.Fatalf("group-less call: %s", text(res))
	}

	// The audit log, routed by Caddy's log directive, holds all three.
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(before, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Logger        string   `json:"logger"`
		Msg           string   `json:"msg"`
		TS            any      `json:"ts"`
		Time          any      `json:"time"`
		Tool          string   `json:"tool"`
		Outcome       string   `json:"outcome"`
		Sub           string   `json:"sub"`
		ClientID      string   `json:"client_id"`
		SessionID     string   `json:"session_id"`
		RequestIDs    []string `json:"aws_request_ids"`
		MissingScopes []string `json:"missing_scopes"`
		Groups        []string `json:"required_groups"`
		Args          struct {
			Prefix string `json:"log_group_prefix"`
		} `json:"args"`
	}
	got := map[string]entry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %s", sc.Bytes())
		}
		if e.Logger != "http.handlers.cloudwatch_mcp.audit" || e.Msg != "tool call" {
			t.Fatalf("foreign line in the audit log: %s", sc.Bytes())
		}
		// README "Audit trail": with Caddy's JSON encoder both ts and the
		// call's start time are unix seconds (numbers), unless the log
		// sets another time_format.
		ts, ok1 := e.TS.(float64)
		at, ok2 := e.Time.(float64)
		if !ok1 || !ok2 || at > ts || ts-at > 60 {
			t.Fatalf("audit ts %v and time %v: want unix seconds, time (the call's start) at or before ts", e.TS, e.Time)
		}
		got[e.Sub] = e
	}
	if a := got["stepup-alice"]; a.Outcome != "denied" || a.Tool != "describe_log_groups" || a.SessionID != sid ||
		!slices.Equal(a.MissingScopes, []string{"logs:read"}) || a.Args.Prefix != "/aws" || a.ClientID != "test-client" {
		t.Fatalf("alice's entry %+v", a)
	}
	if b := got["stepup-bob"]; b.Outcome != "ok" || len(b.RequestIDs) == 0 || b.SessionID == "" {
		t.Fatalf("bob's entry %+v", b)
	}
	if c := got["stepup-carol"]; c.Outcome != "denied" || !slices.Equal(c.Groups, []string{"sre"}) || len(c.RequestIDs) != 0 {
		t.Fatalf("carol's entry %+v", c)
	}
	if len(got) != 3 {
		t.Fatalf("audit entries for %d callers: %v", len(got), got)
	}
}

// openSession initializes a session over plain HTTP and returns its ID.
func openSession(t *testing.T, tok string) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), tok, "", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	return sid
}
