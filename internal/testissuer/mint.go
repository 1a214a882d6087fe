package testissuer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Claims is a JWT payload. In Mint, a nil value removes the claim, which is
// how a test drops a default such as exp.
type Claims map[string]any

// With sets a claim and returns c for chaining.
func (c Claims) With(name string, value any) Claims {
	c[name] = value
	return c
}

// CognitoAccessClaims is the payload of a Cognito user pool access token.
func (i *Issuer) CognitoAccessClaims(sub, clientID string) Claims {
	now := i.now()
	return Claims{
		"sub":        sub,
		"iss":        i.iss,
		"client_id":  clientID,
		"origin_jti": randomID(),
		"event_id":   randomID(),
		"token_use":  "access",
		"scope":      "openid email",
		"auth_time":  now.Unix(),
		"iat":        now.Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"jti":        randomID(),
		"username":   sub + "-user",
	}
}

// CognitoIDClaims is the payload of a Cognito user pool ID token.
func (i *Issuer) CognitoIDClaims(sub, clientID string) Claims {
	now := i.now()
	return Claims{
		"sub":              sub,
		"iss":              i.iss,
		"aud":              clientID,
		"token_use":        "id",
		"cognito:username": sub + "-user",
		"email":            sub + "@example.com",
		"email_verified":   true,
		"auth_time":        now.Unix(),
		"iat":              now.Unix(),
		"exp":              now.Add(time.Hour).Unix(),
		"jti":              randomID(),
		"origin_jti":       randomID(),
		"event_id":         randomID(),
	}
}

// OIDCAccessClaims is the payload of an RFC 9068 style access token for
// the given audience(s); pair it with Typ("at+jwt").
func (i *Issuer) OIDCAccessClaims(sub string, aud ...string) Claims {
	now := i.now()
	c := Claims{
		"sub":       sub,
		"iss":       i.iss,
		"client_id": "test-client",
		"scope":     "openid",
		"iat":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"jti":       randomID(),
	}
	switch len(aud) {
	case 0:
	case 1:
		c["aud"] = aud[0]
	default:
		c["aud"] = aud
	}
	return c
}

type mintConfig struct {
	kid       string // signing key
	headerKID *string
	typ       *string
	alg       jwa.SignatureAlgorithm
	header    map[string]any
}

// MintOption adjusts how Mint and SignRaw sign.
type MintOption func(*mintConfig)

// KID signs with the given key (published or not) and names it in the header.
func KID(kid string) MintOption { return func(c *mintConfig) { c.kid = kid } }

// HeaderKID puts kid in the header while still signing with the selected
// key; use it for unknown or hostile kid values. An empty kid omits it.
func HeaderKID(kid string) MintOption { return func(c *mintConfig) { c.headerKID = &kid } }

// Typ sets the typ header; an empty value omits it. The default is "JWT".
func Typ(typ string) MintOption { return func(c *mintConfig) { c.typ = &typ } }

// Alg signs with alg instead of the key's default algorithm (it must suit
// the key type, e.g. RS384 with an RSA key).
func Alg(alg jwa.SignatureAlgorithm) MintOption { return func(c *mintConfig) { c.alg = alg } }

// Header adds an arbitrary protected header member.
func Header(name string, value any) MintOption {
	return func(c *mintConfig) {
		if c.header == nil {
			c.header = map[string]any{}
		}
		c.header[name] = value
	}
}

// Mint signs claims after filling iss, iat and exp (one hour) when they are
// absent. It panics on failure, which is always a test bug.
func (i *Issuer) Mint(claims Claims, opts ...MintOption) string {
	now := i.now()
	c := Claims{"iss": i.iss, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	payload, err := json.Marshal(c)
	if err != nil {
		panic("testissuer: " + err.Error())
	}
	return i.SignRaw(payload, opts...)
}

// SignRaw signs arbitrary payload bytes (e.g. a JSON array) as a compact JWS.
func (i *Issuer) SignRaw(payload []byte, opts ...MintOption) string {
	var cfg mintConfig
	for _, o := range opts {
		o(&cfg)
	}
	k := i.key(cfg.kid)
	if k == nil {
		panic("testissuer: unknown kid " + cfg.kid)
	}
	alg := k.alg
	if cfg.alg != "" {
		alg = cfg.alg
	}
	hdr := jws.NewHeaders()
	kid := k.kid
	if cfg.headerKID != nil {
		kid = *cfg.headerKID
	}
	if kid != "" {
		_ = hdr.Set(jws.KeyIDKey, kid)
	}
	typ := "JWT"
	if cfg.typ != nil {
		typ = *cfg.typ
	}
	if typ != "" {
		_ = hdr.Set(jws.TypeKey, typ)
	}
	for name, v := range cfg.header {
		if err := hdr.Set(name, v); err != nil {
			panic("testissuer: header " + name + ": " + err.Error())
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, k.private, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic("testissuer: sign: " + err.Error())
	}
	i.mu.Lock()
	i.minted = append(i.minted, string(out))
	i.mu.Unlock()
	return string(out)
}

// Minted returns every token this issuer has signed, so secret scans can
// prove none of them shows up in logs or responses.
func (i *Issuer) Minted() []string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return append([]string(nil), i.minted...)
}

// Forge assembles a compact token from raw parts without any signing
// library, for malformed and forged tokens. header and payload are JSON
// encoded unless they already are []byte or string.
func Forge(header, payload any, signature []byte) string {
	return segment(header) + "." + segment(payload) + "." + base64.RawURLEncoding.EncodeToString(signature)
}

// ForgeHMAC signs header.payload with HMAC-SHA256 under secret, the classic
// alg-confusion forgery when secret is an RSA public key.
func ForgeHMAC(header, payload any, secret []byte) string {
	input := segment(header) + "." + segment(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func segment(v any) string {
	var b []byte
	switch t := v.(type) {
	case []byte:
		b = t
	case string:
		b = []byte(t)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic("testissuer: " + err.Error())
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
