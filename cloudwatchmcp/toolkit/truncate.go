package toolkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"
)

const (
	// DefaultMaxResultBytes caps a tool result's JSON. An LLM client's
	// context window is the scarce resource: 256 KiB is already ~60k tokens.
	DefaultMaxResultBytes = 256 << 10
	// MinMaxResultBytes keeps the cap above the size of any result's fixed
	// part (summaries, statistics, the truncated note itself).
	MinMaxResultBytes = 1024
)

// Trim names arrays whose items may be dropped: path segments from the
// tool's value, where "*" steps into every element of an array. The last
// segment is always an object key.
type Trim struct {
	Path []string
	// OldestFirst drops from the front: the array is sorted by time,
	// ascending, and the newest items matter most.
	OldestFirst bool
}

// ResultShape tells the result cap (max_result_bytes) how one tool's
// result is built; a tool registers it with its Tool.
type ResultShape struct {
	// Root is "result" for tools whose structured content wraps the value
	// FastMCP-style ({"result": v}, text = v); "" when the structured
	// content is the value.
	Root string
	// Trims are alternative sets of arrays, tried in order: the first set
	// that fits while keeping at least one item per array wins (e.g. fewer
	// datapoints per series before fewer series). Arrays within a set are
	// trimmed evenly.
	Trims [][]Trim
	// Hint tells the caller how to get the rest.
	Hint func(v map[string]any) string
}

// TrimEnd names an array whose last items go first.
func TrimEnd(path ...string) Trim { return Trim{Path: path} }

// TrimOldest names a time series, ascending, whose first (oldest) items go
// first.
func TrimOldest(path ...string) Trim { return Trim{Path: path, OldestFirst: true} }

// Hint is a ResultShape.Hint that always says s.
func Hint(s string) func(map[string]any) string {
	return func(map[string]any) string { return s }
}

// truncateMiddleware caps every tool result at limit bytes of structured
// JSON plus images: images go first (images.go), then whole items of the
// arrays the tool's ResultShape names (shapes, by tool name), so the
// answer is always valid JSON that still matches the tool's output schema.
func truncateMiddleware(limit int, logger *zap.Logger, shapes map[string]*ResultShape) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := next(ctx, req)
			if err != nil || res == nil || res.IsError || res.StructuredContent == nil {
				return res, err
			}
			shape, ok := shapes[req.Params.Name]
			// Images go first (images.go); the items then share what is left.
			res, images, imageBytes, err := dropImages(res, limit)
			if err != nil {
				logger.Warn("cannot measure tool result", zap.String("tool", req.Params.Name), zap.Error(err))
				return res, nil
			}
			hint := ""
			if images > 0 {
				hint = imageHint(images, imageBytes, limit)
				logger.Debug("images dropped from tool result", zap.String("tool", req.Params.Name), zap.Int("images", images), zap.Int("max_result_bytes", limit))
			}
			out, dropped := res, 0
			if ok {
				if out, dropped, err = shape.Limit(res, limit-len(hint)); err != nil {
					// Not fatal: the untrimmed answer is still correct.
					logger.Warn("cannot truncate tool result", zap.String("tool", req.Params.Name), zap.Error(err))
					out = res
				}
			}
			if dropped > 0 {
				logger.Debug("tool result truncated", zap.String("tool", req.Params.Name), zap.Int("dropped", dropped), zap.Int("max_result_bytes", limit))
			}
			if images > 0 {
				root := ""
				if ok {
					root = shape.Root
				}
				noted, err := noteDroppedImages(out, root, images, hint)
				if err != nil {
					// The result without its image is still whole.
					logger.Warn("cannot note dropped images", zap.String("tool", req.Params.Name), zap.Error(err))
					return out, nil
				}
				out = noted
			}
			return out, nil
		}
	}
}

// arrayRef is one trimmable array inside the decoded result.
type arrayRef struct {
	parent      map[string]any
	key         string
	items       []any
	sizes       []int // encoded size of each item
	oldestFirst bool
}

// kept returns the array cut to k items.
func (a *arrayRef) kept(k int) []any {
	if k >= len(a.items) {
		return a.items
	}
	if a.oldestFirst {
		return a.items[len(a.items)-k:]
	}
	return a.items[:k]
}

// bytesFor is the encoded size of the items kept at k, commas included.
func (a *arrayRef) bytesFor(k int) int {
	k = min(k, len(a.items))
	n := max(k-1, 0)
	if a.oldestFirst {
		for _, s := range a.sizes[len(a.sizes)-k:] {
			n += s
		}
		return n
	}
	for _, s := range a.sizes[:k] {
		n += s
	}
	return n
}

// Limit returns res, or a copy trimmed to limit bytes with a truncated
// note, and how many items it dropped.
func (shape *ResultShape) Limit(res *mcp.CallToolResult, limit int) (*mcp.CallToolResult, int, error) {
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, 0, err
	}
	if len(raw) <= limit {
		return res, 0, nil
	}

	var doc, value map[string]any
	var dropped int
	var fitted bool
	// First choice: one group alone, keeping at least one item per array.
	for _, g := range shape.Trims {
		doc, value, err = decodeStructured(raw, shape.Root)
		if err != nil {
			return nil, 0, err
		}
		n, k, fits, err := trimGroup(doc, value, g, limit)
		if err != nil {
			return nil, 0, err
		}
		if fits && k >= 1 {
			dropped, fitted = n, true
			break
		}
	}
	if !fitted {
		// Fallback: trim every group as far as needed, in order.
		doc, value, err = decodeStructured(raw, shape.Root)
		if err != nil {
			return nil, 0, err
		}
		dropped = 0
		for _, g := range shape.Trims {
			n, _, fits, err := trimGroup(doc, value, g, limit)
			if err != nil {
				return nil, 0, err
			}
			dropped += n
			if fits {
				break
			}
		}
	}
	if dropped == 0 {
		// Nothing listable to drop: a result that is big for other reasons
		// stays whole rather than lose fields its schema requires.
		return res, 0, nil
	}

	value["truncated"] = map[string]any{"dropped": dropped, "hint": shape.Hint(value)}
	if _, ok := value["has_more_results"]; ok {
		value["has_more_results"] = true
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, 0, err
	}
	text := docJSON
	if shape.Root != "" {
		if text, err = json.Marshal(value); err != nil {
			return nil, 0, err
		}
	}
	out := *res
	out.StructuredContent = json.RawMessage(docJSON)
	out.Content = make([]mcp.Content, len(res.Content))
	copy(out.Content, res.Content)
	for i, c := range out.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			tc.Text = string(text)
			out.Content[i] = tc
			break
		}
	}
	return &out, dropped, nil
}

