package toolkit

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// HandlerFunc answers one call of a tool, with the Env of the handler that
// serves it. A problem the caller can fix is an isError result
// (ErrorResult), never a Go error; a returned error is a protocol error.
type HandlerFunc func(ctx context.Context, e *Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error)

// Tool is one tool as its group registers it, from an init func in the
// tool's own file:
//
//	func init() {
//		toolkit.Register(toolkit.Tool{Group: "logs", Tool: describeLogGroupsTool, Handler: describeLogGroups, Result: ...})
//	}
//
// The module serves every registered tool of the groups its `tools` option
// names; nothing else has to know about a new tool.
type Tool struct {
	// Group is the tool group: what the `tools` option selects and what
	// authorize rules may name ("logs", "metrics", "alarms", "promql").
	Group string
	// Tool is the MCP definition: name, description, input and output
	// schemas (FastMCP-shaped, as awslabs' agents expect), annotations. A
	// tool that calls AWS takes the awslabs profile_name argument; that is
	// how the module knows to add the optional `account` argument.
	Tool mcp.Tool
	// Handler answers calls.
	Handler HandlerFunc
	// Result tells the result cap (max_result_bytes) which arrays of the
	// structured result may lose items; nil for a result that is never
	// trimmed (a single object).
	Result *ResultShape
}

var (
	registryMu sync.Mutex
	registry   []Tool // in registration order
)

// Register adds a tool. It panics on a tool without a name, group or
// handler, or a name registered twice: mistakes of the tool's author that
// every test run catches at init.
func Register(t Tool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if t.Group == "" || t.Tool.Name == "" || t.Handler == nil {
		panic(fmt.Sprintf("toolkit.Register: tool %q needs a group, a name and a handler", t.Tool.Name))
	}
	for _, r := range registry {
		if r.Tool.Name == t.Tool.Name {
			panic(fmt.Sprintf("toolkit.Register: tool %q registered twice", t.Tool.Name))
		}
	}
	registry = append(registry, t)
}

// Registered returns every registered tool, in registration order.
func Registered() []Tool {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(registry)
}

// Lookup returns the registered tool of that name.
func Lookup(name string) (Tool, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, t := range registry {
		if t.Tool.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}

// Groups lists the registered group names, sorted.
func Groups() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	var names []string
	for _, t := range registry {
		if !slices.Contains(names, t.Group) {
			names = append(names, t.Group)
		}
	}
	sort.Strings(names)
	return names
}

// Tools returns the tools of the named groups (all groups when empty),
// their handlers bound to e, ready for mcp-go.
func (e *Env) Tools(groups []string) ([]server.ServerTool, error) {
	if len(groups) == 0 {
		groups = Groups()
	}
	all := Registered()
	var out []server.ServerTool
	for _, g := range groups {
		n := len(out)
		for _, t := range all {
			if t.Group == g {
				out = append(out, server.ServerTool{Tool: t.Tool, Handler: bind(t.Handler, e)})
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("unknown tool group %q", g)
		}
	}
	return out, nil
}

func bind(h HandlerFunc, e *Env) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return h(ctx, e, req)
	}
}
