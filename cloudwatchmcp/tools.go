package cloudwatchmcp

// The tools the handler serves: every tool its tool groups register
// (ARCHITECTURE.md), and what every tool gains from the configuration, the
// result cap and accounts (toolkit applies them).

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/server"

	// The tool groups. Each registers its tools with toolkit from the
	// init func of the tool's own file: a new tool changes nothing here,
	// a new group adds one import.
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/alarms"
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/logs"
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/metrics"
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/promql"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// validateResultsAndAccounts checks max_result_bytes and the accounts.
func (h *Handler) validateResultsAndAccounts() error {
	if h.MaxResultBytes != 0 && h.MaxResultBytes < toolkit.MinMaxResultBytes {
		return fmt.Errorf("max_result_bytes must be at least %d, not %d", toolkit.MinMaxResultBytes, h.MaxResultBytes)
	}
	return toolkit.ValidateAccounts(h.Accounts)
}

// extendTools resolves the configured accounts and applies what every
// tool shares (Env.Extend): the result cap and accounts.
func (h *Handler) extendTools(ctx caddy.Context, tools []server.ServerTool) ([]server.ServerTool, []server.ServerOption, error) {
	if h.MaxResultBytes == 0 {
		h.MaxResultBytes = toolkit.DefaultMaxResultBytes
	}
	repl := caddy.NewReplacer()
	accts := make([]toolkit.Account, len(h.Accounts))
	for i, a := range h.Accounts {
		a.RoleARN, a.Region = repl.ReplaceAll(a.RoleARN, ""), repl.ReplaceAll(a.Region, "")
		if err := a.Validate(); err != nil {
			return nil, nil, err
		}
		accts[i] = a
	}
	h.env.Accounts = toolkit.NewAccounts(accts, h.env.Clients, h.env.DefaultRegion, ctx, h.now)
	return h.env.Extend(tools, h.MaxResultBytes)
}
