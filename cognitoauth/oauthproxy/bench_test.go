package oauthproxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// benchEnv is newEnv without the per-line log capture, which would
// dominate the figures.
func benchEnv(b *testing.B) *env {
	e := newEnv(b)
	e.proxy.log = zap.NewNop()
	return e
}

// login runs a whole login for a fresh client and returns what the
// client holds after the token response.
func (e *env) fullLogin(tb testing.TB) (string, map[string]any) {
	clientID := e.register(clientCB)
	a := newAuthRequest(clientID, clientCB)
	b := e.browser(alice, alicePass, clientCB)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, err := b.Login(ctx, e.authURL(a))
	if err != nil {
		tb.Fatal(err)
	}
	status, tok := e.redeem(a, u.Query().Get("code"))
	if status != http.StatusOK {
		tb.Fatalf("token: %d %v", status, tok)
	}
	return clientID, tok
}

// BenchmarkFullLogin is one complete login through the proxy against the
// fake Cognito over real HTTP: register, authorize (consent page),
// approve, upstream login form, callback, token (with the upstream
// redemption). Report: time per login.
func BenchmarkFullLogin(b *testing.B) {
	e := benchEnv(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.fullLogin(b)
	}
}

// BenchmarkTokenEndpointCode is the authorization_code grant alone
// (checks, single-use claim, upstream redemption, response); the codes
// are made before the timer starts.
func BenchmarkTokenEndpointCode(b *testing.B) {
	e := benchEnv(b)
	clientID := e.register(clientCB)
	type pending struct {
		a    *authRequest
		code string
	}
	codes := make([]pending, b.N)
	for i := range codes {
		a := newAuthRequest(clientID, clientCB)
		codes[i] = pending{a, e.codeFor(a, alice, alicePass)}
	}
	client := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for _, p := range codes {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {p.code},
			"redirect_uri": {clientCB}, "code_verifier": {p.a.verifier}}
		resp, err := client.Post(e.origin+PathToken, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("token: %v %v", err, resp)
		}
		resp.Body.Close()
	}
}

// BenchmarkTokenEndpointRefresh is the token endpoint's throughput on the
// refresh_token grant, from parallel clients (report: requests per second
// = 1e9 / ns/op).
func BenchmarkTokenEndpointRefresh(b *testing.B) {
	e := benchEnv(b)
	clientID, tok := e.fullLogin(b)
	rt := tok["refresh_token"].(string)
	body := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			resp, err := client.Post(e.origin+PathToken, "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("refresh: %v %v", err, resp)
				return
			}
			resp.Body.Close()
		}
	})
}

// BenchmarkRegister is dynamic client registration in-process (sealing
// included): the cost of an unauthenticated caller's cheapest request.
func BenchmarkRegister(b *testing.B) {
	e := benchEnv(b)
	body := `{"client_name":"Bench","redirect_uris":["http://127.0.0.1:8765/callback"]}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		req, _ := http.NewRequest(http.MethodPost, e.origin+PathRegister, strings.NewReader(body))
		e.proxy.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatal(rec.Code)
		}
	}
}
