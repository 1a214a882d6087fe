// Package prompts holds the MCP prompts of cloudwatch_mcp: named
// investigations (prompts/get) that spell out, in words, which tools to
// call in which order and what to look for, and the completion of their
// arguments to the caller's own log groups, alarms and metric namespaces
// (completion/complete, complete.go). The module serves them; a prompt
// names tools only (ToolRef), so this package imports no tool group.
package prompts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// ToolRef names a tool a plan tells the agent to call, with its tool group:
// authorize rules may name either, and a prompt is shown only to callers
// who may call every tool it names.
type ToolRef struct{ Group, Name string }

// Source says where an argument's completions come from.
type Source int

const (
	// Fixed completes to the argument's Suggest list only.
	Fixed Source = iota
	// LogGroup completes to the caller's log groups (DescribeLogGroups
	// with the typed prefix).
	LogGroup
	// LogGroupList is a comma-separated list of log groups whose last
	// element completes like LogGroup.
	LogGroupList
	// Alarm completes to the caller's alarm names (DescribeAlarms with the
	// typed prefix).
	Alarm
	// Namespace completes to the caller's metric namespaces (ListMetrics).
	Namespace
)

// Argument is one prompt argument.
type Argument struct {
	Name, Description string
	Required          bool
	Source            Source
	// Suggest are fixed completions (time ranges, common field names).
	Suggest []string
}

// Prompt is one investigation plan.
type Prompt struct {
	Name, Title, Description string
	Arguments                []Argument
	// Tools are the tools the plan names, in the order it uses them.
	Tools []ToolRef
	// render writes the plan for the given (checked) arguments at now.
	render func(now time.Time, args map[string]string) (string, error)
}

// maxArgBytes bounds one argument value: values end up in the plan the
// agent reads and in AWS requests.
const maxArgBytes = 512

// All returns every prompt, in a fixed order.
func All() []Prompt {
	return []Prompt{investigateAlarm, logErrorSpike, slowRequests, deployWatch}
}

// Lookup returns the prompt of that name.
func Lookup(name string) (Prompt, bool) {
	i := slices.IndexFunc(All(), func(p Prompt) bool { return p.Name == name })
	if i < 0 {
		return Prompt{}, false
	}
	return All()[i], true
}

// MCP is the prompt as prompts/list shows it.
func (p Prompt) MCP() mcp.Prompt {
	opts := []mcp.PromptOption{mcp.WithPromptTitle(p.Title), mcp.WithPromptDescription(p.Description)}
	for _, a := range p.Arguments {
		aopts := []mcp.ArgumentOption{mcp.ArgumentDescription(a.Description)}
		if a.Required {
			aopts = append(aopts, mcp.RequiredArgument())
		}
		opts = append(opts, mcp.WithArgument(a.Name, aopts...))
	}
	return mcp.NewPrompt(p.Name, opts...)
}

// argument returns p's argument of that name.
func (p Prompt) argument(name string) (Argument, bool) {
	i := slices.IndexFunc(p.Arguments, func(a Argument) bool { return a.Name == name })
	if i < 0 {
		return Argument{}, false
	}
	return p.Arguments[i], true
}

// Get renders the plan for args at now: unknown, missing or malformed
// arguments are an error naming them.
func (p Prompt) Get(now time.Time, args map[string]string) (*mcp.GetPromptResult, error) {
	clean := map[string]string{}
	for name, v := range args {
		if _, ok := p.argument(name); !ok {
			names := make([]string, len(p.Arguments))
			for i, a := range p.Arguments {
				names[i] = a.Name
			}
			return nil, fmt.Errorf("%s has no argument %q (arguments: %s)", p.Name, name, strings.Join(names, ", "))
		}
		v = strings.TrimSpace(v)
		if len(v) > maxArgBytes {
			return nil, fmt.Errorf("%s: %s is longer than %d bytes", p.Name, name, maxArgBytes)
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("%s: %s must be one line without control characters", p.Name, name)
		}
		if v != "" {
			clean[name] = v
		}
	}
	for _, a := range p.Arguments {
		if a.Required && clean[a.Name] == "" {
			return nil, fmt.Errorf("%s needs the argument %s: %s", p.Name, a.Name, a.Description)
		}
	}
	text, err := p.render(now.UTC(), clean)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return mcp.NewGetPromptResult(p.Title, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text)),
	}), nil
}

// Serve returns the prompts for mcp-go, their handlers reading e's clock.
func Serve(e *toolkit.Env, list []Prompt) []server.ServerPrompt {
	out := make([]server.ServerPrompt, 0, len(list))
	for _, p := range list {
		out = append(out, server.ServerPrompt{Prompt: p.MCP(), Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return p.Get(e.Now(), req.Params.Arguments)
		}})
	}
	return out
}
