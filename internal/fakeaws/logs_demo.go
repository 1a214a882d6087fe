package fakeaws

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The demo's log events (SeedDemo) and the generator that keeps a group
// alive for Live Tail (StartDemoGenerator).

// DemoLiveTailGroup is the demo's live log group: SeedDemo fills its last
// hour and a half, StartDemoGenerator keeps appending to it.
const DemoLiveTailGroup = "/ecs/checkout-web"

// StartGenerator appends gen's events to group every interval (wall
// clock), passing a counter and the fake clock, until stop is called; stop
// waits for the generator to finish and may be called more than once.
func (l *Logs) StartGenerator(group string, interval time.Duration, gen func(i int, now time.Time) []LogEvent) (stop func(), err error) {
	l.mu.Lock()
	found := l.findGroup(group) != nil
	l.mu.Unlock()
	if !found {
		return nil, fmt.Errorf("fakeaws: no log group %q to generate into", group)
	}
	if interval <= 0 {
		return nil, errors.New("fakeaws: generator interval must be positive")
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-l.f.closing:
				return
			case <-tick.C:
				_ = l.AppendEvents(group, gen(i, l.f.now())...)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}, nil
}

// StartDemoGenerator writes checkout-web access log lines (JSON, with a
// slow request now and then, an error burst every 45 ticks) into
// DemoLiveTailGroup every interval; SeedDemo must have run.
func (l *Logs) StartDemoGenerator(interval time.Duration) (stop func(), err error) {
	return l.StartGenerator(DemoLiveTailGroup, interval, func(i int, now time.Time) []LogEvent {
		if i%45 == 44 {
			out := make([]LogEvent, 0, 12)
			for k := range 12 {
				out = append(out, demoAccessLine(1000*i+k, now, true))
			}
			return out
		}
		return []LogEvent{demoAccessLine(i, now, false)}
	})
}

var demoPaths = []string{"/api/cart", "/api/checkout", "/api/products/42", "/api/orders", "/health", "/api/cart/items"}

// demoAccessLine is the n-th checkout-web access log line: mostly fast
// 200s, every 9th slow, every 17th (or every one in a burst) a 502 from the
// payment processor.
func demoAccessLine(n int, t time.Time, failing bool) LogEvent {
	h := uint32(n)*2654435761 + 12345 // a cheap, repeatable scatter
	path := demoPaths[h%uint32(len(demoPaths))]
	level, status, latency, msg := "INFO", 200, 20+int(h%180), "request completed"
	switch {
	case failing || n%17 == 16:
		level, status, latency, msg = "ERROR", 502, 3000+int(h%40), "upstream payment-processor timed out"
		path = "/api/checkout"
	case n%9 == 8:
		level, latency, msg = "WARN", 1200+int(h%1300), "slow request"
	}
	method := "GET"
	if strings.Contains(path, "checkout") {
		method = "POST"
	}
	return LogEvent{
		Stream:  fmt.Sprintf("web/checkout-web/%08x", 0x5a1c0000+uint32(n%2)),
		Time:    t,
		Message: fmt.Sprintf(`{"level":"%s","method":"%s","path":"%s","status":%d,"latency":%d,"requestId":"%08x-%04x","msg":"%s"}`, level, method, path, status, latency, h, n%65536, msg),
	}
}

// seedDemoEvents adds the demo's events: the live group's last 90
// minutes, Lambda lines for checkout-api and payment-processor that the
// anomalies and Insights results speak of, and orders-service events with
// customer e-mail addresses and card numbers that its data protection
// masks. Callers must not hold l.mu.
func (l *Logs) seedDemoEvents(now time.Time) {
	var web []LogEvent
	for i := range 180 {
		web = append(web, demoAccessLine(i, now.Add(-90*time.Minute+time.Duration(i)*30*time.Second), false))
	}
	_ = l.AppendEvents(DemoLiveTailGroup, web...)

	var api []LogEvent
	for i := range 40 {
		at := now.Add(-time.Duration(40-i) * 90 * time.Second)
		req := fmt.Sprintf("8f2c0b9e-7d1a-4c3e-b6a5-%012x", 0x1e2f3a4b5c00+i)
		stream := "2025/01/01/[$LATEST]" + fmt.Sprintf("%032x", 0xa1b2c3+i/10)
		api = append(api,
			LogEvent{Stream: stream, Time: at, Message: "START RequestId: " + req + " Version: $LATEST"},
			LogEvent{Stream: stream, Time: at.Add(40 * time.Millisecond), Message: fmt.Sprintf("INFO order %d accepted total=%d.90 currency=EUR", 58180+i, 19+i*7%180)},
			LogEvent{Stream: stream, Time: at.Add(212 * time.Millisecond), Message: fmt.Sprintf("REPORT RequestId: %s Duration: %d.41 ms Billed Duration: %d ms Memory Size: 512 MB Max Memory Used: 91 MB", req, 180+i%60, 181+i%60)},
		)
	}
	_ = l.AppendEvents("/aws/lambda/checkout-api", api...)

	var pay []LogEvent
	for i := range 50 {
		at := now.Add(-95*time.Minute + time.Duration(i)*109*time.Second)
		issuer := []string{"visa-gw-2", "mc-gw-1", "amex-gw-1"}[i%3]
		pay = append(pay, LogEvent{Stream: "2025/01/01/[$LATEST]7f00d1", Time: at, Message: fmt.Sprintf("ERROR PaymentDeclined: card issuer %s timed out after %d ms", issuer, 3000+i%9)})
	}
	_ = l.AppendEvents("/aws/lambda/payment-processor", pay...)

	customers := []string{"maria.garcia@example.com", "li.wei@example.org", "sam.okafor@example.net"}
	var orders []LogEvent
	for i := range 30 {
		at := now.Add(-time.Duration(30-i) * 2 * time.Minute)
		orders = append(orders, LogEvent{Stream: "orders/orders-service/3c1f", Time: at, Message: fmt.Sprintf(
			`{"level":"INFO","event":"order.placed","orderId":"%d","customer":{"email":"%s"},"payment":{"card":"4111 1111 1111 %04d"},"total":%d.90}`,
			58200+i, customers[i%3], 1000+i, 20+i*3)})
	}
	trace := make([]string, 0, 40)
	for k := range 40 {
		trace = append(trace, fmt.Sprintf("\tat com.example.orders.PaymentClient.call(PaymentClient.java:%d)", 100+k))
	}
	orders = append(orders, LogEvent{Stream: "orders/orders-service/3c1f", Time: now.Add(-3 * time.Minute), Message: fmt.Sprintf(
		"ERROR order 58231 for %s failed: java.net.SocketTimeoutException: Read timed out\n%s", customers[0], strings.Join(trace, "\n"))})
	_ = l.AppendEvents("/ecs/orders-service", orders...)
}
