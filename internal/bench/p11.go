package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
)

// The login proxy's upstream app client and user at the fake Cognito.
const (
	loginClient = "bench-proxy-client"
	loginSecret = "bench-proxy-secret-0123456789abcdef"
	loginUser   = "bench-user"
	loginPass   = "bench-user-password-0123"
	// loginRedirect is the MCP client's loopback callback: the browser
	// stops there, nothing listens.
	loginRedirect = "http://127.0.0.1:9/callback"
)

// loginSites are the P11 sites: the login proxy in front of the fake
// Cognito (its limit off: the bench measures the proxy's work, from one
// address), and the P1 request path with and without oauth_proxy.
func (e *benchEnv) loginSites() string {
	callback := e.url("login", "/oauth/callback")
	e.cognito.AddClient(fakecognito.AppClient{ID: loginClient, Secret: loginSecret, CallbackURLs: []string{callback}})
	e.cognito.AddUser(fakecognito.User{Username: loginUser, Password: loginPass, Email: "bench@example.com"})
	key := base64.StdEncoding.EncodeToString(make([]byte, 32)) // fixed: the bench keeps nothing
	proxy := func(extra string) string {
		return `		oauth_proxy {
			client_id ` + loginClient + `
			` + extra + `
			key ` + key + `
			rate_limit off
		}`
	}
	return fmt.Sprintf(`
http://127.0.0.1:%[1]d {
	cognito_auth {
		issuer %[2]s
		client_ids %[3]s
		resource http://127.0.0.1:%[1]d/mcp
%[4]s
	}
	respond "hello"
}
http://127.0.0.1:%[5]d {
	cognito_auth {
		issuer %[7]s
		audiences %[8]s
		resource http://127.0.0.1:%[5]d/mcp
	}
	respond "hello"
}
http://127.0.0.1:%[6]d {
	cognito_auth {
		issuer %[7]s
		audiences %[8]s
		resource http://127.0.0.1:%[6]d/mcp
%[9]s
	}
	respond "hello"
}
`, e.ports["login"], e.cognito.URL(), loginClient, proxy("client_secret "+loginSecret),
		e.ports["proxyoff"], e.ports["proxyon"], e.issuer.Issuer(), benchAudience,
		proxy("authorize_url https://login.example/oauth2/authorize\n\t\t\ttoken_url https://login.example/oauth2/token"))
}

