package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// measureP2: tools/list requests/s through Caddy + cognito_auth (with
// vending) + cloudwatch_mcp, against a bare mcp-go StreamableHTTPServer
// serving the very same tool list (fetched from our endpoint), no Caddy.
func measureP2(e *benchEnv, cfg config) (*result, error) {
	r := &result{
		id: "P2", measure: "rps, MCP `tools/list`, Caddy + `cognito_auth` (vending) + `cloudwatch_mcp`",
		baseline: "bare mcp-go StreamableHTTPServer, same tools, no Caddy", goal: "≥ 0.80", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	r.pass, r.miss = atLeast(0.80)
	client := newClient(cfg.concurrency)
	token := e.token("p2-user")
	probe, err := openSession(client, e.url("mcp", "/"), token)
	if err != nil {
		return nil, err
	}
	raw, err := probe.call(client, "tools/list", "{}")
	if err != nil {
		return nil, err
	}
	bare, n, err := bareServer(raw)
	if err != nil {
		return nil, err
	}
	defer bare.Close()
	r.note = fmt.Sprintf("%d tools listed", n)

	sessions := func(url, tok string) ([]*mcpSession, error) {
		out := make([]*mcpSession, cfg.concurrency)
		for i := range out {
			s, err := openSession(client, url, tok)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	ours, err := sessions(e.url("mcp", "/"), token)
	if err != nil {
		return nil, err
	}
	theirs, err := sessions(bare.URL, "")
	if err != nil {
		return nil, err
	}
	const list = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	mkOurs := func(w int) *http.Request { return ours[w].request(list) }
	mkTheirs := func(w int) *http.Request { return theirs[w].request(list) }
	if _, err := rps(client, cfg.concurrency, cfg.duration/3, mkOurs); err != nil {
		return nil, fmt.Errorf("P2 warm-up: %w", err)
	}
	for i := range cfg.rounds {
		var s, b float64
		first, second := mkOurs, mkTheirs
		if i%2 == 1 {
			first, second = mkTheirs, mkOurs
		}
		v1, err := rps(client, cfg.concurrency, cfg.duration, first)
		if err != nil {
			return nil, fmt.Errorf("P2: %w", err)
		}
		v2, err := rps(client, cfg.concurrency, cfg.duration, second)
		if err != nil {
			return nil, fmt.Errorf("P2: %w", err)
		}
		if i%2 == 0 {
			s, b = v1, v2
		} else {
			s, b = v2, v1
		}
		r.subject, r.base = append(r.subject, s), append(r.base, b)
	}
	return r, nil
}

// bareServer serves the tools described by a tools/list result with plain
// mcp-go, configured as mcp-go's defaults plus the same capabilities.
func bareServer(listResult json.RawMessage) (*httptest.Server, int, error) {
	var list struct {
		Tools []struct {
			Name         string          `json:"name"`
			Description  string          `json:"description"`
			InputSchema  json.RawMessage `json:"inputSchema"`
			OutputSchema json.RawMessage `json:"outputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(listResult, &list); err != nil {
		return nil, 0, err
	}
	s := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false), server.WithLogging())
	for _, t := range list.Tools {
		tool := mcp.Tool{Name: t.Name, Description: t.Description, RawInputSchema: t.InputSchema}
		if len(t.OutputSchema) > 0 {
			tool.RawOutputSchema = t.OutputSchema
		}
		s.AddTool(tool, func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("ok"), nil
		})
	}
	return httptest.NewServer(server.NewStreamableHTTPServer(s)), len(list.Tools), nil
}
