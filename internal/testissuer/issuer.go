// Package testissuer runs an in-process OpenID Connect issuer for tests. It
// serves discovery and a JWKS over real HTTP (httptest) and signs real JWTs
// with RSA, EC and Ed25519 keys, so the code under test verifies tokens
// exactly as it would against Cognito or any other OIDC provider.
//
// It can rotate keys, publish keys marked for encryption, go down on demand,
// delay responses and count every fetch, which is what cache, outage and
// storm tests need.
package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// KeyKind selects the type of a signing key.
type KeyKind int

// Key kinds. The default signing algorithm of each is noted.
const (
	RSA     KeyKind = iota // RS256, 2048 bits
	RSAPSS                 // PS256, 2048 bits
	ECP256                 // ES256
	ECP384                 // ES384
	ECP521                 // ES512
	Ed25519                // EdDSA
)

// KeyOptions describes a key to add with AddKey.
type KeyOptions struct {
	Kind KeyKind
	// KID defaults to a generated, unique value.
	KID string
	// Use is published as the JWK "use" member; empty means "sig".
	// Set it to "-" to publish no "use" member at all.
	Use string
	// Alg is published as the JWK "alg" member; empty means the kind's
	// default algorithm. Set it to "-" to publish no "alg" member.
	Alg string
	// Unpublished keys sign tokens but are absent from the JWKS.
	Unpublished bool
}

type signingKey struct {
	kid         string
	alg         jwa.SignatureAlgorithm
	private     crypto.Signer
	public      jwk.Key
	unpublished bool
}

// Issuer is a running test issuer. It is safe for concurrent use.
type Issuer struct {
	srv *httptest.Server
	iss string

	mu      sync.RWMutex
	keys    []*signingKey // published order
	current *signingKey
	seq     int
	now     func() time.Time

	minted []string // every token signed, for secret scans

	down        atomic.Bool
	jwksDelay   atomic.Int64
	jwksFetches atomic.Int64
	discFetches atomic.Int64
}

// Option configures New.
type Option func(*Issuer)

// WithIssuer makes tokens and discovery carry iss instead of the server URL,
// e.g. "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example" for
// Cognito-shaped tokens whose keys are then fetched through a jwks_url
// override pointing at JWKSURL().
func WithIssuer(iss string) Option { return func(i *Issuer) { i.iss = iss } }

// WithClock sets the clock used for default iat/exp claims.
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.now = now } }

// WithKey replaces the default initial RSA key with the described one.
func WithKey(o KeyOptions) Option {
	return func(i *Issuer) { i.mustAddKey(o) }
}

// every issuer of the process, so secret scans cover tokens of issuers a
// test made on its own.
var (
	allMu sync.Mutex
	all   []*Issuer
)

// AllMinted returns the tokens minted by every issuer of this process.
func AllMinted() []string {
	allMu.Lock()
	issuers := append([]*Issuer(nil), all...)
	allMu.Unlock()
	var out []string
	for _, i := range issuers {
		out = append(out, i.Minted()...)
	}
	return out
}

// New starts an issuer with one RSA (RS256) signing key unless WithKey is
// given. Call Close when done.
func New(opts ...Option) *Issuer {
	i := &Issuer{now: time.Now}
	allMu.Lock()
	all = append(all, i)
	allMu.Unlock()
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", i.serveDiscovery)
	mux.HandleFunc("/.well-known/jwks.json", i.serveJWKS)
	i.srv = httptest.NewServer(mux)
	for _, o := range opts {
		o(i)
	}
	if i.iss == "" {
		i.iss = i.srv.URL
	}
	if len(i.keys) == 0 {
		i.mustAddKey(KeyOptions{Kind: RSA})
	}
	return i
}

// Close shuts the HTTP server down.
func (i *Issuer) Close() { i.srv.Close() }

// CloseClientConnections drops every open connection to the issuer, idle
// keep-alive ones included.
func (i *Issuer) CloseClientConnections() { i.srv.CloseClientConnections() }

// URL is the base URL of the HTTP server.
func (i *Issuer) URL() string { return i.srv.URL }

// Issuer is the iss claim value (the server URL unless WithIssuer was used).
func (i *Issuer) Issuer() string { return i.iss }

// JWKSURL is where the key set is served.
func (i *Issuer) JWKSURL() string { return i.srv.URL + "/.well-known/jwks.json" }

// DiscoveryURL is where the OpenID configuration is served.
func (i *Issuer) DiscoveryURL() string { return i.srv.URL + "/.well-known/openid-configuration" }

// SetDown simulates an outage: while down, every endpoint answers 503.
func (i *Issuer) SetDown(down bool) { i.down.Store(down) }

// SetJWKSDelay delays every JWKS response, widening race windows in tests.
func (i *Issuer) SetJWKSDelay(d time.Duration) { i.jwksDelay.Store(int64(d)) }

