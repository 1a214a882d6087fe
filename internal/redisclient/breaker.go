package redisclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned, without any network I/O, for commands sent
// while the breaker is open: Redis failed recently and is being probed.
var ErrUnavailable = errors.New("redis unavailable: it failed recently and is being retried")

// Breaker timings: after a failure, commands fail fast for minOpen; each
// failed probe doubles that, up to maxOpen. So a Redis that comes back is
// used again within maxOpen, and a lost one costs one command at most
// every maxOpen a bounded wait (the timeouts), not every request.
const (
	minOpen = 250 * time.Millisecond
	maxOpen = 4 * time.Second
	// probeTimeout frees the probe slot if its result never arrives.
	probeTimeout = 5 * time.Second
)

// breaker is a go-redis Hook: every command and pipeline of the shared
// client asks Allow first and reports its result, so all users of a
// Redis see the same state and a lost Redis holds at most one request at
// a time. (Not a go-redis Limiter: the handshake of a new connection runs
// nested commands under the same Limiter, which would refuse the probe's
// own HELLO. The hook lets commands nested under the probe through by
// their context.)
//
// closed: everything goes through. open (until): everything fails fast
// with ErrUnavailable. After until, the first caller is let through as
// the probe; its success closes the breaker, its failure reopens it for
// twice as long.
type breaker struct {
	now func() time.Time
	// isOpen mirrors open, so the path of a healthy Redis takes no lock.
	isOpen atomic.Bool

	mu        sync.Mutex
	open      bool
	until     time.Time
	backoff   time.Duration
	probing   bool
	probeAt   time.Time
	failures  uint64 // transitions from closed to open
	lastError string
}

func newBreaker(now func() time.Time) *breaker {
	if now == nil {
		now = time.Now
	}
	return &breaker{now: now}
}

// probeKey marks the context of the probe, so the commands of a new
// connection's handshake nested under it are let through.
type probeKey struct{}

// DialHook implements redis.Hook.
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, err := b.admit(ctx)
		if err != nil {
			cmd.SetErr(err)
			return err
		}
		err = next(ctx, cmd)
		b.ReportResult(err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, err := b.admit(ctx)
		if err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		err = next(ctx, cmds)
		b.ReportResult(err)
		return err
	}
}

// admit is Allow for a command with ctx; the probe's context is marked.
func (b *breaker) admit(ctx context.Context) (context.Context, error) {
	if !b.isOpen.Load() || ctx.Value(probeKey{}) != nil {
		return ctx, nil
	}
	if err := b.Allow(); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, probeKey{}, true), nil
}

// Allow lets a command through, or refuses it with ErrUnavailable.
func (b *breaker) Allow() error {
	if !b.isOpen.Load() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return nil
	}
	now := b.now()
	if now.Before(b.until) {
		return ErrUnavailable
	}
	if b.probing && now.Sub(b.probeAt) < probeTimeout {
		return ErrUnavailable
	}
	b.probing, b.probeAt = true, now
	return nil
}

// ReportResult records a command's outcome.
func (b *breaker) ReportResult(err error) {
	failed := isFailure(err)
	if !failed && !b.isOpen.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		if b.open {
			b.open, b.probing, b.backoff = false, false, 0
			b.isOpen.Store(false)
		}
		return
	}
	switch {
	case !b.open:
		b.backoff = minOpen
		b.failures++
	case b.probing:
		b.backoff = min(2*b.backoff, maxOpen)
	}
	b.open, b.probing = true, false
	b.isOpen.Store(true)
	b.until = b.now().Add(b.backoff)
	b.lastError = err.Error()
}

// state is a snapshot for Client.Status.
func (b *breaker) state() (up bool, failures uint64, lastError string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.open, b.failures, b.lastError
}

// isFailure tells a Redis that cannot serve (network errors, timeouts,
// an exhausted pool, a server still loading its data) from answers
// (redis.Nil, a script's or a command's error reply), which prove it
// works.
func isFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range []string{"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// IsUnavailable reports whether err means Redis could not be used (as
// opposed to an error reply to a command): callers fall back, or answer
// 503, on it.
func IsUnavailable(err error) bool { return isFailure(err) }

// Interface guards
var _ redis.Hook = (*breaker)(nil)
