package logs

import (
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// insightsPollProgress adapts a toolkit.ProgressFunc to insightsWait.OnPoll:
// progress is seconds waited out of the wait's bound.
func insightsPollProgress(p toolkit.ProgressFunc, label string, timeout time.Duration) func(*cloudwatchlogs.GetQueryResultsOutput, time.Duration, int) {
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
