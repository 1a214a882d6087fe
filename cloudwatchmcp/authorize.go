package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// AuthorizeRule restricts tools to callers whose token carries scopes or
// who belong to groups. Several rules may name the same tool; a caller must
// satisfy every rule that names it. A tool no rule names is open to every
// authenticated caller.
type AuthorizeRule struct {
	// Tools and tool groups (logs, metrics, alarms, promql) the rule
	// covers.
	Tools []string `json:"tools,omitempty"`

	// Scopes the caller's token must all carry ({http.auth.user.scope}).
	// A call without them is answered 403 with an RFC 6750
	// insufficient_scope challenge naming every scope the tool needs, so an
	// MCP client can step up its authorization.
	Scopes []string `json:"scopes,omitempty"`

	// Groups of which the caller must be in at least one
	// ({http.auth.user.groups}, from cognito:groups or the groups claim).
	// A call without one gets a tool error naming the groups.
	Groups []string `json:"groups,omitempty"`
}

// authorizableGroups are the tool groups an authorize rule may name; any
// other tool (list_accounts, say) is named individually.
var authorizableGroups = []string{"logs", "metrics", "alarms", "promql"}

// Placeholders cognito_auth fills for a verified caller, and the var naming
// its protected-resource metadata (for the step-up challenge).
const (
	scopePlaceholder    = "http.auth.user.scope"  // space-separated
	groupsPlaceholder   = "http.auth.user.groups" // comma-separated
	resourceMetadataVar = "cognito_auth.resource_metadata"
)

// maxCachedToolLists bounds the tools/list answers kept per permission set.
// A permission set is which rules a caller satisfies, so n rules give at
// most 2^n sets; beyond the bound, lists are built per request.
const maxCachedToolLists = 64

// authorizer decides, per tool and caller, whether a call may run. It reads
// only what cognito_auth published for the request (placeholders), never
// the token.
type authorizer struct {
	rules  []AuthorizeRule
	byTool map[string][]int  // served tool name → indexes of the rules naming it
	scopes map[string]string // tool → every scope its rules require, space-separated

	mcp   *server.MCPServer // set once the server exists
	mu    sync.Mutex
	lists map[string]*cachedToolsList // by permission set
}

// newAuthorizer resolves the rules against the tools that exist. It
// returns nil when there are no rules, which keeps the unauthorized fast
// path (one cached tools/list for everyone) untouched.
func newAuthorizer(rules []AuthorizeRule, served []server.ServerTool) (*authorizer, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	group := toolGroupIndex()
	for _, st := range served {
		// Tools added outside the groups (list_accounts) are named only.
		if _, ok := group[st.Tool.Name]; !ok {
			group[st.Tool.Name] = ""
		}
	}
	a := &authorizer{rules: rules, byTool: map[string][]int{}, scopes: map[string]string{}, lists: map[string]*cachedToolsList{}}
	for i, rule := range rules {
		if err := validateAuthorizeRule(rule); err != nil {
			return nil, fmt.Errorf("authorize rule %d: %w", i+1, err)
		}
		for _, name := range rule.Tools {
			if _, ok := group[name]; !ok && !slices.Contains(authorizableGroups, name) {
				return nil, fmt.Errorf("authorize: unknown tool or group %q (groups: %s; or a tool name)",
					name, strings.Join(authorizableGroups, ", "))
			}
		}
	}
	for _, st := range served {
		name := st.Tool.Name
		var needed []string
		for i, rule := range rules {
			g := group[name]
			if slices.Contains(rule.Tools, name) || (slices.Contains(authorizableGroups, g) && slices.Contains(rule.Tools, g)) {
				a.byTool[name] = append(a.byTool[name], i)
				for _, s := range rule.Scopes {
					if !slices.Contains(needed, s) {
						needed = append(needed, s)
					}
				}
			}
		}
		a.scopes[name] = strings.Join(needed, " ")
	}
	return a, nil
}

