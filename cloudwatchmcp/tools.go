package cloudwatchmcp

// What the handler serves besides its tool groups' tools: the result cap
// and accounts, resolved from the configuration (toolkit applies them).

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/server"
)

// validateResultsAndAccounts checks max_result_bytes and the accounts.
func (h *Handler) validateResultsAndAccounts() error {
	if h.MaxResultBytes != 0 && h.MaxResultBytes < MinMaxResultBytes {
		return fmt.Errorf("max_result_bytes must be at least %d, not %d", MinMaxResultBytes, h.MaxResultBytes)
	}
	return ValidateAccounts(h.Accounts)
}

// extendTools resolves the configured accounts and applies what every
// tool shares (Env.Extend): the result cap and accounts.
func (h *Handler) extendTools(ctx caddy.Context, tools []server.ServerTool) ([]server.ServerTool, []server.ServerOption, error) {
	if h.MaxResultBytes == 0 {
		h.MaxResultBytes = DefaultMaxResultBytes
	}
	repl := caddy.NewReplacer()
	accts := make([]Account, len(h.Accounts))
	for i, a := range h.Accounts {
		a.RoleARN, a.Region = repl.ReplaceAll(a.RoleARN, ""), repl.ReplaceAll(a.Region, "")
		if err := a.Validate(); err != nil {
			return nil, nil, err
		}
		accts[i] = a
	}
	h.env.Accounts = NewAccounts(accts, h.env.Clients, h.env.DefaultRegion, ctx, h.now)
	return h.env.Extend(tools, h.MaxResultBytes)
}
