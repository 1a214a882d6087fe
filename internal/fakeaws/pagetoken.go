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
