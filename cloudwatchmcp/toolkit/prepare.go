package toolkit

import (
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Prepare encodes every tool's input and output schema once: the tool
// list is static per config, and tools/list would otherwise reflect over
// the same schema maps on every call. A raw schema, when given, is the
// schema (mcp.NewTool presets an empty object schema, and mcp-go refuses
// to list a tool carrying both). Every tool must then encode, or no
// tools/list could be answered.
func Prepare(tools []server.ServerTool) error {
	for i := range tools {
		t := &tools[i].Tool
		if t.RawInputSchema == nil {
			b, err := json.Marshal(t.InputSchema)
			if err != nil {
				return fmt.Errorf("tool %s: input schema: %w", t.Name, err)
			}
			t.RawInputSchema = b
		}
		t.InputSchema = mcp.ToolInputSchema{}
		if t.RawOutputSchema == nil && t.OutputSchema.Type != "" {
			b, err := json.Marshal(t.OutputSchema)
			if err != nil {
				return fmt.Errorf("tool %s: output schema: %w", t.Name, err)
			}
			t.RawOutputSchema = b
		}
		t.OutputSchema = mcp.ToolOutputSchema{}
		if _, err := json.Marshal(t); err != nil {
			return fmt.Errorf("tool %s cannot be listed: %w", t.Name, err)
		}
	}
	return nil
}
