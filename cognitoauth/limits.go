package cognitoauth

import (
	"net/http"
	"unicode/utf8"
)

// maxAuthorizationBytes bounds the Authorization header we look at. It is
// checked before the header is split or the token hashed, so an oversized
// header costs one length comparison. Twice maxTokenBytes: a header
// between the two is still read far enough to say "token too large".
const maxAuthorizationBytes = 16 << 10

// checkAuthorization refuses Authorization headers we will not parse: too
// large (431), or sent more than once (400), which RFC 9110 does not allow
// for a singleton field and which would let a proxy and us disagree on
// which credential counts.
func checkAuthorization(r *http.Request) *authError {
	vals := r.Header.Values("Authorization")
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	if n > maxAuthorizationBytes {
		return &authError{status: http.StatusRequestHeaderFieldsTooLarge, code: "invalid_request",
			reason: "authorization header too large"}
	}
	if len(vals) > 1 {
		return &authError{status: http.StatusBadRequest, code: "invalid_request",
			reason: "more than one Authorization header"}
	}
	return nil
}

// maxLogValueBytes bounds any request-derived string we put in a log line.
const maxLogValueBytes = 256

// logValue shortens request-derived text for logging, so no log line
// carries unbounded input from a caller. zap escapes what remains.
func logValue(s string) string {
	if len(s) <= maxLogValueBytes {
		return s
	}
	cut := maxLogValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}
