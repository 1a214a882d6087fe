package oauthproxy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

// newVerifier returns a PKCE code verifier: 32 random bytes, 43 characters
// (RFC 7636 §4.1).
func newVerifier() string { return randomToken(32) }

// s256 is the S256 code challenge of a verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(sum[:])
}

// validChallenge accepts what an S256 challenge is: 43 base64url
// characters, a SHA-256 digest.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := b64.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// verifierMatches reports whether verifier is the one challenge was made
// from.
func verifierMatches(verifier, challenge string) bool {
	return validVerifier(verifier) && subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(challenge)) == 1
}

// randomToken returns n random bytes as base64url text.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}
