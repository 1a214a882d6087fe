package mcptest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// ServedTools builds an MCP server over te's tools the way Provision does
// (schemas encoded, then extended; the result and account middlewares),
// plus mcp-go's output schema validation, so every result a test gets has
// been checked against the tool's declared (extended) output schema.
func ServedTools(t testing.TB, te *Env, maxBytes int) *server.MCPServer {
	t.Helper()
	tools, err := te.Tools(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := toolkit.Prepare(tools); err != nil {
		t.Fatal(err)
	}
	tools, opts, err := te.Extend(tools, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]server.ServerOption{server.WithToolCapabilities(false), server.WithOutputSchemaValidation()}, opts...)
	s := server.NewMCPServer("test", "1", opts...)
	s.AddTools(tools...)
	return s
}

// WireResult is a tools/call result as a client decodes it.
type WireResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func (w WireResult) Text() string {
	for _, c := range w.Content {
		if c.Type == "text" {
			return c.Text
		}
	}
	return ""
}

// CallServed sends one JSON-RPC tools/call through s.
func CallServed(t testing.TB, s *server.MCPServer, ctx context.Context, name string, args map[string]any) WireResult {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	resp := s.HandleMessage(ctx, msg)
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Result *WireResult      `json:"result"`
		Error  *json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Result == nil {
		t.Fatalf("%s: no tool result: %s", name, b)
	}
	return *out.Result
}

// CapCase runs one tool uncapped and capped and checks the capped answer.
type CapCase struct {
	Tool string
	Args map[string]any
}

// CheckCapped asserts the contract of a trimmed result and returns its
// value (the tool's JSON, inside "result" for wrapped tools).
func CheckCapped(t *testing.T, tool string, full, capped WireResult, maxBytes int) map[string]any {
	t.Helper()
	if full.IsError || capped.IsError {
		t.Fatalf("%s: tool error (full %v: %.300s) (capped %v: %.300s)", tool, full.IsError, full.Text(), capped.IsError, capped.Text())
	}
	if len(full.StructuredContent) <= maxBytes {
		t.Fatalf("%s: the seeded result (%d bytes) must exceed the cap %d for this test to mean anything", tool, len(full.StructuredContent), maxBytes)
	}
	if len(capped.StructuredContent) > maxBytes {
		t.Fatalf("%s: capped structured content is %d bytes, over %d", tool, len(capped.StructuredContent), maxBytes)
	}
	if len(capped.Text()) > maxBytes {
		t.Fatalf("%s: capped text is %d bytes, over %d", tool, len(capped.Text()), maxBytes)
	}
	rt, ok := toolkit.Lookup(tool)
	if !ok || rt.Result == nil {
		t.Fatalf("%s: no registered result shape", tool)
	}
	shape := rt.Result
	value := func(w WireResult) (map[string]any, map[string]any) {
		var doc map[string]any
		if err := json.Unmarshal(w.StructuredContent, &doc); err != nil {
			t.Fatalf("%s: structured content is not a JSON object: %v", tool, err)
		}
		v := doc
		if shape.Root != "" {
			v, _ = doc[shape.Root].(map[string]any)
		}
		var text map[string]any
		if err := json.Unmarshal([]byte(w.Text()), &text); err != nil {
			t.Fatalf("%s: text is not JSON (%v): %.200s", tool, err, w.Text())
		}
		return v, text
	}
	fv, _ := value(full)
	cv, ctext := value(capped)
	if !reflect.DeepEqual(cv, ctext) {
		t.Fatalf("%s: text and structured content differ", tool)
	}
	if _, ok := fv["truncated"]; ok {
		t.Fatalf("%s: an uncapped result must not carry truncated", tool)
	}
	tr, ok := cv["truncated"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no top-level truncated object in %.300s", tool, capped.Text())
	}
	dropped, _ := tr["dropped"].(float64)
	hint, _ := tr["hint"].(string)
	if dropped < 1 || hint == "" || len(tr) != 2 {
		t.Fatalf("%s: truncated = %v", tool, tr)
	}
	// With one group, the items kept are the first (or, for time series,
	// the last) of each list, and dropped counts exactly what is missing.
	if len(shape.Trims) == 1 {
		lost := 0
		for _, target := range shape.Trims[0] {
			fa, ca := arraysAt(fv, target.Path), arraysAt(cv, target.Path)
			if len(ca) > len(fa) {
				t.Fatalf("%s: more arrays after trimming", tool)
			}
			for i, f := range fa {
				var kept []any
				if i < len(ca) {
					kept = ca[i]
				}
				want := f[:len(kept)]
				if target.OldestFirst {
					want = f[len(f)-len(kept):]
				}
				if !reflect.DeepEqual(kept, want) {
					t.Fatalf("%s: %v: the kept items are not the first ones", tool, target.Path)
				}
				lost += len(f) - len(kept)
			}
		}
		if lost != int(dropped) {
			t.Fatalf("%s: dropped says %v, %d items are missing", tool, dropped, lost)
		}
	}
	return cv
}

// arraysAt finds the non-empty arrays a Trim path names under v: path
// segments are object keys, and "*" steps into every element of an array.
func arraysAt(v map[string]any, path []string) [][]any {
	if len(path) == 1 {
		if items, ok := v[path[0]].([]any); ok && len(items) > 0 {
			return [][]any{items}
		}
		return nil
	}
	if len(path) > 2 && path[1] == "*" {
		var out [][]any
		items, _ := v[path[0]].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				out = append(out, arraysAt(m, path[2:])...)
			}
		}
		return out
	}
	if m, ok := v[path[0]].(map[string]any); ok {
		return arraysAt(m, path[1:])
	}
	return nil
}

// RunCapCase calls c through an uncapped and a capped server.
func RunCapCase(t *testing.T, te *Env, maxBytes int, c CapCase) map[string]any {
	t.Helper()
	ctx := UserCtx(te.Alice)
	full := CallServed(t, ServedTools(t, te, 64<<20), ctx, c.Tool, c.Args)
	capped := CallServed(t, ServedTools(t, te, maxBytes), ctx, c.Tool, c.Args)
	return CheckCapped(t, c.Tool, full, capped, maxBytes)
}
