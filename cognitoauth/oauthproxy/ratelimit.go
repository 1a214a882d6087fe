package oauthproxy

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/keylimit"
)

// RateLimit bounds the work anyone can cause without credentials:
// registrations, authorization requests (each renders a page and may
// fetch a client metadata document) and those fetches (an outbound
// request to a URL the caller chose). Each counts one against the
// caller's address.
type RateLimit struct {
	// Store holds one bucket per address. Nil: no limit.
	Store *keylimit.Store
	// ClientIP is the caller's address. Default: the host of
	// r.RemoteAddr. Behind a proxy, give the address the proxy vouches
	// for (Caddy: the client_ip variable, set from trusted_proxies).
	ClientIP func(*http.Request) string
}

// limitKey is the bucket of an address: IPv4 addresses one each, IPv6 by
// /64 prefix, since one host commonly holds a whole /64 and could
// otherwise take a fresh budget per address.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// admit charges one request of r's address. It returns 0 when admitted,
// else the whole seconds to wait (at least 1).
func (s *Server) admit(r *http.Request, what string) int64 {
	rl := s.cfg.RateLimit
	if rl.Store == nil {
		return 0
	}
	ip := remoteHost(r)
	if rl.ClientIP != nil {
		ip = rl.ClientIP(r)
	}
	wait := rl.Store.Take(limitKey(ip), s.now())
	if wait <= 0 {
		return 0
	}
	retry := max(1, int64(math.Ceil(wait.Seconds())))
	// Debug, not info: a caller hammering past its limit must not be able
	// to flood the logs either.
	if c := s.log.Check(zapcore.DebugLevel, "rate limited"); c != nil {
		c.Write(zap.String("endpoint", what), zap.Int64("retry_after", retry))
	}
	return retry
}

// rateLimitedError is a request refused by the limit.
type rateLimitedError struct{ retryAfter int64 }

func (e *rateLimitedError) Error() string { return "rate limited" }

func setRetryAfter(w http.ResponseWriter, seconds int64) {
	w.Header().Set("Retry-After", strconv.FormatInt(seconds, 10))
}

// tooManyJSON answers a client endpoint over the limit: 429, Retry-After
// and an RFC 6749 error (temporarily_unavailable is the registered code
// for a server that can't take the request now).
func tooManyJSON(w http.ResponseWriter, retry int64) {
	setRetryAfter(w, retry)
	writeOAuthError(w, http.StatusTooManyRequests, "temporarily_unavailable",
		"too many requests from your network address; retry after "+strconv.FormatInt(retry, 10)+" seconds")
}

// tooManyPage answers a browser over the limit: 429, Retry-After and an
// error page (never a redirect).
func (s *Server) tooManyPage(w http.ResponseWriter, retry int64) {
	setRetryAfter(w, retry)
	s.showError(w, http.StatusTooManyRequests, "Too many sign-in attempts",
		"Too many sign-in attempts came from your network. Try again in "+strconv.FormatInt(retry, 10)+" seconds.")
}
