package cognitoauth

import (
	"sync"
	"time"
)

// defaultCacheIdle is how long an identity's verified token and vended
// credentials stay cached without a request when cache_idle is unset. It
// matches cloudwatch_mcp's default session idle timeout: a user who went
// away costs nothing after that, and one who comes back pays one
// verification and one exchange.
const defaultCacheIdle = 30 * time.Minute

// idleSweeper forgets cache entries nobody has used for idle. Without it
// both caches hold each user who ever called until the token or the
// credentials expire (an hour, typically), which for many short visits is
// most of the memory a busy edge holds.
type idleSweeper struct {
	stop chan struct{}
	done sync.WaitGroup
}

// startIdleSweeper runs the sweep every quarter of cache_idle (within
// 1 s .. 1 min), so an entry goes at most a quarter late.
func (m *CognitoAuth) startIdleSweeper(idle time.Duration) {
	if idle <= 0 || (m.cache == nil && m.Vending.credCache == nil) {
		return
	}
	s := &idleSweeper{stop: make(chan struct{})}
	m.sweeper = s
	now := m.now
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(min(max(idle/4, time.Second), time.Minute))
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				m.forgetIdle(now().Add(-idle))
			}
		}
	}()
}

// forgetIdle drops the entries of both caches last used before cutoff.
func (m *CognitoAuth) forgetIdle(cutoff time.Time) {
	if m.cache != nil {
		m.cache.forgetIdle(cutoff)
	}
	// The credentials cache may be shared with other configs (vendshare.go);
	// each config's sweeper applies its own cache_idle to it, and the
	// shortest wins, which is what a shared cache can honour.
	if m.Vending.credCache != nil {
		m.Vending.credCache.forgetIdle(cutoff)
	}
}

// stopIdleSweeper ends the sweep goroutine and waits for it (Cleanup).
func (m *CognitoAuth) stopIdleSweeper() {
	if m.sweeper == nil {
		return
	}
	close(m.sweeper.stop)
	m.sweeper.done.Wait()
	m.sweeper = nil
}
