package cloudwatchmcp

// The prompts the handler serves (cloudwatchmcp/prompts), who sees them,
// and the audit of their completions, which cost AWS requests.

import (
	"context"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/prompts"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// servedPrompts are the prompts whose tools' groups are all served: a
// plan naming tools the handler does not offer would mislead the agent.
func (h *Handler) servedPrompts() []prompts.Prompt {
	groups := h.Tools
	if len(groups) == 0 {
		groups = toolkit.Groups()
	}
	var out []prompts.Prompt
	for _, p := range prompts.All() {
		if !slices.ContainsFunc(p.Tools, func(t prompts.ToolRef) bool { return !slices.Contains(groups, t.Group) }) {
			out = append(out, p)
		}
	}
	return out
}

// promptOptions turns on prompts and completions, hides prompts from
// callers who may not call their tools, and audits completions.
func (h *Handler) promptOptions(served []prompts.Prompt) []server.ServerOption {
	c := prompts.NewCompleter(h.env)
	c.Visible = func(ctx context.Context, name string) bool {
		i := slices.IndexFunc(served, func(p prompts.Prompt) bool { return p.Name == name })
		return i >= 0 && (h.authz == nil || h.authz.promptVisible(served[i], callerOf(ctx)))
	}
	opts := []server.ServerOption{
		server.WithPromptCapabilities(false),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(auditedCompleter{c, h.audit}),
	}
	if h.authz != nil {
		opts = append(opts, server.WithPromptFilter(func(ctx context.Context, list []mcp.Prompt) []mcp.Prompt {
			c := callerOf(ctx)
			return slices.DeleteFunc(list, func(mp mcp.Prompt) bool {
				p, ok := prompts.Lookup(mp.Name)
				return !ok || !h.authz.promptVisible(p, c)
			})
		}))
	}
	return opts
}

// promptVisible reports whether c may call every tool p names: every rule
// naming one of them, or its group, must be satisfied. It does not need
// the tools to be registered, so a plan may name a tool of a served group
// that this build lists under another name.
func (a *authorizer) promptVisible(p prompts.Prompt, c caller) bool {
	for _, rule := range a.rules {
		applies := slices.ContainsFunc(p.Tools, func(t prompts.ToolRef) bool {
			return slices.Contains(rule.Tools, t.Name) || slices.Contains(rule.Tools, t.Group)
		})
		if applies && !(a.scopesOK(rule, c) && a.groupsOK(rule, c)) {
			return false
		}
	}
	return true
}

// auditedCompleter writes one audit entry per completion: who asked, for
// which prompt argument, and how many AWS requests it cost (0 when the
// cache answered).
type auditedCompleter struct {
	c  *prompts.Completer
	au *auditor
}

func (ac auditedCompleter) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	ctx, rec := toolkit.WithRecord(ctx)
	start := ac.au.now()
	res, err := ac.c.CompletePromptArgument(ctx, prompt, arg, cc)
	ce := ac.au.logger.Check(zapcore.InfoLevel, "completion")
	if ce == nil {
		return res, err
	}
	ids, n, _ := rec.Snapshot()
	if ids == nil {
		ids = []string{}
	}
	outcome, values := auditOK, 0
	if err != nil {
		outcome = auditError
	} else if res != nil {
		values = len(res.Values)
	}
	var session string
	if s := server.ClientSessionFromContext(ctx); s != nil {
		session = s.SessionID()
	}
	sub, username, clientID, issuer := auditIdentity(ctx)
	fields := []zap.Field{
		zap.Time("time", start),
		zap.String("prompt", clip(prompt, 128)),
		zap.String("argument", clip(arg.Name, 128)),
		zap.String("value", clip(arg.Value, 128)),
		zap.String("outcome", outcome),
		zap.String("sub", sub),
		zap.String("username", username),
		zap.String("client_id", clientID),
		zap.String("issuer", issuer),
		zap.String("session_id", session),
		zap.Int("values", values),
		zap.Strings("aws_request_ids", ids),
		zap.Int("aws_requests", n),
		zap.Float64("duration", ac.au.now().Sub(start).Seconds()),
	}
	if err != nil {
		f := toolkit.ClassifyError(err)
		fields = append(fields, zap.String("error_kind", f.Kind))
	}
	ce.Write(fields...)
	return res, err
}
