package toolkit

import (
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/server"
)

// Extend applies what every tool shares, on tools whose schemas Prepare has
// encoded: the result cap (a `truncated` property in the output schema of
// every tool with a ResultShape) and accounts (an `account` input on every
// AWS-calling tool, and list_accounts when e.Accounts is set). It returns
// the tools and the tool handler middlewares that implement both,
// outermost first, as server options.
func (e *Env) Extend(tools []server.ServerTool, maxResultBytes int) ([]server.ServerTool, []server.ServerOption, error) {
	awsTools := map[string]bool{}
	shapes := map[string]*ResultShape{}
	for i := range tools {
		t := &tools[i].Tool
		if rt, ok := Lookup(t.Name); ok && rt.Result != nil && t.RawOutputSchema != nil {
			shapes[t.Name] = rt.Result
			s, err := addTruncatedToSchema(t.RawOutputSchema, rt.Result.Root)
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
		server.WithToolHandlerMiddleware(truncateMiddleware(maxResultBytes, e.Logger, shapes)),
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
