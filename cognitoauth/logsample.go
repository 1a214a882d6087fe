package cognitoauth

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const (
	// logSampleInterval is how often one identity (or, without one, one
	// status and reason) may write an INFO line about its refused requests.
	logSampleInterval = time.Minute
	// logSampleKeys bounds the identities tracked at once; beyond it, all
	// others share one budget, so a flood writes at most logSampleKeys+1
	// lines per interval whatever its size.
	logSampleKeys = 1000
)

// logSampler lets the first INFO line per key through each interval and
// counts the rest, which the next line reports as "suppressed". An operator
// still sees every refused identity once a minute, and a client retrying a
// 403 or 429 in a tight loop cannot flood the log. It keeps no goroutine:
// expired keys are dropped when the table fills up.
type logSampler struct {
	mu   sync.Mutex
	keys map[string]*sampleEntry
}

type sampleEntry struct {
	until      time.Time // lines are suppressed until then
	suppressed int
}

// overflowKey is the shared budget of keys beyond logSampleKeys.
const overflowKey = "\x00overflow"

func newLogSampler() *logSampler {
	return &logSampler{keys: make(map[string]*sampleEntry)}
}

// allow reports whether a line for key may be written at now and, if so,
// how many lines for it were suppressed since the last one written.
func (s *logSampler) allow(key string, now time.Time) (ok bool, suppressed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.keys[key]
	if e == nil && len(s.keys) >= logSampleKeys {
		for k, old := range s.keys {
			if !now.Before(old.until) {
				delete(s.keys, k)
			}
		}
		if len(s.keys) >= logSampleKeys {
			key = overflowKey
			e = s.keys[key]
		}
	}
	if e == nil {
		e = &sampleEntry{}
		s.keys[key] = e
	}
	if now.Before(e.until) {
		e.suppressed++
		return false, 0
	}
	suppressed, e.suppressed = e.suppressed, 0
	e.until = now.Add(logSampleInterval)
	return true, suppressed
}

// clientIP is the caller's address as Caddy determined it, honouring the
// server's trusted_proxies (the access log's client_ip), without a port.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
