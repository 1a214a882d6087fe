package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpCall connects as the demo user, lists the tools and calls
// describe_log_groups, returning a short report.
func mcpCall(endpoint, token string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.NewStreamableHttpClient(endpoint, transport.WithHTTPBasicClient(&http.Client{Transport: bearer{token}}))
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "demo-check", Version: "1"}
	initialized, err := c.Initialize(ctx, init)
	if err != nil {
		return "", fmt.Errorf("initialize: %w", err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return "", fmt.Errorf("tools/list: %w", err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "describe_log_groups"
	req.Params.Arguments = map[string]any{}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", fmt.Errorf("tools/call: %w", err)
	}
	text := ""
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	if res.IsError {
		return "", fmt.Errorf("describe_log_groups: %s", text)
	}
	if len(text) > 300 {
		text = text[:300] + "..."
	}
	return fmt.Sprintf("demo check ok at %s: server %s %s, %d tools; describe_log_groups (demo data): %s",
		endpoint, initialized.ServerInfo.Name, initialized.ServerInfo.Version, len(tools.Tools), text), nil
}
