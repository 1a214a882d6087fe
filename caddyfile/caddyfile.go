// Package caddyfile registers the Caddyfile directives of caddy-cloudwatch-mcp
// and their place in Caddy's directive order, so a Caddyfile needs no `order`
// line. Importing it also registers both modules.
package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp"
	"github.com/mcpedge/caddy-cloudwatch-mcp/cognitoauth"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cognito_auth", parseCognitoAuth)
	// Authentication runs where Caddy's own basic_auth would, so every
	// handler after it (including cloudwatch_mcp) sees a verified identity.
	httpcaddyfile.RegisterDirectiveOrder("cognito_auth", httpcaddyfile.Before, "basic_auth")

	httpcaddyfile.RegisterHandlerDirective("cloudwatch_mcp", parseCloudWatchMCP)
	// The MCP endpoint is terminal, like respond: it runs after
	// authentication and answers every request routed to it.
	httpcaddyfile.RegisterDirectiveOrder("cloudwatch_mcp", httpcaddyfile.Before, "respond")
}

func parseCognitoAuth(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(cognitoauth.CognitoAuth)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

func parseCloudWatchMCP(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(cloudwatchmcp.Handler)
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return m, err
	}
	return m, checkComposition(h, m)
}
