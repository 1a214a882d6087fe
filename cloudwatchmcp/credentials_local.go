package cloudwatchmcp

import (
	"errors"
	"net"
	"net/http"
	"net/netip"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// The server's own AWS credentials (`credentials default`, and
// `request_or_default` for a request that brings none) are lent only to
// callers on this machine unless allow_remote_default_credentials says
// otherwise: a site address such as https://localhost listens on every
// interface, and Host is whatever the client sends, so a LAN client could
// otherwise run tools with the server's keys.

var (
	errRemoteDefault = errors.New("this endpoint runs tools with the server's own AWS credentials (credentials default) " +
		"and answers only connections from this machine; an administrator can set allow_remote_default_credentials")
	errRemoteFallback = errors.New("this request carries no AWS credentials of its own, and the server's " +
		"(credentials request_or_default) are lent only to connections from this machine; authenticate through cognito_auth")
)

// checkServerCredentials answers 403 when the request would use the
// server's credentials and its connection does not come from this machine.
func (h *Handler) checkServerCredentials(r *http.Request) error {
	if h.AllowRemoteDefaultCredentials {
		return nil
	}
	switch toolkit.CredentialMode(h.Credentials) {
	case toolkit.CredDefault:
		if !localPeer(r) {
			return caddyhttp.Error(http.StatusForbidden, errRemoteDefault)
		}
	case toolkit.CredRequestOrDefault:
		if p, ok := caddyhttp.GetVar(r.Context(), toolkit.CredentialsVar).(aws.CredentialsProvider); (!ok || p == nil) && !localPeer(r) {
			return caddyhttp.Error(http.StatusForbidden, errRemoteFallback)
		}
	}
	return nil
}

// localPeer reports whether the request's connection comes from this
// machine: its TCP peer (r.RemoteAddr, the connection's remote address,
// never a header) is a loopback address, or it arrived on a Unix socket.
// Behind a local reverse proxy every request is local; such a setup must
// not use the server's credentials for remote users.
func localPeer(r *http.Request) bool {
	if _, unix := r.Context().Value(http.LocalAddrContextKey).(*net.UnixAddr); unix {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}

// warnServerCredentials logs, at start-up, who may use the server's
// credentials.
func (h *Handler) warnServerCredentials(region string) {
	mode := toolkit.CredentialMode(h.Credentials)
	switch mode {
	case toolkit.CredDefault:
		h.logger.Warn("credentials default: every MCP caller shares this server's AWS permissions; use it for local development only",
			zap.String("region", region))
	case toolkit.CredRequestOrDefault:
		h.logger.Warn("credentials request_or_default: MCP callers without vended credentials share this server's AWS permissions",
			zap.String("region", region))
	default:
		return
	}
	if h.AllowRemoteDefaultCredentials {
		h.logger.Warn("allow_remote_default_credentials: callers on other machines may use this server's AWS permissions too",
			zap.String("credentials", h.Credentials))
	} else {
		h.logger.Info("the server's AWS credentials are lent only to connections from this machine (loopback or Unix socket)",
			zap.String("credentials", h.Credentials))
	}
}