// JWKSFetches counts JWKS requests served (including failed ones while down).
func (i *Issuer) JWKSFetches() int { return int(i.jwksFetches.Load()) }

// DiscoveryFetches counts discovery requests served.
func (i *Issuer) DiscoveryFetches() int { return int(i.discFetches.Load()) }

// ResetCounters zeroes the fetch counters.
func (i *Issuer) ResetCounters() {
	i.jwksFetches.Store(0)
	i.discFetches.Store(0)
}

// AddKey generates and publishes a key; it does not change the current
// signing key. It returns the key ID.
func (i *Issuer) AddKey(o KeyOptions) (string, error) {
	k, err := newSigningKey(o, i.nextKID())
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k)
	if i.current == nil {
		i.current = k
	}
	return k.kid, nil
}

// Rotate adds a new key of the given kind and makes it the signing key. Old
// keys stay published until RemoveKey.
func (i *Issuer) Rotate(kind KeyKind) string {
	kid := i.mustAddKey(KeyOptions{Kind: kind})
	i.SetCurrent(kid)
	return kid
}

// SetCurrent selects the key that signs tokens by default.
func (i *Issuer) SetCurrent(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		if k.kid == kid {
			i.current = k
			return
		}
	}
	panic("testissuer: unknown kid " + kid)
}

// CurrentKID is the key ID of the default signing key.
func (i *Issuer) CurrentKID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.kid
}

// RemoveKey unpublishes a key (it can still sign via MintOptions.KID).
func (i *Issuer) RemoveKey(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, k := range i.keys {
		if k.kid == kid {
			k.unpublished = true
		}
	}
}

// PublicKey returns the public JWK of a key, published or not.
func (i *Issuer) PublicKey(kid string) (jwk.Key, bool) {
	k := i.key(kid)
	if k == nil {
		return nil, false
	}
	return k.public, true
}

// JWKS returns the currently published public key set.
func (i *Issuer) JWKS() jwk.Set {
	set := jwk.NewSet()
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, k := range i.keys {
		if !k.unpublished {
			_ = set.AddKey(k.public)
		}
	}
	return set
}

func (i *Issuer) key(kid string) *signingKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if kid == "" {
		return i.current
	}
	for _, k := range i.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

func (i *Issuer) mustAddKey(o KeyOptions) string {
	kid, err := i.AddKey(o)
	if err != nil {
		panic("testissuer: " + err.Error())
	}
	return kid
}

func (i *Issuer) nextKID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.seq++
	return fmt.Sprintf("test-key-%d", i.seq)
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	i.discFetches.Add(1)
	if i.down.Load() {
		http.Error(w, "issuer is down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                i.iss,
		"jwks_uri":                              i.JWKSURL(),
		"authorization_endpoint":                i.srv.URL + "/authorize",
		"token_endpoint":                        i.srv.URL + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	i.jwksFetches.Add(1)
	if d := time.Duration(i.jwksDelay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if i.down.Load() {
		http.Error(w, "issuer is down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, i.JWKS())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func newSigningKey(o KeyOptions, generatedKID string) (*signingKey, error) {
	var (
		priv crypto.Signer
		alg  jwa.SignatureAlgorithm
		err  error
	)
	switch o.Kind {
	case RSA, RSAPSS:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = jwa.RS256
		if o.Kind == RSAPSS {
			alg = jwa.PS256
		}
	case ECP256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		alg = jwa.ES256
	case ECP384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		alg = jwa.ES384
	case ECP521:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		alg = jwa.ES512
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
		alg = jwa.EdDSA
	default:
		return nil, fmt.Errorf("unknown key kind %d", o.Kind)
	}
	if err != nil {
		return nil, err
	}
	pub, err := jwk.FromRaw(priv.Public())
	if err != nil {
		return nil, err
	}
	kid := o.KID
	if kid == "" {
		kid = generatedKID
	}
	_ = pub.Set(jwk.KeyIDKey, kid)
	switch o.Use {
	case "":
		_ = pub.Set(jwk.KeyUsageKey, "sig")
	case "-":
	default:
		_ = pub.Set(jwk.KeyUsageKey, o.Use)
	}
	switch o.Alg {
	case "":
		_ = pub.Set(jwk.AlgorithmKey, alg)
	case "-":
	default:
		_ = pub.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(strings.TrimSpace(o.Alg)))
	}
	return &signingKey{kid: kid, alg: alg, private: priv, public: pub, unpublished: o.Unpublished}, nil
}

// PublicKeyPEM returns the PKIX PEM encoding of a key's public half; an
// alg-confusion forgery uses it as an HMAC secret.
func (i *Issuer) PublicKeyPEM(kid string) []byte {
	k := i.key(kid)
	if k == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.private.Public())
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
