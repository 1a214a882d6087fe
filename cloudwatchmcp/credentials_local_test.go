package cloudwatchmcp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Issue 18, item 7: the server's own credentials serve only this machine.

func TestLocalPeerIsTheConnectionNotHeaders(t *testing.T) {
	for _, tc := range []struct {
		remote string
		hdr    map[string]string
		unix   bool
		local  bool
	}{
		{remote: "127.0.0.1:5000", local: true},
		{remote: "127.9.9.9:5000", local: true},
		{remote: "[::1]:5000", local: true},
		{remote: "[::ffff:127.0.0.1]:5000", local: true},
		{remote: "10.1.2.3:5000"},
		{remote: "192.168.1.20:443"},
		{remote: "[2001:db8::1]:443"},
		{remote: ""},
		{remote: "garbage"},
		{remote: "10.1.2.3:5000", hdr: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1", "Host": "localhost"}},
		{remote: "@", unix: true, local: true},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://localhost/mcp", nil)
		r.RemoteAddr = tc.remote
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if tc.unix {
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.UnixAddr{Name: "/run/caddy.sock", Net: "unix"}))
		}
		if got := localPeer(r); got != tc.local {
			t.Errorf("peer %q %v (unix %v): local = %v", tc.remote, tc.hdr, tc.unix, got)
		}
	}
}

// serveFrom runs one initialize through h as Caddy would, from peer.
func serveFrom(t *testing.T, h *Handler, peer, user string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://localhost/mcp", strings.NewReader(initializeBody))
	r.RemoteAddr = peer
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if user != "" {
		r.Header.Set(testUserHeader, user)
	}
	w := httptest.NewRecorder()
	serveLikeCaddy(h, map[string]aws.Credentials{"alice": {AccessKeyID: "AKIALOCALTEST", SecretAccessKey: "local-test-secret"}}, w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

func TestServerCredentialsOnlyForLocalPeers(t *testing.T) {
	const remote, local = "10.1.2.3:40000", "127.0.0.1:40000"
	for _, tc := range []struct {
		name        string
		h           *Handler
		user        string
		remoteCode  int
		remoteError string
	}{
		{"default", &Handler{Credentials: "default"}, "", http.StatusForbidden, "answers only connections from this machine"},
		{"default, authenticated", &Handler{Credentials: "default"}, "alice", http.StatusForbidden, "answers only connections from this machine"},
		{"default, allowed remote", &Handler{Credentials: "default", AllowRemoteDefaultCredentials: true}, "", http.StatusOK, ""},
		{"request_or_default without credentials", &Handler{Credentials: "request_or_default"}, "carol", http.StatusForbidden, "carries no AWS credentials of its own"},
		{"request_or_default with credentials", &Handler{Credentials: "request_or_default"}, "alice", http.StatusOK, ""},
		{"request_or_default, allowed remote", &Handler{Credentials: "request_or_default", AllowRemoteDefaultCredentials: true}, "carol", http.StatusOK, ""},
		{"request", &Handler{}, "carol", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := provisionTestHandler(t, tc.h, nil)
			code, body := serveFrom(t, h, remote, tc.user)
			if code != tc.remoteCode || !strings.Contains(body, tc.remoteError) {
				t.Fatalf("from %s: %d %s", remote, code, body)
			}
			if code, body := serveFrom(t, h, local, tc.user); code != http.StatusOK {
				t.Fatalf("from %s: %d %s", local, code, body)
			}
		})
	}
}

func TestServerCredentialsWarnings(t *testing.T) {
	for _, tc := range []struct {
		h    *Handler
		want []string
	}{
		{&Handler{Credentials: "default"}, []string{"every MCP caller shares this server's AWS permissions"}},
		{&Handler{Credentials: "request_or_default"}, []string{"callers without vended credentials share this server's AWS permissions"}},
		{&Handler{Credentials: "default", AllowRemoteDefaultCredentials: true}, []string{"every MCP caller shares", "callers on other machines may use this server's AWS permissions"}},
		{&Handler{}, nil},
	} {
		core, logs := observer.New(zapcore.WarnLevel)
		tc.h.logger = zap.New(core)
		provisionTestHandler(t, tc.h, nil)
		if logs.Len() != len(tc.want) {
			t.Errorf("credentials %q remote %v: %d warnings %v", tc.h.Credentials, tc.h.AllowRemoteDefaultCredentials, logs.Len(), logs.All())
		}
		for _, w := range tc.want {
			if logs.FilterMessageSnippet(w).Len() != 1 {
				t.Errorf("credentials %q: no warning %q in %v", tc.h.Credentials, w, logs.All())
			}
		}
	}
	if err := (&Handler{Credentials: "request", AllowRemoteDefaultCredentials: true}).Validate(); err == nil {
		t.Fatal("allow_remote_default_credentials accepted with credentials request")
	}
}