// validateAuthorizeRule checks one rule; the values end up in a
// WWW-Authenticate header and are matched against the space- and
// comma-separated placeholders, so those separators cannot be part of them.
func validateAuthorizeRule(r AuthorizeRule) error {
	if len(r.Tools) == 0 {
		return errors.New("names no tool or group")
	}
	if len(r.Scopes) == 0 && len(r.Groups) == 0 {
		return errors.New("requires neither scopes nor groups")
	}
	for _, list := range [][]string{r.Tools, r.Scopes, r.Groups} {
		if err := checkAuthorizeValues(list); err != nil {
			return err
		}
	}
	return nil
}

func checkAuthorizeValues(list []string) error {
	for _, v := range list {
		if v == "" || strings.ContainsFunc(v, func(c rune) bool { return c <= ' ' || c == '"' || c == '\\' || c == ',' || c == 0x7f }) {
			return fmt.Errorf("invalid value %q: must be non-empty without spaces, commas, quotes or backslashes", v)
		}
	}
	return nil
}

// toolGroupIndex maps every registered tool to its group.
func toolGroupIndex() map[string]string {
	idx := map[string]string{}
	for _, t := range toolkit.Registered() {
		idx[t.Tool.Name] = t.Group
	}
	return idx
}

// caller is what the authorizer knows about the requester.
type caller struct {
	scopes []string
	groups []string
}

// identityVar is the request var where cognito_auth publishes the verified
// caller (cognitoauth.IdentityVar).
const identityVar = "cognito_auth.identity"

// identityLists is what the authorizer needs of cognito_auth's identity
// (cognitoauth.Identity's documented GroupList and ScopeList), read
// through the request var so the two modules stay apart. The lists are
// shared between requests; they are only read.
type identityLists interface {
	GroupList() []string
	ScopeList() []string
}

// callerOf reads the caller's scopes and groups. With cognito_auth in
// front they come from its identity as lists, exactly as the token gave
// them: a group named "dev,sre" is one group, and a scp element
// "openid logs:read" is one scope, neither of which is "sre" or
// "logs:read". Only when no such identity is present (another
// authentication handler in front) are the {http.auth.user.scope}
// (space-separated) and {http.auth.user.groups} (comma-separated)
// placeholders split; that handler must then keep the separators out of
// the values. No identity at all means no scopes and no groups.
func callerOf(ctx context.Context) caller {
	if id, ok := caddyhttp.GetVar(ctx, identityVar).(identityLists); ok && id != nil {
		return caller{scopes: id.ScopeList(), groups: id.GroupList()}
	}
	repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return caller{}
	}
	var c caller
	if s, _ := repl.GetString(scopePlaceholder); s != "" {
		c.scopes = strings.Fields(s)
	}
	if g, _ := repl.GetString(groupsPlaceholder); g != "" {
		for _, v := range strings.Split(g, ",") {
			if v = strings.TrimSpace(v); v != "" {
				c.groups = append(c.groups, v)
			}
		}
	}
	return c
}

func (a *authorizer) scopesOK(rule AuthorizeRule, c caller) bool {
	for _, s := range rule.Scopes {
		if !slices.Contains(c.scopes, s) {
			return false
		}
	}
	return true
}

func (a *authorizer) groupsOK(rule AuthorizeRule, c caller) bool {
	return len(rule.Groups) == 0 || slices.ContainsFunc(rule.Groups, func(g string) bool { return slices.Contains(c.groups, g) })
}

// permissionSet names which rules c satisfies: callers with the same set
// see the same tools, so it keys the tools/list cache.
func (a *authorizer) permissionSet(c caller) string {
	b := make([]byte, len(a.rules))
	for i, rule := range a.rules {
		b[i] = '0'
		if a.scopesOK(rule, c) && a.groupsOK(rule, c) {
			b[i] = '1'
		}
	}
	return string(b)
}

// decision is the verdict on one tool call.
type decision struct {
	allowed       bool
	missingScopes []string   // scopes the caller lacks (step-up can help)
	needScopes    string     // every scope the tool needs, for the challenge
	missingGroups [][]string // per failed rule, the groups that would satisfy it
}

