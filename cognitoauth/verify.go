package cognitoauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// maxTokenBytes bounds the work an unauthenticated caller can cause;
// real Cognito and OIDC tokens stay well below it.
const maxTokenBytes = 8 << 10

// verifiers holds the allow-listed algorithms. Anything else, in particular
// "none" and every HS*, is rejected before a key is even looked up, so the
// token header can never pick a weaker algorithm than the key allows.
var verifiers = func() map[string]jws.Verifier {
	m := map[string]jws.Verifier{}
	for _, alg := range []jwa.SignatureAlgorithm{
		jwa.RS256, jwa.RS384, jwa.RS512,
		jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512,
		jwa.EdDSA,
	} {
		v, err := jws.NewVerifier(alg)
		if err != nil {
			panic("cognitoauth: verifier " + alg.String() + ": " + err.Error())
		}
		m[alg.String()] = v
	}
	return m
}()

// authError is a rejected request. reason is short, safe to show to the
// caller and never contains the token; cause is for logs only.
type authError struct {
	status int    // 401, 403 or 503
	code   string // RFC 6750 error code, empty for a bare challenge
	reason string
	id     *Identity // set once the signature has been verified
	cause  error
}

func (e *authError) Error() string { return e.reason }

func invalidToken(reason string) *authError {
	return &authError{status: http.StatusUnauthorized, code: "invalid_token", reason: reason}
}

type tokenHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

var b64 = base64.RawURLEncoding

// verifyToken checks structure, algorithm, key and signature, and only
// then looks at the claims.
func (m *CognitoAuth) verifyToken(tok string, now time.Time) (*Identity, *authError) {
	if len(tok) > maxTokenBytes {
		return nil, invalidToken("token too large")
	}
	h, rest, ok1 := strings.Cut(tok, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 || h == "" || p == "" {
		return nil, invalidToken("malformed token")
	}
	hdrJSON, err := b64.DecodeString(h)
	if err != nil {
		return nil, invalidToken("malformed token header")
	}
	var hdr tokenHeader
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, invalidToken("malformed token header")
	}
	verifier, ok := verifiers[hdr.Alg]
	if !ok {
		return nil, invalidToken("unsupported signing algorithm")
	}
	if len(hdr.Crit) > 0 && string(hdr.Crit) != "null" {
		return nil, invalidToken("unsupported critical header")
	}
	if !typAllowed(hdr.Typ) {
		return nil, invalidToken("unsupported token type")
	}
	if hdr.Kid == "" {
		return nil, invalidToken("token has no key id")
	}
	key, err := m.keys.lookup(hdr.Kid)
	if err != nil {
		if errors.Is(err, errKeysUnavailable) {
			return nil, &authError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
				reason: "signing keys unavailable, retry later", cause: err}
		}
		return nil, &authError{status: http.StatusUnauthorized, code: "invalid_token", reason: "unknown signing key", cause: err}
	}
	if (key.use != "" && key.use != "sig") || !key.verify {
		return nil, invalidToken("key not usable for signatures")
	}
	if (key.alg != "" && key.alg != hdr.Alg) || !algFitsKey(hdr.Alg, key.raw) {
		return nil, invalidToken("algorithm does not match key")
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, invalidToken("malformed token signature")
	}
	if err := verifier.Verify([]byte(tok[:len(h)+1+len(p)]), sig, key.raw); err != nil {
		return nil, invalidToken("invalid signature")
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, invalidToken("malformed token payload")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, invalidToken("malformed token payload")
	}
	return m.checkClaims(claims, hdr.Typ, now)
}

// typAllowed accepts plain JWTs and RFC 9068 access tokens; other typ
// values (logout tokens, DPoP proofs, ...) are different kinds of token.
func typAllowed(typ string) bool {
	switch strings.ToLower(typ) {
	case "", "jwt", "at+jwt", "application/at+jwt":
		return true
	}
	return false
}

// algFitsKey pins the algorithm family and curve to the key type, so an
// RSA key can never be used with an EC algorithm and vice versa.
func algFitsKey(alg string, raw any) bool {
	switch k := raw.(type) {
	case *rsa.PublicKey:
		return alg[0] == 'R' || alg[0] == 'P'
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
