package cognitoauth

import (
	"fmt"
	"testing"
	"time"
)

// The cache benchmarks below measure hits under parallel load, the steady
// state of a busy server: one hot user (every request on one entry) and
// 1,000 users cycling (P7 of internal/bench). Run with -cpu 2,8 to see
// how lookups scale when more goroutines than cores contend.

func BenchmarkTokenCacheHitParallel(b *testing.B) {
	for _, users := range []int{1, 1000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			c := newTokenCache(defaultCacheSize)
			now := time.Now()
			keys := make([]tokenKey, users)
			for i := range keys {
				keys[i] = hashToken(fmt.Sprintf("token-%d", i))
				c.put(keys[i], &Identity{Subject: fmt.Sprint(i), ExpiresAt: now.Add(time.Hour)}, now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if c.get(keys[i%len(keys)], now) == nil {
						b.Error("miss")
						return
					}
					i += 7
				}
			})
		})
	}
}

func BenchmarkCredCacheHitParallel(b *testing.B) {
	for _, users := range []int{1, 1000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			c := newCredCache(defaultCredentialsCacheSize)
			now := time.Now()
			keys := make([]credKey, users)
			for i := range keys {
				keys[i] = credKey{issuer: "https://issuer.example", subject: fmt.Sprintf("user-%d", i), scope: "role_arn\x00arn"}
				c.put(keys[i], &Credentials{accessKeyID: "AKIA", expires: now.Add(time.Hour)}, now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if cr, fresh := c.get(keys[i%len(keys)], now, 5*time.Minute); cr == nil || !fresh {
						b.Error("miss")
						return
					}
					i += 7
				}
			})
		})
	}
}
