package logs

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// vclock is a virtual clock for tests with concurrent waits: time moves
// only when every participant sleeps, straight to the earliest wake-up, so
// a run of minutes of waiting takes milliseconds and does not depend on
// the machine's speed. A participant blocked elsewhere (on a wait another
// participant's sleep holds up, e.g. a shared refresh) would stall it; the
// stall is noticed after stallAfter of real time and the clock moves on.
// Bounds stated in virtual time still hold then: the code reads the clock
// for every decision.
type vclock struct {
	mu       sync.Mutex
	t        time.Time
	active   int
	sleepers []*vsleeper
	kick     chan struct{}
	stop     chan struct{}
}

type vsleeper struct {
	at time.Time
	ch chan struct{}
}

const stallAfter = 50 * time.Millisecond

// withVClock makes te and its fake share a virtual clock with n
// participants; each calls done when it finishes.
func withVClock(te *mcptest.Env, n int) *vclock {
	c := &vclock{t: time.Unix(1_750_000_000, 0), active: n, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	te.Now, te.Sleep = c.now, c.sleep
	te.Fake.SetClock(c.now)
	go c.stallWatch()
	return c
}

func (c *vclock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *vclock) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	s := &vsleeper{at: c.t.Add(d), ch: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.advanceLocked()
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	select {
	case <-s.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, o := range c.sleepers {
			if o == s {
				c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// done removes a participant.
func (c *vclock) done() {
	c.mu.Lock()
	c.active--
	c.advanceLocked()
	c.mu.Unlock()
}

func (c *vclock) close() { close(c.stop) }

// advanceLocked moves time to the earliest wake-up once everyone sleeps.
func (c *vclock) advanceLocked() {
	if len(c.sleepers) == 0 || len(c.sleepers) < c.active {
		return
	}
	c.wakeEarliestLocked()
}

func (c *vclock) wakeEarliestLocked() {
	sort.Slice(c.sleepers, func(i, j int) bool { return c.sleepers[i].at.Before(c.sleepers[j].at) })
	if at := c.sleepers[0].at; at.After(c.t) {
		c.t = at
	}
	rest := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.at.After(c.t) {
			rest = append(rest, s)
		} else {
			close(s.ch)
		}
	}
	c.sleepers = rest
}

// stallWatch moves time when sleepers wait and nothing happened for
// stallAfter (a participant is blocked behind a sleeper).
func (c *vclock) stallWatch() {
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
			continue
		case <-time.After(stallAfter):
			c.mu.Lock()
			if len(c.sleepers) > 0 {
				c.wakeEarliestLocked()
			}
			c.mu.Unlock()
		}
	}
}
