package cloudwatchmcp

import (
	"encoding/json"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestTruncatedInOutputSchemas(t *testing.T) {
	te := mcptest.NewEnv(t)
	s := mcptest.ServedTools(t, te, toolkit.DefaultMaxResultBytes)
	for _, rt := range toolkit.Registered() {
		if rt.Result == nil {
			continue
		}
		name, shape := rt.Tool.Name, rt.Result
		st := s.GetTool(name)
		if st == nil {
			t.Fatalf("no tool %s", name)
		}
		var schema map[string]any
		if err := json.Unmarshal(st.Tool.RawOutputSchema, &schema); err != nil {
			t.Fatal(err)
		}
		holder := schema
		if shape.Root != "" {
			holder = schema["properties"].(map[string]any)[shape.Root].(map[string]any)
		}
		if alts, ok := holder["anyOf"].([]any); ok {
			holder = alts[0].(map[string]any)
		}
		props, _ := holder["properties"].(map[string]any)
		if props["truncated"] == nil && holder["additionalProperties"] != true {
			t.Errorf("%s: output schema does not declare truncated", name)
		}
		reqs, _ := holder["required"].([]any)
		for _, req := range reqs {
			if req == "truncated" {
				t.Errorf("%s: truncated must be optional", name)
			}
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int{"262144": 262144, "256KiB": 262144, "1MiB": 1 << 20, "64KB": 64000, "2048B": 2048} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "1.5MiB", "99999999999MiB"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
