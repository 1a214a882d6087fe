package logs

import (
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// groupState is what the logs tools keep per provisioned handler
// (toolkit.State): it outlives one call, and a config reload starts
// afresh.
type groupState struct {
	// watch shares the running-queries list among long Insights waits
	// (insights_watch.go); nil polls every query on its own.
	watch *runningWatch
	// pacer throttles execute_cwl_insights_batch per identity and region
	// (batch_pacer.go).
	pacer *batchPacer
	// budgets bound Insights polling per AWS account and region
	// (insights_budget.go).
	budgets *pollBudgets
}

type stateKey struct{}

func stateOf(e *toolkit.Env) *groupState {
	return toolkit.State(e, stateKey{}, func(e *toolkit.Env) *groupState {
		return &groupState{
			// The watch reads the Env's clock, which tests may swap.
			watch:   newRunningWatch(func() time.Time { return e.Now() }),
			pacer:   newBatchPacer(batchGateCap),
			budgets: newPollBudgets(e.InsightsPollRate, e.InsightsPollBurst),
		}
	})
}
