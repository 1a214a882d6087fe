// Package testwait waits, in tests, for what a test cannot be told
// directly: background work finishing, a certificate issued in the
// background, a log line written after the response went out. It polls
// instead of sleeping a guessed time, and its deadline only ends a test
// that would otherwise hang: a loaded machine makes things slow, not wrong.
package testwait

import (
	"testing"
	"time"
)

// Deadline is how long Until polls before it gives up.
const Deadline = time.Minute

// Until polls cond every 10 ms until it holds, and fails t if it does not
// within Deadline. what names the awaited thing in the failure.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	until(t, what, cond, Deadline)
}

func until(t testing.TB, what string, cond func() bool, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s after %v", what, deadline)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