// denial is d as the call's record keeps it for the audit entry.
func (d decision) denial() toolkit.Denial {
	return toolkit.Denial{MissingScopes: d.missingScopes, MissingGroups: d.missingGroups}
}

func (a *authorizer) decide(tool string, c caller) decision {
	d := decision{allowed: true, needScopes: a.scopes[tool]}
	for _, i := range a.byTool[tool] {
		rule := a.rules[i]
		for _, s := range rule.Scopes {
			if !slices.Contains(c.scopes, s) && !slices.Contains(d.missingScopes, s) {
				d.missingScopes = append(d.missingScopes, s)
			}
		}
		if !a.groupsOK(rule, c) {
			d.missingGroups = append(d.missingGroups, rule.Groups)
		}
	}
	d.allowed = len(d.missingScopes) == 0 && len(d.missingGroups) == 0
	return d
}

// visible reports whether a caller with permission set ps may see tool.
func (a *authorizer) visible(tool, ps string) bool {
	for _, i := range a.byTool[tool] {
		if ps[i] != '1' {
			return false
		}
	}
	return true
}

type permissionSetKey struct{}

// callCheckedKey marks a tools/call whose scopes the HTTP layer already
// checked: mcp-go runs tool filters at call time too, and a filtered tool
// is "not found", where a caller who lacks only a group must get a tool
// error naming it.
type callCheckedKey struct{}

// filter is the mcp-go tool filter: tools/list shows each caller only the
// tools they may call.
func (a *authorizer) filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	if ctx.Value(callCheckedKey{}) != nil {
		return tools
	}
	ps, ok := ctx.Value(permissionSetKey{}).(string)
	if !ok {
		ps = a.permissionSet(callerOf(ctx))
	}
	out := make([]mcp.Tool, 0, len(tools))
	for _, t := range tools {
		if a.visible(t.Name, ps) {
			out = append(out, t)
		}
	}
	return out
}

// middleware enforces the rules inside mcp-go as well, so no path to a
// tool (whatever the HTTP layer parsed) skips them. A caller lacking only
// groups learns which group would let them in; no new token can help.
func (a *authorizer) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		name := req.Params.Name
		d := a.decide(name, callerOf(ctx))
		if d.allowed {
			return next(ctx, req)
		}
		toolkit.MarkDenied(ctx, d.denial())
		if len(d.missingScopes) > 0 {
			return mcp.NewToolResultError(fmt.Sprintf("%s requires the OAuth scopes %s; authorize again with them",
				name, strings.Join(d.missingScopes, " "))), nil
		}
		return mcp.NewToolResultError(groupMessage(name, d.missingGroups)), nil
	}
}

func groupMessage(tool string, missing [][]string) string {
	parts := make([]string, len(missing))
	for i, gs := range missing {
		if len(gs) == 1 {
			parts[i] = fmt.Sprintf("group %q", gs[0])
		} else {
			q := make([]string, len(gs))
			for j, g := range gs {
				q[j] = fmt.Sprintf("%q", g)
			}
			parts[i] = "one of the groups " + strings.Join(q, ", ")
		}
	}
	return fmt.Sprintf("permission denied: %s requires membership in %s; a new token will not help, ask an administrator to add you",
		tool, strings.Join(parts, " and "))
}

// checkCall runs before mcp-go sees a tools/call: a caller without the
// tool's scopes gets the MCP step-up answer (403 insufficient_scope), in
// every protocol version. Otherwise it returns the request marked as
// checked.
func (h *Handler) checkCall(w http.ResponseWriter, r *http.Request, msg peekedMessage) (*http.Request, error) {
	d := h.authz.decide(msg.toolName, callerOf(r.Context()))
	if len(d.missingScopes) == 0 {
		return r.WithContext(context.WithValue(r.Context(), callCheckedKey{}, true)), nil
	}
	h.audit.denied(r, msg, d)
	return nil, h.stepUp(w, r, msg.toolName, d)
}