// measureP11: the login proxy. P11a is the time of one whole login through
// it (register, authorize + consent page, approve, the hosted UI's login
// form, callback, token with the upstream redemption) over the same login
// straight at the fake Cognito; P11b the token endpoint's throughput on
// the refresh_token grant over the fake's own; P11c the request path with
// oauth_proxy configured over the same site without it.
func measureP11(e *benchEnv, cfg config) ([]*result, error) {
	a := &result{
		id: "P11a", measure: "ms per whole login through `oauth_proxy` (register, consent page, approve, hosted-UI login, callback, token)",
		baseline: "the same login straight at the fake Cognito (authorize, login, token)", goal: "— (informational)", unit: "ms",
		ratio:  func(s, b float64) float64 { return s - b },
		figFmt: func(v float64) string { return fmt.Sprintf("+%.2f ms", v) },
	}
	b := &result{
		id: "P11b", measure: "rps, `oauth_proxy` token endpoint, refresh_token grant (the upstream refresh included)",
		baseline: "the fake Cognito's own token endpoint, same grant", goal: "— (informational)", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	c := &result{
		id: "P11c", measure: "rps, valid token, `cognito_auth` with `oauth_proxy` + `respond` (the request path)",
		baseline: "the same site without `oauth_proxy`", goal: "≥ 0.90", unit: "req/s",
		ratio: func(s, b float64) float64 { return s / b },
	}
	c.pass, c.miss = atLeast(0.90)

	logins := max(10, cfg.latencyN/8)
	sample := func(login func() error) (float64, error) { return timedP50(logins, login) }
	client := newClient(cfg.concurrency)
	viaProxy := func() error { _, err := e.proxyLogin(client); return err }
	direct := func() error { _, err := e.directLogin(client); return err }
	for range 5 { // warm up: discovery, connections
		if err := viaProxy(); err != nil {
			return nil, fmt.Errorf("P11 login through the proxy: %w", err)
		}
		if err := direct(); err != nil {
			return nil, fmt.Errorf("P11 login at the fake Cognito: %w", err)
		}
	}

	proxyTok, err := e.proxyLogin(client)
	if err != nil {
		return nil, err
	}
	upTok, err := e.directLogin(client)
	if err != nil {
		return nil, err
	}
	refreshProxy := func(int) *http.Request {
		req, _ := http.NewRequest("POST", e.url("login", "/oauth/token"), strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "client_id": {proxyTok.clientID}, "refresh_token": {proxyTok.refresh}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	refreshUp := func(int) *http.Request {
		req, _ := http.NewRequest("POST", e.cognito.URL()+"/oauth2/token", strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {upTok.refresh}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(loginClient, loginSecret)
		return req
	}
	token := e.token("p9-user")
	site := func(name string) func(int) *http.Request {
		u := e.url(name, "/")
		return func(int) *http.Request {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		}
	}
	if _, err := rps(client, cfg.concurrency, cfg.duration/3, site("proxyon")); err != nil {
		return nil, fmt.Errorf("P11c warm-up: %w", err)
	}

	for i := range cfg.rounds {
		first := i%2 == 0
		pair := func(r *result, subj, base func() (float64, error)) error {
			fs := []func() (float64, error){subj, base}
			if !first {
				fs = []func() (float64, error){base, subj}
			}
			var v [2]float64
			for j, f := range fs {
				x, err := f()
				if err != nil {
					return fmt.Errorf("%s: %w", r.id, err)
				}
				v[j] = x
			}
			if !first {
				v[0], v[1] = v[1], v[0]
			}
			r.subject, r.base = append(r.subject, v[0]), append(r.base, v[1])
			return nil
		}
		load := func(mk func(int) *http.Request) func() (float64, error) {
			return func() (float64, error) { return rps(client, cfg.concurrency, cfg.duration, mk) }
		}
		if err := pair(a, func() (float64, error) { return sample(viaProxy) }, func() (float64, error) { return sample(direct) }); err != nil {
			return nil, err
		}
		if err := pair(b, load(refreshProxy), load(refreshUp)); err != nil {
			return nil, err
		}
		if err := pair(c, load(site("proxyon")), load(site("proxyoff"))); err != nil {
			return nil, err
		}
	}
	_, sm, _ := mmm(a.subject)
	a.note = fmt.Sprintf("%d sequential logins per round and side, each in a fresh scripted browser (internal/loginbrowser: cookie jar, real forms); "+
		"a whole login through the proxy takes %s ms (median): 7 requests from client and browser plus the proxy's upstream redemption, against 3 straight at the fake", logins, num(sm))
	b.note = "The proxy's refresh opens the client-bound refresh token, calls the fake's token endpoint and seals the new one; the ratio is what that costs on these cores"
	c.note = "Both sites verify the same token; the one with `oauth_proxy` first checks whether the request is one of the proxy's endpoints"
	return []*result{a, b, c}, nil
}

// loginTokens is what a client holds after a login.
type loginTokens struct {
	clientID, access, refresh string
}

// proxyLogin is an MCP client's whole login through the proxy, in a
// fresh browser.
func (e *benchEnv) proxyLogin(client *http.Client) (*loginTokens, error) {
	resp, err := client.Post(e.url("login", "/oauth/register"), "application/json",
		strings.NewReader(`{"client_name":"Bench client","redirect_uris":["`+loginRedirect+`"]}`))
	if err != nil {
		return nil, err
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("register: HTTP %d %v", resp.StatusCode, err)
	}
	verifier, challenge := pkce()
	q := url.Values{
		"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {loginRedirect}, "state": {"bench-state"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {e.url("login", "/mcp")},
	}
	code, err := browse(e.url("login", "/oauth/authorize?")+q.Encode(), loginRedirect)
	if err != nil {
		return nil, err
	}
	t, err := tokenRequest(client, e.url("login", "/oauth/token"), url.Values{
		"grant_type": {"authorization_code"}, "client_id": {reg.ClientID}, "code": {code},
		"redirect_uri": {loginRedirect}, "code_verifier": {verifier}, "resource": {e.url("login", "/mcp")},
	}, false)
	if t != nil {
		t.clientID = reg.ClientID
	}
	return t, err
}

// directLogin is the same login straight at the fake Cognito with the
// proxy's app client: what the proxy adds is the difference.
func (e *benchEnv) directLogin(client *http.Client) (*loginTokens, error) {
	callback := e.url("login", "/oauth/callback")
	verifier, challenge := pkce()
	q := url.Values{
		"response_type": {"code"}, "client_id": {loginClient}, "redirect_uri": {callback}, "state": {"bench-state"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"openid"},
	}
	code, err := browse(e.cognito.URL()+"/oauth2/authorize?"+q.Encode(), callback)
	if err != nil {
		return nil, err
	}
	return tokenRequest(client, e.cognito.URL()+"/oauth2/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier},
	}, true)
}

// browse follows an authorization URL in a fresh scripted browser and
// returns the code it is sent back with.
func browse(authURL, redirect string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, err := loginbrowser.New(loginUser, loginPass, loginbrowser.StopAt(redirect)).Login(ctx, authURL)
	if err != nil {
		return "", err
	}
	if u.Query().Get("code") == "" {
		return "", fmt.Errorf("no code in the redirect: %s", u.Query().Get("error"))
	}
	return u.Query().Get("code"), nil
}

func tokenRequest(client *http.Client, endpoint string, form url.Values, basic bool) (*loginTokens, error) {
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(loginClient, loginSecret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK || t.AccessToken == "" || t.RefreshToken == "" {
		return nil, fmt.Errorf("token: HTTP %d %v", resp.StatusCode, err)
	}
	return &loginTokens{access: t.AccessToken, refresh: t.RefreshToken}, nil
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}
