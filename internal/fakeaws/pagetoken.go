package fakeaws

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Page tokens are opaque to clients; inside they name the listing and the
// offset, so a token from one listing is refused by another.
func encodePageToken(listing string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + ":" + strconv.Itoa(offset)))
}

// decodePageToken returns the offset a token of listing carries; ok is
// false for a token that is malformed or belongs to another listing.
func decodePageToken(tok, listing string) (offset int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, found := strings.CutPrefix(string(b), listing+":")
	n, err := strconv.Atoi(rest)
	if !found || err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// encodeCursorToken is a page token holding several positions (e.g. a
// snapshot bound and an offset) for listing.
func encodeCursorToken(listing string, vals ...int64) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(listing + ":" + strings.Join(parts, ",")))
}

// decodeCursorToken returns the n non-negative positions a token of
// listing carries; ok is false for anything else.
func decodeCursorToken(tok, listing string, n int) ([]int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, false
	}
	rest, found := strings.CutPrefix(string(b), listing+":")
	parts := strings.Split(rest, ",")
	if !found || len(parts) != n {
		return nil, false
	}
	out := make([]int64, n)
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}
