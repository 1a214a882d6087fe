package toolkit

import (
	"context"
	"math"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ProgressFunc reports progress of a long tool call; nil when the client
// did not ask for progress.
type ProgressFunc func(progress, total float64, message string)

// ProgressNotifier returns a progressFunc that sends notifications/progress
// for req's progressToken, or nil when the client passed none (the spec
// forbids progress notifications without a token). Progress is forced to
// increase strictly, as the spec requires, and sending is best effort.
func ProgressNotifier(ctx context.Context, req mcp.CallToolRequest) ProgressFunc {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	var mu sync.Mutex
	last := math.Inf(-1)
	return func(progress, total float64, message string) {
		mu.Lock()
		if progress <= last {
			progress = last + 0.001
		}
		last = progress
		mu.Unlock()
		params := map[string]any{"progressToken": token, "progress": progress}
		if total > 0 {
			params["total"] = total
		}
		if message != "" {
			params["message"] = message
		}
		_ = srv.SendNotificationToClient(ctx, "notifications/progress", params)
	}
}

// ClientLog sends an MCP log notification (as FastMCP's ctx.warning and
// ctx.error do) when the client enabled logging; best effort.
func ClientLog(ctx context.Context, level mcp.LoggingLevel, message string) {
	if srv := server.ServerFromContext(ctx); srv != nil {
		_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, "cloudwatch_mcp", message))
	}
}
