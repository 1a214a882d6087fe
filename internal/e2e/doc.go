// Package e2e drives the whole edge through a real in-process Caddy: a JWT
// from the test issuer is verified by cognito_auth, exchanged for per-user
// credentials at the fake AWS, and used by cloudwatch_mcp to sign the
// CloudWatch calls a tool makes. The tests live in this package's _test
// files; this file only names the package.
package e2e
