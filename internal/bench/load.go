package main

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// newClient is a keep-alive client sized for the load's concurrency.
func newClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// rps runs conc workers, each sending mk(worker)'s requests back to back for
// d, and returns successful requests per second. Any non-2xx answer is an
// error: a benchmark that measures failures measures nothing.
func rps(client *http.Client, conc int, d time.Duration, mk func(worker int) *http.Request) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Do(mk(w))
				if err != nil {
					if ctx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					once.Do(func() { firstErr = &statusError{resp.StatusCode} })
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), firstErr
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "unexpected HTTP status " + http.StatusText(e.code) }

// p50 of durations, in milliseconds.
func p50ms(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// timedP50 runs f n times in a row and returns the median time, in
// milliseconds; the first error stops it.
func timedP50(n int, f func() error) (float64, error) {
	d := make([]time.Duration, n)
	for i := range d {
		t := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		d[i] = time.Since(t)
	}
	return p50ms(d), nil
}

// rpsChecked is rps for measures that count failures instead of stopping
// at the first: every answer goes through check (nil = good), and the
// first few failures are kept for the report.
func rpsChecked(client *http.Client, conc int, d time.Duration, mk func(worker int) *http.Request,
	check func(*http.Response, []byte) error) (rate float64, failures int64, samples []string) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, bad atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Do(mk(w))
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil {
						err = check(resp, body)
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					bad.Add(1)
					mu.Lock()
					if len(samples) < 3 {
						samples = append(samples, err.Error())
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), bad.Load(), samples
}

// burst sends n requests at once (each on its own connection, released
// together) and returns how many answered 2xx.
func burst(n int, mk func(i int) *http.Request) (ok int, firstErr error) {
	client := newClient(n)
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var good atomic.Int64
	var once sync.Once
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mk(i)
			<-gate
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = &statusError{resp.StatusCode}
				}
			}
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			good.Add(1)
		}()
	}
	close(gate)
	wg.Wait()
	return int(good.Load()), firstErr
}