// decodeStructured decodes the structured content, keeping numbers as written,
// and returns it with the tool's value inside it.
func decodeStructured(raw []byte, root string) (doc, value map[string]any, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("structured content is not a JSON object: %w", err)
	}
	value = doc
	if root != "" {
		v, ok := doc[root].(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("structured content has no %q object", root)
		}
		value = v
	}
	return doc, value, nil
}

// trimGroup keeps the first k items of every array in g (the same k for
// all, so no list is starved), with k as large as fits in limit bytes
// together with the truncated note. It reports the items dropped, k, and
// whether the result now fits.
func trimGroup(doc, value map[string]any, g []Trim, limit int) (dropped, k int, fits bool, err error) {
	var arrays []*arrayRef
	longest, total := 0, 0
	for _, t := range g {
		for _, a := range resolveArrays(value, t) {
			a.sizes = make([]int, len(a.items))
			for i, it := range a.items {
				b, err := json.Marshal(it)
				if err != nil {
					return 0, 0, false, err
				}
				a.sizes[i] = len(b)
			}
			arrays = append(arrays, a)
			longest = max(longest, len(a.items))
			total += len(a.items)
		}
	}
	if len(arrays) == 0 {
		return 0, 0, false, nil
	}
	// The size with every array empty, plus room for the note.
	for _, a := range arrays {
		a.parent[a.key] = []any{}
	}
	empty, err := json.Marshal(doc)
	if err != nil {
		return 0, 0, false, err
	}
	note, _ := json.Marshal(map[string]any{"truncated": map[string]any{"dropped": total, "hint": ""}})
	// A generous allowance for the hint text and has_more_results.
	base := len(empty) + len(note) + 512

	sizeAt := func(k int) int {
		n := base
		for _, a := range arrays {
			n += a.bytesFor(k)
		}
		return n
	}
	k = sort.Search(longest+1, func(k int) bool { return sizeAt(k) > limit }) - 1
	if k < 0 {
		k = 0
	}
	for _, a := range arrays {
		kept := a.kept(k)
		dropped += len(a.items) - len(kept)
		a.parent[a.key] = kept
	}
	return dropped, k, sizeAt(k) <= limit, nil
}

// resolveArrays finds the arrays t names under v.
func resolveArrays(v map[string]any, t Trim) []*arrayRef {
	var out []*arrayRef
	var walk func(m map[string]any, path []string)
	walk = func(m map[string]any, path []string) {
		if len(path) == 1 {
			if items, ok := m[path[0]].([]any); ok && len(items) > 0 {
				out = append(out, &arrayRef{parent: m, key: path[0], items: items, oldestFirst: t.OldestFirst})
			}
			return
		}
		next := m[path[0]]
		if len(path) >= 2 && path[1] == "*" {
			items, _ := next.([]any)
			for _, it := range items {
				if mm, ok := it.(map[string]any); ok && len(path) > 2 {
					walk(mm, path[2:])
				}
			}
			return
		}
		if mm, ok := next.(map[string]any); ok {
			walk(mm, path[1:])
		}
	}
	walk(v, t.Path)
	return out
}

// truncatedSchema is the optional `truncated` property added to every
// output schema of a trimmable tool.
var truncatedSchema = map[string]any{
	"type":        "object",
	"title":       "Truncated",
	"description": "Present when items were dropped to keep the result within the server's max_result_bytes.",
	"properties": map[string]any{
		"dropped": map[string]any{"type": "integer", "description": "How many items were dropped."},
		"hint":    map[string]any{"type": "string", "description": "How to get the rest."},
	},
	"required": []string{"dropped", "hint"},
}

// addTruncatedToSchema declares `truncated` on the object that holds the
// tool's value: the output schema itself, or its root property (every
// object branch of an anyOf).
func addTruncatedToSchema(raw json.RawMessage, root string) (json.RawMessage, error) {
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	targets := []map[string]any{s}
	if root != "" {
		props, _ := s["properties"].(map[string]any)
		r, _ := props[root].(map[string]any)
		if r == nil {
			return nil, fmt.Errorf("output schema has no %q property", root)
		}
		targets = []map[string]any{r}
		if alts, ok := r["anyOf"].([]any); ok {
			targets = nil
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok && m["type"] == "object" || ok && m["properties"] != nil {
					targets = append(targets, m)
				}
			}
		}
	}
	for _, t := range targets {
		props, _ := t["properties"].(map[string]any)
		if props == nil {
			if t["additionalProperties"] == true {
				continue // anything goes already
			}
			props = map[string]any{}
			t["properties"] = props
		}
		props["truncated"] = truncatedSchema
	}
	return json.Marshal(s)
}
