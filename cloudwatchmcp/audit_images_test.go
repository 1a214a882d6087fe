package cloudwatchmcp

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The audit entry of a call that returned an image records that it did and
// how big the image was, never the image.
func TestAuditRecordsImagesNotTheirBytes(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	au := &auditor{logger: zap.New(core), now: time.Now}
	png := append([]byte("\x89PNG\r\n\x1a\n"), []byte(strings.Repeat("chart-pixels", 100))...)
	data := base64.StdEncoding.EncodeToString(png)
	handler := au.middleware(func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent("Chart of x"), mcp.NewImageContent(data, "image/png")}}, nil
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "get_metric_image"
	if _, err := handler(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	entries, raw := auditJSON(t, logs)
	e := entries[0]
	if e["images"] != float64(1) || e["image_bytes"] != float64(len(png)) {
		t.Fatalf("images %v, image_bytes %v; want 1 and %d", e["images"], e["image_bytes"], len(png))
	}
	if strings.Contains(raw, data[:64]) {
		t.Fatalf("the audit entry holds the image: %s", raw)
	}

	// No image, no image fields.
	handler = au.middleware(func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("x"), nil
	})
	if _, err := handler(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if e := logs.All()[1].ContextMap(); e["images"] != nil || e["image_bytes"] != nil {
		t.Fatalf("entry without images has image fields: %v", e)
	}
}
