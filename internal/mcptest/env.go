// Package mcptest is the test kit of the cloudwatch_mcp packages: a
// toolkit.Env wired to the wire-level fake AWS (internal/fakeaws), request
// contexts as cognito_auth leaves them, the tools served the way the module
// serves them, and assertions on tool results. Only tests import it
// (cloudwatchmcp/layout_test.go checks). It never imports the module or a
// tool group, so the tests inside every package of cloudwatchmcp can use it.
package mcptest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// Issuer is the issuer of the test users' identities (the module's test
// stand-in for cognito_auth sets it as {http.auth.user.issuer}).
const Issuer = "https://issuer.test/pool"

// Catalog is the embedded catalog, as a provisioned handler has it.
func Catalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Env is a toolkit.Env wired to a fresh fake AWS, plus one user ("alice")
// whose vended credentials the fake accepts.
type Env struct {
	*toolkit.Env
	Fake  *fakeaws.Fake
	Alice aws.Credentials
}

// NewEnv returns an Env on a fresh fake AWS, closed when the test ends.
// Its region is us-east-1, its credentials those of the request, its
// catalog the embedded one; tests swap Now and Sleep as they need.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	base := fakeaws.TestConfig(f, nil)
	base.Credentials = nil
	e := &toolkit.Env{
		DefaultRegion:   "us-east-1",
		CredentialMode:  toolkit.CredRequest,
		Clients:         toolkit.NewClients(base, 64),
		MaxQueryTimeout: 5 * time.Minute,
		Catalog:         Catalog(t),
		Logger:          zap.NewNop(),
		Now:             time.Now,
		Sleep:           toolkit.Sleep,
	}
	return &Env{Env: e, Fake: f, Alice: f.IssueCredentials("alice", time.Now().Add(time.Hour))}
}

// UserCtx is a request context as cognito_auth leaves it: the caller's
// vended credentials in the Caddy vars.
func UserCtx(creds aws.Credentials) context.Context {
	vars := map[string]any{}
	if creds.AccessKeyID != "" {
		vars[toolkit.CredentialsVar] = fakeaws.StaticCredentials(creds)
	}
	return context.WithValue(context.Background(), caddyhttp.VarsCtxKey, vars)
}

// CallTool runs the named tool's handler as the MCP server would.
func (te *Env) CallTool(t testing.TB, ctx context.Context, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := te.ToolHandler(t, name)(ctx, req)
	if err != nil {
		t.Fatalf("%s returned a protocol error instead of a tool result: %v", name, err)
	}
	return res
}

// ToolHandler returns the named registered tool's handler, bound to te.
func (te *Env) ToolHandler(t testing.TB, name string) server.ToolHandlerFunc {
	t.Helper()
	tools, err := te.Tools(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range tools {
		if st.Tool.Name == name {
			return st.Handler
		}
	}
	t.Fatalf("no tool %q", name)
	return nil
}

// ResultText returns the first text content.
func ResultText(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	t.Fatalf("no text content in %+v", res)
	return ""
}

// DecodeResult decodes a successful JSON result into v.
func DecodeResult(t testing.TB, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("unexpected tool error: %s", ResultText(t, res))
	}
	if err := json.Unmarshal([]byte(ResultText(t, res)), v); err != nil {
		t.Fatalf("result is not JSON: %v", err)
	}
}

// WantToolError asserts an isError result whose text contains substr.
func WantToolError(t testing.TB, res *mcp.CallToolResult, substr string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want tool error containing %q, got success: %s", substr, ResultText(t, res))
	}
	if got := ResultText(t, res); !strings.Contains(got, substr) {
		t.Fatalf("tool error %q does not contain %q", got, substr)
	}
}

// WantToolErr fails unless err is a toolkit.ToolError, which is what reaches the
// agent verbatim as an isError result.
func WantToolErr(t *testing.T, what string, err error) {
	t.Helper()
	var te *toolkit.ToolError
	if !errors.As(err, &te) {
		t.Fatalf("%s: %T %v is not a tool error", what, err, err)
	}
	if te.Error() == "" {
		t.Fatalf("%s: empty tool error", what)
	}
}

// IdentityCtx is a request context as cognito_auth leaves it: the caller's
// identity in the replacer and vended credentials in the vars.
func IdentityCtx(creds aws.Credentials, sub string) context.Context {
	ctx := UserCtx(creds)
	repl := caddy.NewReplacer()
	repl.Set("http.auth.user.id", sub)
	repl.Set("http.auth.user.issuer", Issuer)
	return context.WithValue(ctx, caddy.ReplacerCtxKey, repl)
}

// WaitUntil polls cond for up to 5 s.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
