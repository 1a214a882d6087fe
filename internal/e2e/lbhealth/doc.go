// Package lbhealth runs cognito_auth's health endpoint and its log fields
// through a real in-process Caddy on free ports (internal/testcaddy), the
// way a load balancer and a reverse proxy in front of Caddy see them. The
// tests live in the _test files; this file only names the package.
package lbhealth
