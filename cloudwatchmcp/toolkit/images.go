package toolkit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Images in tool results (charts): they count against max_result_bytes
// like any other content, and are what goes first when a result is over
// the cap, since the data they draw is the answer and the picture a
// convenience.

// ImageStats counts a result's image content: how many images and their
// size in bytes (decoded). The audit records these, never the images.
func ImageStats(res *mcp.CallToolResult) (n, size int) {
	if res == nil {
		return 0, 0
	}
	for _, c := range res.Content {
		if ic, ok := c.(mcp.ImageContent); ok {
			n++
			size += base64.StdEncoding.DecodedLen(len(ic.Data)) - strings.Count(ic.Data[max(len(ic.Data)-2, 0):], "=")
		}
	}
	return n, size
}

// dropImages returns res without the image content that makes it exceed
// limit bytes (structured JSON plus each image's base64 data), dropping
// the last image first, and how many it dropped with their encoded size.
func dropImages(res *mcp.CallToolResult, limit int) (*mcp.CallToolResult, int, int, error) {
	var images int
	for _, c := range res.Content {
		if _, ok := c.(mcp.ImageContent); ok {
			images++
		}
	}
	if images == 0 {
		return res, 0, 0, nil
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, 0, 0, err
	}
	total := len(raw)
	for _, c := range res.Content {
		if ic, ok := c.(mcp.ImageContent); ok {
			total += len(ic.Data)
		}
	}
	if total <= limit {
		return res, 0, 0, nil
	}
	out := *res
	out.Content = make([]mcp.Content, len(res.Content))
	copy(out.Content, res.Content)
	dropped, droppedBytes := 0, 0
	for i := len(out.Content) - 1; i >= 0 && total > limit; i-- {
		if ic, ok := out.Content[i].(mcp.ImageContent); ok {
			out.Content = append(out.Content[:i], out.Content[i+1:]...)
			total -= len(ic.Data)
			dropped++
			droppedBytes += len(ic.Data)
		}
	}
	return &out, dropped, droppedBytes, nil
}

// imageHint tells the caller why images are missing and how to get one.
func imageHint(dropped, droppedBytes, limit int) string {
	what := "The chart image"
	if dropped > 1 {
		what = fmt.Sprintf("%d chart images", dropped)
	}
	return fmt.Sprintf("%s (%d bytes encoded) did not fit in this server's max_result_bytes (%d) and was left out. "+
		"Ask for a smaller image (get_metric_image with a lower width and height, e.g. 400x200, or a shorter time range) "+
		"or call without chart for the data alone.", what, droppedBytes, limit)
}

// noteDroppedImages adds the image hint to the `truncated` note of the
// structured content (root names the object that holds the tool's value,
// as in ResultShape), merging with a note the item trimming left, and to
// the text: a text that mirrors the structured value is re-encoded, any
// other text (a description) gains the hint as a sentence.
func noteDroppedImages(res *mcp.CallToolResult, root string, dropped int, hint string) (*mcp.CallToolResult, error) {
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, err
	}
	doc, value, err := decodeStructured(raw, root)
	if err != nil {
		return nil, err
	}
	note := map[string]any{"dropped": dropped, "hint": hint}
	if prev, ok := value["truncated"].(map[string]any); ok {
		n, _ := prev["dropped"].(json.Number).Int64()
		h, _ := prev["hint"].(string)
		note = map[string]any{"dropped": int(n) + dropped, "hint": strings.TrimSpace(hint + " " + h)}
	}
	value["truncated"] = note
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	valueJSON := docJSON
	if root != "" {
		if valueJSON, err = json.Marshal(value); err != nil {
			return nil, err
		}
	}
	out := *res
	out.StructuredContent = json.RawMessage(docJSON)
	out.Content = make([]mcp.Content, len(res.Content))
	copy(out.Content, res.Content)
	for i, c := range out.Content {
		tc, ok := c.(mcp.TextContent)
		if !ok {
			continue
		}
		if t := bytes.TrimSpace([]byte(tc.Text)); len(t) > 0 && t[0] == '{' && json.Valid(t) {
			tc.Text = string(valueJSON)
		} else {
			tc.Text = strings.TrimSpace(tc.Text + " " + hint)
		}
		out.Content[i] = tc
		break
	}
	return &out, nil
}
