package testissuer

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func fetchSet(t *testing.T, is *Issuer) jwk.Set {
	t.Helper()
	set, err := jwk.Fetch(context.Background(), is.JWKSURL())
	if err != nil {
		t.Fatalf("fetch jwks: %v", err)
	}
	return set
}

func TestMintVerifiesOverHTTPForEveryKind(t *testing.T) {
	kinds := map[KeyKind]jwa.SignatureAlgorithm{
		RSA: jwa.RS256, RSAPSS: jwa.PS256, ECP256: jwa.ES256, ECP384: jwa.ES384, ECP521: jwa.ES512, Ed25519: jwa.EdDSA,
	}
	is := New()
	defer is.Close()
	for kind, alg := range kinds {
		kid := is.Rotate(kind)
		tok := is.Mint(is.CognitoAccessClaims("user-1", "client-a"), Typ("at+jwt"))
		set := fetchSet(t, is)
		parsed, err := jwt.Parse([]byte(tok), jwt.WithKeySet(set), jwt.WithIssuer(is.Issuer()))
		if err != nil {
			t.Fatalf("kind %d: verify: %v", kind, err)
		}
		if parsed.Subject() != "user-1" {
			t.Fatalf("sub = %q", parsed.Subject())
		}
		hdr := decodeSegment(t, tok, 0)
		if hdr["kid"] != kid || hdr["alg"] != alg.String() || hdr["typ"] != "at+jwt" {
			t.Fatalf("kind %d: header %v", kind, hdr)
		}
		if v, _ := parsed.Get("token_use"); v != "access" {
			t.Fatalf("token_use = %v", v)
		}
	}
}

func TestRotationOutageAndCounters(t *testing.T) {
	is := New()
	defer is.Close()
	old := is.CurrentKID()
	next := is.Rotate(ECP256)
	if old == next {
		t.Fatal("rotate returned the same kid")
	}
	set := fetchSet(t, is)
	if _, ok := set.LookupKeyID(old); !ok {
		t.Fatal("old key not published after rotation")
	}
	is.RemoveKey(old)
	if _, ok := fetchSet(t, is).LookupKeyID(old); ok {
		t.Fatal("removed key still published")
	}
	if got := is.JWKSFetches(); got != 2 {
		t.Fatalf("jwks fetches = %d, want 2", got)
	}
	is.SetDown(true)
	resp, err := http.Get(is.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("down status = %d", resp.StatusCode)
	}
	is.SetDown(false)
	resp, err = http.Get(is.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["issuer"] != is.Issuer() || doc["jwks_uri"] != is.JWKSURL() {
		t.Fatalf("discovery = %v", doc)
	}
	if is.DiscoveryFetches() != 1 || is.JWKSFetches() != 3 {
		t.Fatalf("counters = %d/%d", is.DiscoveryFetches(), is.JWKSFetches())
	}
	is.ResetCounters()
	if is.JWKSFetches() != 0 {
		t.Fatal("reset failed")
	}
}

func TestKeyOptionsAndHeaders(t *testing.T) {
	is := New(WithIssuer("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test"),
		WithKey(KeyOptions{Kind: RSA, KID: "fixed", Alg: "-", Use: "enc"}),
		WithClock(func() time.Time { return time.Unix(1000, 0) }))
	defer is.Close()
	k, ok := fetchSet(t, is).LookupKeyID("fixed")
	if !ok {
		t.Fatal("fixed key missing")
	}
	if k.Algorithm().String() != "" || k.KeyUsage() != "enc" {
		t.Fatalf("alg=%q use=%q", k.Algorithm(), k.KeyUsage())
	}
	tok := is.Mint(Claims{"sub": "x", "exp": nil, "custom": strings.Repeat("a", 10)},
		HeaderKID("../../etc/passwd"), Typ(""), Header("crit", []string{"exp"}))
	hdr := decodeSegment(t, tok, 0)
	if hdr["kid"] != "../../etc/passwd" || hdr["typ"] != nil || hdr["crit"] == nil {
		t.Fatalf("header = %v", hdr)
	}
	pl := decodeSegment(t, tok, 1)
	if _, has := pl["exp"]; has {
		t.Fatal("exp not removed")
	}
	if pl["iat"] != float64(1000) || pl["iss"] != is.Issuer() {
		t.Fatalf("payload = %v", pl)
	}
	if len(is.PublicKeyPEM("fixed")) == 0 {
		t.Fatal("no PEM")
	}
	forged := ForgeHMAC(map[string]string{"alg": "HS256"}, Claims{"sub": "x"}, is.PublicKeyPEM("fixed"))
	if strings.Count(forged, ".") != 2 {
		t.Fatal("forged token malformed")
	}
}

func decodeSegment(t *testing.T, tok string, n int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64RawURL(parts[n])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
