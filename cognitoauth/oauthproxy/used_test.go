package oauthproxy

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryUsedCodes(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	u := NewMemoryUsedCodes(2000, clock.now).(*memoryUsedCodes)
	ctx := context.Background()
	exp := clock.now().Add(codeLifetime)
	if ok, err := u.Claim(ctx, "a", exp); !ok || err != nil {
		t.Fatal("first claim refused")
	}
	if ok, _ := u.Claim(ctx, "a", exp); ok {
		t.Fatal("second claim accepted")
	}
	// Bounded by expiry: after the codes expire, the set sweeps itself.
	for i := range 1500 {
		if ok, err := u.Claim(ctx, fmt.Sprint(i), exp); !ok || err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	clock.advance(codeLifetime + time.Second)
	for i := range 1500 {
		if ok, err := u.Claim(ctx, fmt.Sprint("b", i), clock.now().Add(codeLifetime)); !ok || err != nil {
			t.Fatalf("claim b%d: %v", i, err)
		}
	}
	if n := u.len(); n > 1600 {
		t.Fatalf("%d identifiers kept: expired ones were not swept", n)
	}
	// Full of live codes: refuse (fail closed) rather than forget.
	for i := 0; ; i++ {
		ok, err := u.Claim(ctx, fmt.Sprint("c", i), clock.now().Add(codeLifetime))
		if err != nil {
			break
		}
		if !ok || i > 2000 {
			t.Fatal("the set grew past its cap")
		}
	}
}
