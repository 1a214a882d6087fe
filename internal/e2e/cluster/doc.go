// Package cluster runs several Caddy processes built from the plugin in
// front of one real redis-server, the way a cluster behind a load balancer
// runs: cognito_auth's rate limit is one exact budget across instances,
// falls back per instance while Redis is down and comes back by itself,
// config reloads keep the Redis connections and goroutines flat, and Redis
// holds no token, sub or secret. Each Caddy is its own process
// (internal/caddyproc: this test binary re-executed as `caddy run`), so
// nothing is shared between instances but Redis. The tests live in the
// _test files; this file only names the package.
package cluster
