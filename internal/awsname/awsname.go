// Package awsname derives the name under which a verified user appears in
// AWS: the STS role session name and SourceIdentity of the sessions vended
// for them (cognito_auth's role_arn and assume_role, cloudwatch_mcp's
// account chaining) and their developer user identifier in a Cognito
// identity pool (developer_provider).
//
// A token's sub is unique only within its issuer, so the name is derived
// from both: two issuers (two user pools, or Cognito and Okta) that share a
// pool or role and happen to issue the same sub still get two AWS
// identities. Both modules use this one function so that a chained session
// repeats the SourceIdentity AWS persisted from the first one (AWS refuses
// to change it).
package awsname

import (
	"crypto/sha256"
	"encoding/base64"
)

const (
	// MaxLen is STS's limit for RoleSessionName and SourceIdentity.
	MaxLen = 64
	// hashLen base64url characters carry 96 bits of the hash: collisions
	// are out of reach even for an issuer whose subs an attacker can pick.
	hashLen = 16
	// readableLen is what is left of MaxLen for the sub itself.
	readableLen = MaxLen - 1 - hashLen
)

// Session returns "<sub>@<hash>": the sub as far as it fits in 47
// characters of [A-Za-z0-9_+=.@-] (every other character becomes '-'),
// so a human reading CloudTrail recognises the user, then '@' and the
// first 16 base64url characters of SHA-256(issuer NUL sub), which makes
// the name unique per issuer and full sub whatever was cut or replaced.
// The result is 17 to 64 characters, valid as an STS RoleSessionName,
// SourceIdentity and session tag value, and as a Cognito developer user
// identifier. For example, the sub 3f1b2c4d-1111-2222-3333-444455556666
// of a Cognito user pool becomes 3f1b2c4d-1111-2222-3333-444455556666@
// followed by 16 characters that depend on the pool.
//
// To compute it elsewhere (a policy condition on aws:SourceIdentity):
//
//	printf '%s\0%s' "$ISS" "$SUB" | openssl dgst -sha256 -binary | basenc --base64url | cut -c1-16
func Session(issuer, sub string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + sub))
	b := make([]byte, 0, MaxLen)
	for _, r := range sub {
		if len(b) == readableLen {
			break
		}
		if r < 0x80 && allowed[r] {
			b = append(b, byte(r))
		} else {
			b = append(b, '-')
		}
	}
	b = append(b, '@')
	return string(base64.RawURLEncoding.AppendEncode(b, sum[:12]))
}

// allowed is STS's [\w+=,.@-] without ',', which session tag values do not
// accept.
var allowed = func() (a [0x80]bool) {
	for c := 'a'; c <= 'z'; c++ {
		a[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		a[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		a[c] = true
	}
	for _, c := range "_+=.@-" {
		a[c] = true
	}
	return a
}()
