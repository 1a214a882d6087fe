// Package caddycloudwatchmcp is the root of caddy-cloudwatch-mcp. Building
// Caddy with this module (xcaddy build --with ...) imports the Caddyfile
// directives and, through them, both HTTP modules:
//
//   - http.handlers.cognito_auth  (package cognitoauth)
//   - http.handlers.cloudwatch_mcp (package cloudwatchmcp)
package caddycloudwatchmcp

import (
	_ "github.com/mcpedge/caddy-cloudwatch-mcp/caddyfile"
)