// stepUp answers 403 with the RFC 6750 insufficient_scope challenge,
// listing every scope the tool needs (granted ones too, so a client that
// re-authorizes with exactly these loses nothing). Like cognito_auth, it
// returns a caddyhttp.Error when handle_errors routes exist, and otherwise
// writes an OAuth-style JSON body, which Caddy's default error page lacks.
func (h *Handler) stepUp(w http.ResponseWriter, r *http.Request, tool string, d decision) error {
	var b strings.Builder
	b.WriteString(`Bearer error="insufficient_scope", scope="`)
	b.WriteString(d.needScopes)
	b.WriteByte('"')
	if prm, _ := caddyhttp.GetVar(r.Context(), resourceMetadataVar).(string); prm != "" && !strings.ContainsAny(prm, "\"\\\r\n") {
		b.WriteString(`, resource_metadata="`)
		b.WriteString(prm)
		b.WriteByte('"')
	}
	reason := fmt.Sprintf("%s requires the scopes %s", tool, d.needScopes)
	hdr := w.Header()
	hdr.Set("WWW-Authenticate", b.String())
	hdr.Set("Cache-Control", "no-store")
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil && srv.Errors != nil && len(srv.Errors.Routes) > 0 {
		return caddyhttp.Error(http.StatusForbidden, errors.New(reason))
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"insufficient_scope", reason})
	hdr.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(body)
	return nil
}

// writeToolsList answers tools/list from the cached answer for the
// caller's permission set, building it through mcp-go (and the filter) on
// first use.
func (a *authorizer) writeToolsList(w http.ResponseWriter, r *http.Request, id json.RawMessage) error {
	ps := a.permissionSet(callerOf(r.Context()))
	a.mu.Lock()
	list, ok := a.lists[ps]
	a.mu.Unlock()
	if !ok {
		var err error
		list, err = listTools(context.WithValue(context.Background(), permissionSetKey{}, ps), a.mcp)
		if err != nil {
			return err
		}
		a.mu.Lock()
		if len(a.lists) < maxCachedToolLists {
			a.lists[ps] = list
		}
		a.mu.Unlock()
	}
	return list.write(w, id)
}

// listTools renders mcp-go's tools/list answer for ctx.
func listTools(ctx context.Context, s *server.MCPServer) (*cachedToolsList, error) {
	resp := s.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("listing the tools: %w", err)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Result) == 0 {
		return nil, fmt.Errorf("listing the tools: %s", b)
	}
	return &cachedToolsList{result: out.Result}, nil
}

// parseAuthorize reads one `authorize <tool|group>... { scopes ...; groups ... }`
// block. Tool names are checked here against every tool this build has, so
// `caddy validate` and `caddy adapt` name the line of a misspelt one;
// provision checks them again against the configured tool set.
func parseAuthorize(d *caddyfile.Dispenser) (AuthorizeRule, error) {
	var rule AuthorizeRule
	rule.Tools = d.RemainingArgs()
	if len(rule.Tools) == 0 {
		return rule, d.Err("authorize needs at least one tool or tool group (logs, metrics, alarms, promql)")
	}
	if err := checkAuthorizeValues(rule.Tools); err != nil {
		return rule, d.Errf("authorize: %v", err)
	}
	known := toolGroupIndex()
	for _, name := range rule.Tools {
		if _, ok := known[name]; !ok && name != toolkit.ListAccountsTool && !slices.Contains(authorizableGroups, name) {
			return rule, d.Errf("authorize: unknown tool or group %q (groups: %s; or a tool name)", name, strings.Join(authorizableGroups, ", "))
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "scopes", "groups":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return rule, d.ArgErr()
			}
			if err := checkAuthorizeValues(args); err != nil {
				return rule, d.Errf("authorize %s: %v", opt, err)
			}
			if opt == "scopes" {
				rule.Scopes = append(rule.Scopes, args...)
			} else {
				rule.Groups = append(rule.Groups, args...)
			}
		default:
			return rule, d.Errf("unrecognized authorize option %q (want scopes or groups)", opt)
		}
	}
	if err := validateAuthorizeRule(rule); err != nil {
		return rule, d.Errf("authorize: %v", err)
	}
	return rule, nil
}
