package oauthproxy

import (
	"context"
	"errors"
	"sync"
	"time"
)

// UsedCodes makes the proxy's authorization codes single-use.
//
// A code is a sealed record, so by itself it could be redeemed as often
// as it is presented until it expires. Two things stop a replay:
//
//  1. The code wraps the upstream's authorization code, which the
//     upstream (Cognito, any OAuth server) accepts once. A replayed proxy
//     code reaches the upstream with a spent code and gets invalid_grant,
//     on whichever instance of a cluster it is presented.
//  2. Before redeeming, the token endpoint claims the code's identifier
//     here. The in-process default remembers identifiers until the code
//     expires (at most codeLifetime), so a replay to the same instance is
//     refused without a call upstream, even against an upstream that
//     would wrongly accept a code twice.
//
// A cluster can plug in a shared implementation (e.g. Redis SET NX PX)
// so that point 2 holds across instances too.
type UsedCodes interface {
	// Claim records id as used until exp. It reports false when id was
	// already claimed, and an error when it cannot tell (then the code
	// is refused: single use fails closed).
	Claim(ctx context.Context, id string, exp time.Time) (bool, error)
}

// errUsedCodesFull is the in-process set refusing to grow further.
var errUsedCodesFull = errors.New("too many codes in flight")

// memoryUsedCodes is the in-process UsedCodes: a map of identifiers to
// expiries, swept of expired entries as it grows and capped, so its size
// is bounded by the code lifetime times the login rate.
type memoryUsedCodes struct {
	mu      sync.Mutex
	ids     map[string]time.Time
	max     int
	sweepAt int
	now     func() time.Time
}

const (
	defaultUsedCodesMax = 1 << 20
	minSweep            = 1024
)

// NewMemoryUsedCodes returns the in-process UsedCodes, holding at most max
// unexpired identifiers (0: about a million, 1 KiB of logins per second
// for the code lifetime).
func NewMemoryUsedCodes(max int, now func() time.Time) UsedCodes {
	if max <= 0 {
		max = defaultUsedCodesMax
	}
	if now == nil {
		now = time.Now
	}
	return &memoryUsedCodes{ids: map[string]time.Time{}, max: max, sweepAt: minSweep, now: now}
}

func (m *memoryUsedCodes) Claim(_ context.Context, id string, exp time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e, ok := m.ids[id]; ok && now.Before(e) {
		return false, nil
	}
	if len(m.ids) >= m.sweepAt || len(m.ids) >= m.max {
		for k, e := range m.ids {
			if !now.Before(e) {
				delete(m.ids, k)
			}
		}
		m.sweepAt = max(minSweep, 2*len(m.ids))
	}
	if len(m.ids) >= m.max {
		return false, errUsedCodesFull
	}
	m.ids[id] = exp
	return true, nil
}

func (m *memoryUsedCodes) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids)
}
