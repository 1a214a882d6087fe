package testwait

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUntilReturnsOnceTheConditionHolds: background work becomes visible
// without a guessed sleep.
func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var done atomic.Bool
	go func() {
		time.Sleep(30 * time.Millisecond) // some background work
		done.Store(true)
	}()
	var seen bool
	Until(t, "the goroutine", func() bool { seen = done.Load(); return seen })
	if !seen {
		t.Fatal("returned before the condition held")
	}
}

// fatalRecorder records Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	failure string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.failure = fmt.Sprintf(format, args...) }

// TestUntilFailsNamingWhat: a condition that never holds fails the test
// with what it waited for, once the deadline passed.
func TestUntilFailsNamingWhat(t *testing.T) {
	r := &fatalRecorder{TB: t}
	began := time.Now()
	until(r, "the answer", func() bool { return false }, 50*time.Millisecond)
	if !strings.Contains(r.failure, "gave up waiting for the answer") {
		t.Fatalf("failure %q", r.failure)
	}
	if time.Since(began) < 50*time.Millisecond {
		t.Fatal("gave up before the deadline")
	}
}
