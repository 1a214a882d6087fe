package fakeaws

import (
	"math"
	"time"
)

// RateLimit makes an operation answer ThrottlingException above a request
// rate, as an AWS account's per-operation TPS quota does: a token bucket of
// Burst requests refilled at PerSecond on the fake's clock, shared by every
// caller (the quota is per account and region; the fake is one account).
// A throttled request is recorded as a call, as AWS counts it.
type RateLimit struct {
	PerSecond float64
	Burst     int
	// Code is the error code; default ThrottlingException ("Rate
	// exceeded"). LimitExceededException is the other one Logs uses.
	Code string
}

type rateBucket struct {
	lim       RateLimit
	tokens    float64
	last      time.Time
	throttled int
}

// SetRateLimit limits op ("GetQueryResults" or "logs.GetQueryResults");
// a zero PerSecond removes the limit.
func (f *Fake) SetRateLimit(op string, rl RateLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rates == nil {
		f.rates = map[string]*rateBucket{}
	}
	if rl.PerSecond <= 0 {
		delete(f.rates, op)
		return
	}
	if rl.Burst < 1 {
		rl.Burst = 1
	}
	if rl.Code == "" {
		rl.Code = "ThrottlingException"
	}
	f.rates[op] = &rateBucket{lim: rl, tokens: float64(rl.Burst), last: f.clock()}
}

// Throttled returns how many requests of op the rate limit refused.
func (f *Fake) Throttled(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.rates[op]; b != nil {
		return b.throttled
	}
	return 0
}

// takeRate spends a token of the op's bucket; it returns the error to
// answer when there is none. f.mu is held.
func (f *Fake) takeRateLocked(service, op string, now time.Time) *Error {
	b := f.rates[service+"."+op]
	if b == nil {
		b = f.rates[op]
	}
	if b == nil {
		return nil
	}
	// A clock set back (SetClock after SetRateLimit) restarts the refill.
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(b.lim.Burst), b.tokens+dt*b.lim.PerSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	b.throttled++
	return Errorf(b.lim.Code, "Rate exceeded")
}
