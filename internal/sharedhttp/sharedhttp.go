// Package sharedhttp keeps one HTTP client (one keep-alive pool) per name
// for the AWS SDK clients of every loaded config. Caddy cleans up an old
// config while its last requests may still run, so a pool per config could
// not be closed reliably: each reload left its idle connections (two
// goroutines each) behind until the 90 s idle timeout. Shared, the pool
// survives reloads warm, and the last config to release it closes its idle
// connections. The client is built from the first config's SDK defaults,
// which come from the process environment and so are the same for every
// config.
package sharedhttp

import (
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/caddyserver/caddy/v2"
)

var clients = caddy.NewUsagePool()

type pooled struct{ *http.Client }

// Destruct closes the idle connections once no config uses the client.
func (p pooled) Destruct() error {
	p.CloseIdleConnections()
	return nil
}

// Client returns the client shared under name in place of c, and a
// function (safe to call more than once) that gives this config's hold on
// it back. A nil c stands for the SDK's default client. A client
// configured otherwise than the SDK's buildable default is kept as it is,
// with a release that does nothing.
func Client(name string, c aws.HTTPClient) (aws.HTTPClient, func()) {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok {
		return c, func() {}
	}
	v, _, _ := clients.LoadOrNew(name, func() (caddy.Destructor, error) {
		hc, ok := bc.Freeze().(*http.Client)
		if !ok {
			hc = &http.Client{}
		}
		return pooled{hc}, nil
	})
	var once sync.Once
	return v.(pooled).Client, func() { once.Do(func() { _, _ = clients.Delete(name) }) }
}

// Interface guards
var _ caddy.Destructor = pooled{}
