// Package lbhealth runs cognito_auth's health endpoint and its log fields
// through a real in-process Caddy on free ports, the way a load balancer
// and a reverse proxy in front of Caddy see them. It is its own test binary
// because it loads configs with caddy.Load (admin off) instead of caddytest,
// which holds a fixed admin port per process. The tests live in the _test
// files; this file only names the package.
package lbhealth
