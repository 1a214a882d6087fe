package oauthproxy

import (
	"strings"
	"testing"
)

func TestSealRoundTripAndBindings(t *testing.T) {
	k1, k2 := NewKey(), NewKey()
	kr, err := NewKeyRing("https://mcp.example.com/mcp", k1)
	if err != nil {
		t.Fatal(err)
	}
	s := kr.Seal(purposeCode, []byte("hello"))
	if strings.Contains(s, "hello") || strings.ContainsAny(s, "+/=") {
		t.Fatalf("sealed text %q is not opaque base64url", s)
	}
	if pt, err := kr.Open(purposeCode, s); err != nil || string(pt) != "hello" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if kr.Seal(purposeCode, []byte("hello")) == s {
		t.Fatal("two seals of the same record are equal")
	}
	if _, err := kr.Open(purposeClient, s); err == nil {
		t.Fatal("a code opened as a registration")
	}
	other, _ := NewKeyRing("https://other.example.com/mcp", k1)
	if _, err := other.Open(purposeCode, s); err == nil {
		t.Fatal("a record of one site opened at another")
	}
	rotated, _ := NewKeyRing("https://mcp.example.com/mcp", k2, k1)
	if pt, err := rotated.Open(purposeCode, s); err != nil || string(pt) != "hello" {
		t.Fatal("previous key does not open")
	}
	if _, err := kr.Open(purposeCode, rotated.Seal(purposeCode, []byte("x"))); err == nil {
		t.Fatal("the old ring opened a seal of the new key")
	}
	for _, bad := range []string{"", s[:len(s)-1], s + "A", "!!!", strings.Repeat("A", maxSealedLen+1)} {
		if _, err := kr.Open(purposeCode, bad); err == nil {
			t.Fatalf("opened %q", bad)
		}
	}
	if _, err := NewKeyRing("x", make([]byte, 16)); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestSealRejectsEveryBitFlip(t *testing.T) {
	kr, _ := NewKeyRing("s", NewKey())
	raw, _ := b64.DecodeString(kr.Seal(purposeState, []byte(`{"a":1}`)))
	for i := range raw {
		for bit := range 8 {
			c := append([]byte(nil), raw...)
			c[i] ^= 1 << bit
			if _, err := kr.Open(purposeState, b64.EncodeToString(c)); err == nil {
				t.Fatalf("flip of byte %d bit %d opened", i, bit)
			}
		}
	}
}
