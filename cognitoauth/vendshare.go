package cognitoauth

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
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
