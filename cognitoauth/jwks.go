package cognitoauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/sync/singleflight"
)

const (
	// restPeriod is how long a key URL rests after an on-demand fetch that
	// did not produce the wanted kid (aws-jwt-verify's penalty box), which
	// caps unknown-kid storms at one fetch per URL per period.
	restPeriod = 10 * time.Second
	// fetchTimeout bounds one discovery or JWKS request.
	fetchTimeout = 5 * time.Second
	// backgroundRefresh is the floor for jwk.Cache's periodic refresh;
	// Cache-Control max-age above it is honoured.
	backgroundRefresh = 15 * time.Minute
	// maxDocumentBytes caps discovery and JWKS bodies.
	maxDocumentBytes = 1 << 20
)

var (
	errKeysUnavailable = errors.New("signing keys unavailable")
	errUnknownKID      = errors.New("unknown signing key")
)

// keySources shares one keySource per key URL across config reloads, so a
// reload neither refetches keys nor restarts jwk.Cache goroutines.
var keySources = caddy.NewUsagePool()

// verifyKey is a public key prepared for verification: the JWK members
// that constrain its use plus the raw crypto key.
type verifyKey struct {
	kid    string
	alg    string // JWK "alg", may be empty
	use    string // JWK "use", may be empty
	verify bool   // false when key_ops is present without "verify"
	raw    any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keySet is an immutable snapshot of a JWKS, indexed by kid.
type keySet struct {
	keys map[string]*verifyKey
}

// keySource fetches and caches the keys of one issuer. Lookups of known
// kids are lock-free; everything else funnels through one singleflight.
type keySource struct {
	issuer  string // discovery base when jwksURL is not known yet
	ctx     context.Context
	cancel  context.CancelFunc
	client  *http.Client
	cache   *jwk.Cache
	flight  singleflight.Group
	current atomic.Pointer[keySet]

	mu           sync.Mutex
	jwksURL      string
	cacheStarted bool
	restUntil    time.Time
	now          func() time.Time // tests swap this for a fake clock

	// loaded is set by the first successful on-demand fetch; from then on
	// jwk.Cache's callbacks report background refreshes to the metrics.
	loaded atomic.Bool
}

// poolKey names the shared keySource for a configuration: the JWKS URL
// when known, otherwise the issuer whose discovery document names it.
func poolKey(jwksURL, issuer string) string {
	if jwksURL != "" {
		return "jwks " + jwksURL
	}
	return "oidc " + issuer
}

func newKeySource(jwksURL, issuer string) *keySource {
	ctx, cancel := context.WithCancel(context.Background())
	s := &keySource{
		issuer:  issuer,
		jwksURL: jwksURL,
		ctx:     ctx,
		cancel:  cancel,
		client:  &http.Client{Timeout: fetchTimeout},
		now:     time.Now,
	}
	s.cache = jwk.NewCache(ctx, jwk.WithErrSink(jwksErrSink{s}))
	return s
}

// Destruct stops the jwk.Cache goroutines once no config uses this source.
func (s *keySource) Destruct() error {
	s.cancel()
	s.client.CloseIdleConnections()
	return nil
}

// lookup returns the key for kid, fetching keys when kid is unknown and
// the source is not resting.
func (s *keySource) lookup(kid string) (*verifyKey, error) {
	if ks := s.current.Load(); ks != nil {
		if k := ks.keys[kid]; k != nil {
			return k, nil
		}
	}
	return s.refreshFor(kid)
}

func (s *keySource) refreshFor(kid string) (*verifyKey, error) {
	s.mu.Lock()
	resting := s.now().Before(s.restUntil)
	s.mu.Unlock()
	var fetchErr error
	if !resting {
		_, fetchErr, _ = s.flight.Do("keys", func() (any, error) {
			// A caller that missed just before the previous flight landed
			// must not start a second fetch for keys that are now here.
			if ks := s.current.Load(); ks != nil && ks.keys[kid] != nil {
				return nil, nil
			}
			return nil, s.fetch()
		})
	}
	ks := s.current.Load()
	if ks != nil {
		if k := ks.keys[kid]; k != nil {
			return k, nil
		}
	}
	if !resting {
		s.mu.Lock()
		s.restUntil = s.now().Add(restPeriod)
		s.mu.Unlock()
	}
	if ks == nil {
		if fetchErr != nil {
			return nil, fmt.Errorf("%w: %v", errKeysUnavailable, fetchErr)
		}
		return nil, errKeysUnavailable
	}
	return nil, errUnknownKID
}

// fetch loads the key set once. The first load goes through jwk.Cache so
// that its background refresh starts; later on-demand loads bypass it,
// because every jwk.Cache.Refresh would queue one more periodic refresh.
func (s *keySource) fetch() (err error) {
	defer func() { s.countFetch(err) }()
	ctx, cancel := context.WithTimeout(s.ctx, 2*fetchTimeout)
	defer cancel()
	url, err := s.resolveJWKSURL(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	first := !s.cacheStarted
	s.cacheStarted = true
	s.mu.Unlock()
	if first {
		err := s.cache.Register(url,
			jwk.WithHTTPClient(checkedClient{s.client}),
			jwk.WithMinRefreshInterval(backgroundRefresh),
			jwk.WithPostFetcher(jwk.PostFetchFunc(func(_ string, set jwk.Set) (jwk.Set, error) {
				s.current.Store(prepareKeySet(set))
				s.countBackgroundFetch(nil)
				return set, nil
			})))
		if err != nil {
			return err
		}
		set, err := s.cache.Get(ctx, url)
		if err != nil {
			return err
		}
		if set == nil {
			return errors.New("empty key set")
		}
		return nil
	}
	body, err := getDocument(ctx, s.client, url)
	if err != nil {
		return err
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fmt.Errorf("parsing key set: %w", err)
	}
	s.current.Store(prepareKeySet(set))
	return nil
}

// resolveJWKSURL returns the configured JWKS URL or finds it through OIDC
// discovery. A failed discovery is simply retried by the next flight, so
// an issuer that is down at start-up never blocks Caddy.
func (s *keySource) resolveJWKSURL(ctx context.Context) (string, error) {
	s.mu.Lock()
	url := s.jwksURL
	s.mu.Unlock()
	if url != "" {
		return url, nil
	}
	body, err := getDocument(ctx, s.client, strings.TrimSuffix(s.issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != s.issuer {
		return "", fmt.Errorf("discovery: issuer %.256q does not match configured issuer", doc.Issuer)
	}
	if !strings.HasPrefix(doc.JWKSURI, "https://") && !strings.HasPrefix(doc.JWKSURI, "http://") {
		return "", errors.New("discovery: missing or invalid jwks_uri")
	}
	s.mu.Lock()
	s.jwksURL = doc.JWKSURI
	s.mu.Unlock()
	return doc.JWKSURI, nil
}

// checkedClient adapts http.Client for jwk.Cache: it rejects non-200
// answers and oversized bodies itself, and always drains the body, which
// the cache does not do for error responses.
type checkedClient struct{ c *http.Client }

func (cc checkedClient) Get(url string) (*http.Response, error) {
	resp, err := cc.c.Get(url)
	if err != nil {
		return nil, err
	}
	body, err := readBody(resp)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func getDocument(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	return readBody(resp)
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected HTTP status %d", resp.StatusCode)
	}
	if len(body) > maxDocumentBytes {
		return nil, errors.New("document too large")
	}
	return body, nil
}

// prepareKeySet keeps the keys that could ever verify a signature: public
// (or the public half of) RSA of at least 2048 bits, EC P-256/384/521 and
// Ed25519, each with a kid. Symmetric keys never qualify.
func prepareKeySet(set jwk.Set) *keySet {
	ks := &keySet{keys: make(map[string]*verifyKey, set.Len())}
	for i := 0; i < set.Len(); i++ {
		k, ok := set.Key(i)
		if !ok || k.KeyID() == "" {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		var raw any
		if err := pub.Raw(&raw); err != nil {
			continue
		}
		switch rk := raw.(type) {
		case *rsa.PublicKey:
			if rk.N.BitLen() < 2048 {
				continue
			}
		case *ecdsa.PublicKey:
			switch rk.Curve {
			case elliptic.P256(), elliptic.P384(), elliptic.P521():
			default:
				continue
			}
		case ed25519.PublicKey:
		default:
			continue
		}
		vk := &verifyKey{kid: k.KeyID(), alg: k.Algorithm().String(), use: k.KeyUsage(), verify: true, raw: raw}
		if ops := k.KeyOps(); len(ops) > 0 {
			vk.verify = false
			for _, op := range ops {
				if op == jwk.KeyOpVerify {
					vk.verify = true
				}
			}
		}
		ks.keys[vk.kid] = vk
	}
	return ks
}
