package cognitoauth

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/caddyserver/caddy/v2"
)

// credCaches shares the vended-credentials cache across config reloads
// that do not change vending, so a reload neither re-exchanges every
// user's token with AWS nor forgets credentials still valid for an hour.
var credCaches = caddy.NewUsagePool()

type sharedCredCache struct{ *credCache }

// Destruct has nothing to stop: the cache holds no goroutines.
func (sharedCredCache) Destruct() error { return nil }

// credCacheKey names a cache by everything that decides which credentials
// it may hold: the vending options, the region and the endpoint (the last
// two may come from the environment). Entries are further keyed by issuer
// and subject (credKey).
func credCacheKey(v *Vending, cfg aws.Config) string {
	opts, _ := json.Marshal(v)
	endpoint := ""
	if cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	return cfg.Region + "\x00" + endpoint + "\x00" + string(opts)
}

// shareCredCache attaches the pooled credentials cache for this config.
func (v *Vending) shareCredCache(cfg aws.Config, size int) error {
	key := credCacheKey(v, cfg)
	c, _, err := credCaches.LoadOrNew(key, func() (caddy.Destructor, error) {
		return sharedCredCache{newCredCache(size)}, nil
	})
	if err != nil {
		return err
	}
	v.credCache, v.credCacheKey = c.(sharedCredCache).credCache, key
	return nil
}

// vendHTTPClients holds the one HTTP client (one keep-alive pool) that the
// vending SDK clients of every config share. Caddy cleans up an old config
// while its last requests may still run, so a pool per config could not be
// closed reliably: each reload left its idle connections (two goroutines
// each) behind until the 90 s idle timeout. Shared, the pool survives
// reloads warm and the last config to go closes it. It is built from the
// first config's SDK defaults, which come from the process environment.
var vendHTTPClients = caddy.NewUsagePool()

type pooledHTTPClient struct{ *http.Client }

// Destruct closes the idle connections once no config uses the client.
func (p pooledHTTPClient) Destruct() error {
	p.CloseIdleConnections()
	return nil
}

// shareHTTPClient swaps the SDK's default HTTP client for the shared one.
// A client configured otherwise (not a BuildableClient) is kept as is.
func (v *Vending) shareHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok {
		return c
	}
	p, _, _ := vendHTTPClients.LoadOrNew("aws", func() (caddy.Destructor, error) {
		hc, ok := bc.Freeze().(*http.Client)
		if !ok {
			hc = &http.Client{}
		}
		return pooledHTTPClient{hc}, nil
	})
	var once sync.Once
	v.releaseHTTP = func() { once.Do(func() { _, _ = vendHTTPClients.Delete("aws") }) }
	return p.(pooledHTTPClient).Client
}

// releaseShared drops this config's hold on the shared cache and client.
func (v *Vending) releaseShared() {
	if v.credCacheKey != "" {
		_, _ = credCaches.Delete(v.credCacheKey)
		v.credCacheKey = ""
	}
	if v.releaseHTTP != nil {
		v.releaseHTTP()
	}
}
