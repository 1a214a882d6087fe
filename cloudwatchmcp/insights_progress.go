package cloudwatchmcp

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// progressFunc reports progress of a long tool call; nil when the client
// did not ask for progress.
type ProgressFunc func(progress, total float64, message string)

// progressNotifier returns a progressFunc that sends notifications/progress
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

// insightsPollProgress adapts a progressFunc to insightsWait.OnPoll:
// progress is seconds waited out of the wait's bound.
func insightsPollProgress(p ProgressFunc, label string, timeout time.Duration) func(*cloudwatchlogs.GetQueryResultsOutput, time.Duration, int) {
	if p == nil {
		return nil
	}
	return func(out *cloudwatchlogs.GetQueryResultsOutput, elapsed time.Duration, polls int) {
		msg := fmt.Sprintf("%s: %s after %.1fs", label, out.Status, elapsed.Seconds())
		if s := out.Statistics; s != nil {
			msg += fmt.Sprintf(" (%.0f records matched, %.0f scanned)", s.RecordsMatched, s.RecordsScanned)
		}
		p(math.Round(elapsed.Seconds()*1000)/1000, timeout.Seconds(), msg)
	}
}

// clientLog sends an MCP log notification (as FastMCP's ctx.warning and
// ctx.error do) when the client enabled logging; best effort.
func ClientLog(ctx context.Context, level mcp.LoggingLevel, message string) {
	if srv := server.ServerFromContext(ctx); srv != nil {
		_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, "cloudwatch_mcp", message))
	}
}
