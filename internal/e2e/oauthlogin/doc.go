// Package oauthlogin proves that MCP clients log in with nothing but the
// server's URL through cognito_auth's oauth_proxy: a real in-process Caddy
// (free ports, file storage) in front of the fake Cognito hosted UI
// (internal/fakecognito) and the fake AWS (internal/fakeaws), driven by the
// official Go MCP SDK client and by headless Chromium, each login ending
// in a tools/call whose AWS request is signed with the credentials vended
// to that user. The tests live in this package's _test files.
package oauthlogin
