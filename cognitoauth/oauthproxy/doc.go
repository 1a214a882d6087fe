// Package oauthproxy is an MCP authorization server in front of an OAuth
// provider that cannot be one itself: Amazon Cognito (no dynamic client
// registration, no code_challenge_methods_supported in its discovery,
// exact callback matching) or any OpenID Connect provider without
// registration.
//
// MCP clients see a complete authorization server on the MCP server's own
// origin: RFC 8414 metadata, RFC 7591 registration, client ID metadata
// documents, authorization code with PKCE S256 and RFC 8707 resource, and
// a token endpoint. Behind it the proxy is one ordinary confidential
// client of the upstream with one fixed callback (<origin>/oauth/callback).
//
// The flow:
//
//	client ──register──▶ proxy: client_id = sealed registration
//	client ──authorize─▶ proxy: consent page (the user approves this client)
//	browser ─approve───▶ proxy ─302─▶ upstream login (proxy client, PKCE, sealed state)
//	upstream ─302──────▶ proxy /oauth/callback ─302─▶ client redirect (proxy code, state, iss)
//	client ──token─────▶ proxy ──code+verifier+secret──▶ upstream
//	client ◀─access token (the upstream's), refresh token (sealed, bound to the client)
//
// The access token is the upstream's own, so the resource server
// (cognito_auth) validates it exactly as any other token from that issuer.
//
// The proxy keeps no state per client or login. Registrations, consent
// requests, upstream state, codes and refresh tokens are records sealed
// with AES-256-GCM (KeyRing), carried by the client or the browser, and
// opened by whichever instance receives them. The one exception is single
// use of codes, explained at UsedCodes.
//
// Registration and authorization need no credentials, and authorization
// may make the proxy fetch a client metadata document from a URL the
// caller chose; RateLimit bounds that work per client address.
//
// Nothing secret is logged, shown on a page or put in an error: not
// codes, tokens, verifiers, the client secret or the sealing key.
package oauthproxy
