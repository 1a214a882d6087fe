package toolkit

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/catalog"
)

// Env is everything a tool handler needs besides its arguments: where the
// caller's credentials come from, the shared SDK clients, the limits and
// the clock. The module builds one Env per provisioned handler and passes
// it to every tool call; a config reload builds a new one.
type Env struct {
	// DefaultRegion is the region of calls that name none.
	DefaultRegion string
	// CredentialMode says whose AWS permissions calls use (credentials.go).
	CredentialMode CredentialMode
	// Clients caches the SDK clients per identity, region and service.
	Clients *Clients
	// MaxQueryTimeout caps every Logs Insights wait and every SDK call.
	MaxQueryTimeout time.Duration
	// Catalog is the metric catalog (embedded, merged with metric_metadata).
	Catalog *catalog.Catalog
	Logger  *zap.Logger
	// Now is the clock; tests swap it.
	Now func() time.Time

	// Accounts chains into configured accounts (accounts.go); nil when
	// none are configured.
	Accounts *Accounts

	// InsightsPollRate bounds the Logs Insights polling (GetQueryResults,
	// DescribeQueries) of every caller in one AWS account and region, in
	// requests per second; InsightsPollBurst is its bucket. Zero: 2/s with
	// a burst of 10 (logs/insights_budget.go).
	InsightsPollRate  float64
	InsightsPollBurst int

	// Sleep waits between polls; tests and benchmarks may shorten it. It
	// returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error

	stateMu sync.Mutex
	state   map[any]any
}

// State returns the per-handler state a tool group keeps under key,
// made by mk on first use: what outlives one call but belongs to one
// provisioned handler (the Logs Insights watch, the batch pacer), so a
// config reload starts afresh. A value with a Close method is closed by
// Env.Close, when the handler is cleaned up. key is a value of a type
// private to the group, as with context keys.
func State[T any](e *Env, key any, mk func(*Env) T) T {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if v, ok := e.state[key]; ok {
		return v.(T)
	}
	v := mk(e)
	if e.state == nil {
		e.state = map[any]any{}
	}
	e.state[key] = v
	return v
}

// Close releases what the Env holds: the shared HTTP client of its SDK
// clients and the groups' state. The module calls it from Cleanup.
func (e *Env) Close() {
	e.stateMu.Lock()
	state := e.state
	e.state = nil
	e.stateMu.Unlock()
	for _, v := range state {
		if c, ok := v.(interface{ Close() }); ok {
			c.Close()
		}
	}
	if e.Clients != nil {
		e.Clients.Close()
	}
}

// Sleep waits d or until ctx ends, whichever is first; it is the default
// Env.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
