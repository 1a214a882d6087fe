package toolkit

import (
	"context"
	"time"
)

// Throttling is what a call's AWS request budget did to it: AWS
// throttling answers it got (and waited out instead of failing), and how
// long it waited for the account's shared request budget. The audit entry
// shows both when not zero.
type Throttling struct {
	Throttled int
	Waited    time.Duration
}

// NoteThrottled records that AWS throttled one request of the call in ctx
// and the call waited instead of failing.
func NoteThrottled(ctx context.Context) {
	if rec := RecordFrom(ctx); rec != nil {
		rec.mu.Lock()
		rec.throttling.Throttled++
		rec.mu.Unlock()
	}
}

// NoteBudgetWait records that the call in ctx waited d for a request
// budget.
func NoteBudgetWait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	if rec := RecordFrom(ctx); rec != nil {
		rec.mu.Lock()
		rec.throttling.Waited += d
		rec.mu.Unlock()
	}
}

// Throttling returns what the call's request budget did to it so far.
func (rec *Record) Throttling() Throttling {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.throttling
}
