package logs

import (
	"container/list"
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// Throttles of execute_cwl_insights_batch: about a quarter of the default
// per-account, per-region Logs Insights quotas (30 concurrent queries, 6 TPS
// StartQuery), so a batch leaves room for everything else the account runs.
// Its polling spends the account's Insights polling budget like every other
// wait (insights_budget.go).
const (
	batchConcurrencyPerRegion = 7
	batchStartInterval        = 700 * time.Millisecond
	batchGateCap              = 512 // (identity, region) and identity gates kept

	// batchConcurrencyPerIdentity bounds one identity's batch chunks in
	// progress across every region and every call: the per-region bound
	// alone multiplies with the number of regions. A chunk holds its slot
	// from StartQuery through its last poll (and its time-range splits),
	// and a call starts a goroutine only for a chunk that holds one.
	batchConcurrencyPerIdentity = 20
)

// batchGate throttles one credentials identity in one region. It is shared
// by every batch call of that identity, so two concurrent batches of one
// user share the quota share, while another user's batch (other keys) has a
// gate of its own and is never queued behind the first user's.
type batchGate struct {
	start *rate.Limiter
	slots chan struct{}
	users int // calls holding the gate; guarded by batchPacer.mu
}

// batchPacer holds the gates in a bounded LRU. Gates in use are never
// evicted; idle ones go oldest first once there are more than cap.
type batchPacer struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List // of *gateEntry, front = most recent
	items map[string]*list.Element

	// now and sleep default to the toolkit.Env's; tests inject a virtual clock.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// trace, when set, sees every granted StartQuery slot (tests assert the
	// spacing on it).
	trace func(key string, slot time.Time)
}

type gateEntry struct {
	key  string
	gate *batchGate
}

func newBatchPacer(capacity int) *batchPacer {
	return &batchPacer{cap: capacity, ll: list.New(), items: map[string]*list.Element{}}
}

// acquire returns the gate of one identity in one region (key), creating
// it, and a release func the caller must call when its batch ends.
func (p *batchPacer) acquire(key string) (*batchGate, func()) {
	return p.acquireGate(key, func() *batchGate {
		return &batchGate{
			start: rate.NewLimiter(rate.Every(batchStartInterval), 1),
			slots: make(chan struct{}, batchConcurrencyPerRegion),
		}
	})
}

// acquireIdentity returns the gate bounding an identity's chunks across
// regions (only its slots are used), and its release func.
func (p *batchPacer) acquireIdentity(idKey string) (*batchGate, func()) {
	return p.acquireGate("*|"+idKey, func() *batchGate {
		return &batchGate{slots: make(chan struct{}, batchConcurrencyPerIdentity)}
	})
}

func (p *batchPacer) acquireGate(key string, newGate func() *batchGate) (*batchGate, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var g *batchGate
	if el, ok := p.items[key]; ok {
		p.ll.MoveToFront(el)
		g = el.Value.(*gateEntry).gate
		g.users++
	} else {
		g = newGate()
		// In use before eviction runs: an idle new gate would be the
		// first to go once every older gate is busy, and a caller holding
		// an evicted gate shares its limits with no one.
		g.users++
		p.items[key] = p.ll.PushFront(&gateEntry{key: key, gate: g})
		p.evictLocked()
	}
	var once sync.Once
	return g, func() {
		once.Do(func() {
			p.mu.Lock()
			g.users--
			p.evictLocked()
			p.mu.Unlock()
		})
	}
}

func (p *batchPacer) evictLocked() {
	for el := p.ll.Back(); el != nil && p.ll.Len() > p.cap; {
		prev := el.Prev()
		if e := el.Value.(*gateEntry); e.gate.users == 0 {
			p.ll.Remove(el)
			delete(p.items, e.key)
		}
		el = prev
	}
}

// size reports how many gates are kept.
func (p *batchPacer) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ll.Len()
}

// wait blocks until lim grants one event, on the pacer's clock, and returns
// the granted time. A cancelled wait gives its reservation back.
func (p *batchPacer) wait(ctx context.Context, e *toolkit.Env, lim *rate.Limiter) (time.Time, error) {
	now, sleep := p.clock(e)
	t := now()
	r := lim.ReserveN(t, 1)
	// Whole microseconds: the limiter's float arithmetic otherwise drifts
	// by nanoseconds (4.899999999 s), which no caller can use.
	d := r.DelayFrom(t).Round(time.Microsecond)
	if d <= 0 {
		return t, nil
	}
	if err := sleep(ctx, d); err != nil {
		r.CancelAt(now())
		return time.Time{}, err
	}
	return t.Add(d), nil
}

func (p *batchPacer) clock(e *toolkit.Env) (func() time.Time, func(context.Context, time.Duration) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now, sleep := p.now, p.sleep
	if now == nil {
		now = e.Now
	}
	if sleep == nil {
		sleep = e.Sleep
	}
	return now, sleep
}

// waitStart paces one StartQuery of the gate keyed key.
func (p *batchPacer) waitStart(ctx context.Context, e *toolkit.Env, key string, g *batchGate) error {
	slot, err := p.wait(ctx, e, g.start)
	if err != nil {
		return err
	}
	p.mu.Lock()
	tr := p.trace
	p.mu.Unlock()
	if tr != nil {
		tr(key, slot)
	}
	return nil
}

// batchPacerFor returns the pacer of e's handler: shared by every batch
// call it serves, however many times its tool list is built, and gone with
// it after a config reload (logs state, state.go).
func batchPacerFor(e *toolkit.Env) *batchPacer { return stateOf(e).pacer }

// callerIdentityKey names the credentials identity of a call (the access
// key ID, or the server profile) without retrieving anything secret; it
// keys per-identity throttles.
func callerIdentityKey(ctx context.Context, e *toolkit.Env, profile string) (string, error) {
	_, id, err := e.CallerCredentials(ctx, profile)
	return id, err
}
