package toolkit

import "github.com/aws/aws-sdk-go-v2/aws"

// Test access for the external tests of this package (accounts_test.go,
// env_test.go), which run the real tool groups and so cannot be in it.

// ChainedDuration and ChainRefreshBefore are the lifetimes of chained
// credentials (accounts.go).
const (
	ChainedDuration    = chainedDuration
	ChainRefreshBefore = chainRefreshBefore
)

// ChainSessionName is chainSessionName.
var ChainSessionName = chainSessionName

// AccountInfo is one list_accounts entry.
type AccountInfo = accountInfo

// Get returns the cached chained credentials of key and whether they are
// fresh.
func (c *Accounts) Get(key string) (*aws.Credentials, bool) { return c.get(key) }

// Len reports how many chained credentials are cached.
func (c *Accounts) Len() int { return c.len() }

// SetMax bounds the chained-credential cache.
func (c *Accounts) SetMax(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = n
}

// SetMax bounds the client cache.
func (c *Clients) SetMax(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = n
}
