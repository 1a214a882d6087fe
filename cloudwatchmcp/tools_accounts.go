package cloudwatchmcp

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// listAccountsTool belongs to no tool group: it is served whenever
// accounts are configured.
const listAccountsTool = "list_accounts"

// validateResultsAndAccounts checks max_result_bytes and the accounts.
func (h *Handler) validateResultsAndAccounts() error {
	if h.MaxResultBytes != 0 && h.MaxResultBytes < MinMaxResultBytes {
		return fmt.Errorf("max_result_bytes must be at least %d, not %d", MinMaxResultBytes, h.MaxResultBytes)
	}
	return ValidateAccounts(h.Accounts)
}

// extendTools applies the features every tool shares, on tools whose
// schemas prepareTools has encoded: the result cap (a `truncated`
// property in output schemas) and accounts (an `account` input on every
// AWS-calling tool, and list_accounts). It returns the tool handler
// middlewares that implement them, outermost first, as server options.
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
	return h.env.extendTools(tools, h.MaxResultBytes)
}

// extendTools is Handler.extendTools once the accounts are resolved.
func (e *Env) extendTools(tools []server.ServerTool, maxResultBytes int) ([]server.ServerTool, []server.ServerOption, error) {
	awsTools := map[string]bool{}
	for i := range tools {
		t := &tools[i].Tool
		if shape, ok := resultShapes[t.Name]; ok && t.RawOutputSchema != nil {
			s, err := addTruncatedToSchema(t.RawOutputSchema, shape.Root)
			if err != nil {
				return nil, nil, fmt.Errorf("tool %s: output schema: %w", t.Name, err)
			}
			t.RawOutputSchema = s
		}
		if !callsAWS(t.RawInputSchema) {
			continue
		}
		awsTools[t.Name] = true
		if e.Accounts != nil {
			s, err := addAccountInput(t.RawInputSchema, e.Accounts)
			if err != nil {
				return nil, nil, fmt.Errorf("tool %s: input schema: %w", t.Name, err)
			}
			t.RawInputSchema = s
		}
	}
	if e.Accounts != nil {
		tools = append(tools, e.listAccountsTool())
	}
	return tools, []server.ServerOption{
		server.WithToolHandlerMiddleware(accountMiddleware(e.Accounts, awsTools)),
		server.WithToolHandlerMiddleware(truncateMiddleware(maxResultBytes, e.Logger)),
	}, nil
}

// callsAWS reports whether a tool calls AWS: those take the awslabs
// profile_name argument (get_metric_metadata, say, reads a local catalog).
func callsAWS(inputSchema json.RawMessage) bool {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(inputSchema, &s) != nil {
		return false
	}
	_, ok := s.Properties["profile_name"]
	return ok
}

// addAccountInput declares the optional `account` argument, FastMCP-style
// (`str | None = None`), listing the configured names.
func addAccountInput(raw json.RawMessage, c *Accounts) (json.RawMessage, error) {
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	props, _ := s["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		s["properties"] = props
	}
	names := make([]string, len(c.accounts))
	for i, a := range c.accounts {
		names[i] = a.Name
	}
	props[AccountArg] = map[string]any{
		"anyOf":   []any{map[string]any{"type": "string", "enum": names}, map[string]any{"type": "null"}},
		"default": nil,
		"description": "Run in this configured AWS account (see list_accounts) by assuming its role with your own credentials. " +
			"Omit to use your own account.",
	}
	return json.Marshal(s)
}

// accountInfo is one list_accounts entry. Role ARNs are not shown: they
// name account IDs, and agents need only the name.
type accountInfo struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

func (e *Env) listAccountsTool() server.ServerTool {
	return server.ServerTool{
		Tool: mcp.Tool{
			Name: listAccountsTool,
			Description: `Lists the AWS accounts this server can run the CloudWatch tools in.

Pass a name as the account argument of any other tool to run it in that account: the server assumes the account's role with your own AWS credentials, so you can use only the accounts your identity is allowed into.

Returns accounts: each with its name and default region (used when a tool call names no region).`,
			RawInputSchema:  json.RawMessage(`{"type":"object","properties":{}}`),
			RawOutputSchema: json.RawMessage(`{"type":"object","title":"AccountList","properties":{"accounts":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"region":{"type":"string"}},"required":["name","region"]}}},"required":["accounts"]}`),
			Annotations: mcp.ToolAnnotation{
				Title: "List accounts", ReadOnlyHint: aws.Bool(true), DestructiveHint: aws.Bool(false),
				IdempotentHint: aws.Bool(true), OpenWorldHint: aws.Bool(false),
			},
		},
		Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			out := struct {
				Accounts []accountInfo `json:"accounts"`
			}{Accounts: make([]accountInfo, 0, len(e.Accounts.accounts))}
			for _, a := range e.Accounts.accounts {
				out.Accounts = append(out.Accounts, accountInfo{Name: a.Name, Region: cmp.Or(a.Region, e.DefaultRegion)})
			}
			return JSONResult(out), nil
		},
	}
}
