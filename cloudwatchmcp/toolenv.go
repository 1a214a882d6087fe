package cloudwatchmcp

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/server"
	"go.uber.org/zap"
)

// toolEnv is everything a tool handler needs besides its arguments: where
// the caller's credentials come from, the shared client cache, and limits.
// One toolEnv exists per provisioned handler.
type Env struct {
	DefaultRegion   string
	CredentialMode  CredentialMode
	Clients         *Clients
	MaxQueryTimeout time.Duration
	Catalog         *Catalog
	Logger          *zap.Logger
	Now             func() time.Time

	// accounts chains into configured accounts (accounts.go); nil when
	// none are configured.
	Accounts *Accounts

	// watch shares the running-queries list among long Insights waits
	// (insights_watch.go); nil polls every query on its own.
	watch *runningWatch

	// sleep waits between polls; tests and benchmarks may shorten it. It
	// returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
}

// toolGroup builds the tools of one group ("logs", "metrics", "alarms",
// "promql") for a handler.
type toolGroup func(e *Env) []server.ServerTool

var (
	toolGroupsMu sync.Mutex
	toolGroups   = map[string][]toolGroup{}
)

// registerTools adds tools to a group; each tools_*.go file calls it from
// init so groups can be split across files.
func registerTools(group string, g toolGroup) {
	toolGroupsMu.Lock()
	defer toolGroupsMu.Unlock()
	toolGroups[group] = append(toolGroups[group], g)
}

// knownToolGroups lists the registered group names, sorted.
func Groups() []string {
	toolGroupsMu.Lock()
	defer toolGroupsMu.Unlock()
	names := make([]string, 0, len(toolGroups))
	for n := range toolGroups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// toolsFor returns the tools of the named groups (all groups when empty).
func (e *Env) Tools(groups []string) ([]server.ServerTool, error) {
	if len(groups) == 0 {
		groups = Groups()
	}
	toolGroupsMu.Lock()
	defer toolGroupsMu.Unlock()
	var out []server.ServerTool
	for _, g := range groups {
		builders, ok := toolGroups[g]
		if !ok {
			return nil, fmt.Errorf("unknown tool group %q", g)
		}
		for _, b := range builders {
			out = append(out, b(e)...)
		}
	}
	return out, nil
}

func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ensure aws is used even before clients land
var _ aws.CredentialsProvider = (aws.CredentialsProviderFunc)(nil)
