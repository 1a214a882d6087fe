package oauthproxy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeyLen is the length of a sealing key: 32 bytes of randomness.
const KeyLen = 32

const (
	sealVersion = 1
	keyIDLen    = 4
	saltLen     = 16
	headerLen   = 1 + keyIDLen + saltLen
)

// errSeal is every failure to open a sealed value: a forged, truncated,
// expired or foreign record looks the same to the caller.
var errSeal = errors.New("invalid or expired")

// KeyRing seals the proxy's records (registrations, flow state, codes,
// refresh tokens) with AES-256-GCM, so the proxy keeps nothing per client
// or per login: every record travels with the client and comes back
// sealed. The first key seals; every key opens, so a rotation puts the new
// key first and keeps the old ones (previous_keys) until what they sealed
// has expired.
//
// Each seal derives a fresh AES key from the ring key and a random 128-bit
// salt (HKDF-SHA256). Registration is open to anyone, so the number of
// seals under one key is not ours to bound; fresh keys make GCM's nonce
// limits irrelevant. The additional data binds the record's purpose and the
// proxy's scope (its resource URL): a registration cannot be presented as
// a code, and a record of one site does not open at another site sharing
// the key.
type KeyRing struct {
	keys  []ringKey // keys[0] seals
	scope string
}

type ringKey struct {
	id     [keyIDLen]byte
	secret []byte
}

// NewKeyRing returns a ring that seals with current and also opens what
// the previous keys sealed. Every key must be KeyLen bytes.
func NewKeyRing(scope string, current []byte, previous ...[]byte) (*KeyRing, error) {
	kr := &KeyRing{scope: scope}
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != KeyLen {
			return nil, fmt.Errorf("sealing key %d is %d bytes, want %d", i, len(k), KeyLen)
		}
		sum := sha256.Sum256(append([]byte("oauthproxy key id\x00"), k...))
		rk := ringKey{secret: append([]byte(nil), k...)}
		copy(rk.id[:], sum[:])
		kr.keys = append(kr.keys, rk)
	}
	return kr, nil
}

// NewKey returns a fresh random sealing key.
func NewKey() []byte {
	k := make([]byte, KeyLen)
	_, _ = rand.Read(k) // never fails (crypto/rand.Read panics on failure)
	return k
}

var b64 = base64.RawURLEncoding

// Seal encrypts plaintext for purpose and returns it as URL-safe text.
func (kr *KeyRing) Seal(purpose string, plaintext []byte) string {
	k := kr.keys[0]
	out := make([]byte, headerLen, headerLen+len(plaintext)+16)
	out[0] = sealVersion
	copy(out[1:], k.id[:])
	_, _ = rand.Read(out[1+keyIDLen : headerLen])
	aead := k.aead(out[1+keyIDLen : headerLen])
	out = aead.Seal(out, zeroNonce[:], plaintext, kr.additionalData(purpose, out[:headerLen]))
	return b64.EncodeToString(out)
}

// Open decrypts what Seal returned for the same purpose, with any key of
// the ring.
func (kr *KeyRing) Open(purpose, sealed string) ([]byte, error) {
	if len(sealed) > maxSealedLen {
		return nil, errSeal
	}
	raw, err := b64.DecodeString(sealed)
	if err != nil || len(raw) < headerLen+16 || raw[0] != sealVersion {
		return nil, errSeal
	}
	for _, k := range kr.keys {
		if subtle.ConstantTimeCompare(k.id[:], raw[1:1+keyIDLen]) != 1 {
			continue
		}
		aead := k.aead(raw[1+keyIDLen : headerLen])
		pt, err := aead.Open(nil, zeroNonce[:], raw[headerLen:], kr.additionalData(purpose, raw[:headerLen]))
		if err == nil {
			return pt, nil
		}
	}
	return nil, errSeal
}

// maxSealedLen bounds what Open will decode: the largest record (a
// registration with the maximum redirect URIs) stays well below it.
const maxSealedLen = 16 << 10

// zeroNonce is safe because every message has its own derived key.
var zeroNonce [12]byte

func (k ringKey) aead(salt []byte) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, k.secret, salt, "oauthproxy seal v1", 32)
	if err != nil {
		panic("oauthproxy: hkdf: " + err.Error()) // only for invalid lengths, which are constants here
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("oauthproxy: aes: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("oauthproxy: gcm: " + err.Error())
	}
	return aead
}

func (kr *KeyRing) additionalData(purpose string, header []byte) []byte {
	ad := make([]byte, 0, len(purpose)+len(kr.scope)+len(header)+2)
	ad = append(ad, purpose...)
	ad = append(ad, 0)
	ad = append(ad, kr.scope...)
	ad = append(ad, 0)
	return append(ad, header...)
}

// mac is an HMAC-SHA256 of value under key i of the ring (0 is the
// sealing key), labelled and scoped like a seal. It backs the consent
// form's CSRF token.
func (kr *KeyRing) mac(i int, label, value string) []byte {
	h := hmac.New(sha256.New, kr.keys[i].secret)
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write([]byte(kr.scope))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return h.Sum(nil)
}
