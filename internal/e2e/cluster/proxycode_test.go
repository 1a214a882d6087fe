package cluster

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
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/caddyproc"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
)

const (
	proxyClient = "clusterproxyappclient"
	proxySecret = "s3cr3t-of-the-cluster-proxy-0123456789"
	alicePass   = "alice-long-enough-password-1"
)

// proxySite is a cognito_auth site with the OAuth login proxy whose
// public resource is resource (the same for every instance, as behind a
// load balancer), keeping its used codes in Redis.
func proxySite(port int, cognitoURL, resource string) string {
	return fmt.Sprintf(`
http://127.0.0.1:%d {
	cognito_auth {
		issuer %s
		client_ids %s
		resource %s
		redis {env.REDIS_URL}
		oauth_proxy {
			client_id %s
			client_secret {env.PROXY_SECRET}
			key {env.PROXY_KEY}
		}
	}
	respond "ok"
}
`, port, cognitoURL, proxyClient, resource, proxyClient)
}

// Issue 14, oauth_proxy part: a proxy code redeemed on instance A and
// replayed on instance B (separate processes sharing the sealing key and
// Redis) is refused by B from Redis, before any call to the identity
// provider.
func TestProxyCodeReplayOnAnotherInstanceIsRefusedByRedis(t *testing.T) {
	srv := redistest.New(t)
	cog := fakecognito.Start()
	defer cog.Close()
	cog.AddUser(fakecognito.User{Username: "alice", Password: alicePass, Sub: aliceSub})
	portA, portB := caddyproc.FreePort(t), caddyproc.FreePort(t)
	originA, originB := fmt.Sprintf("http://127.0.0.1:%d", portA), fmt.Sprintf("http://127.0.0.1:%d", portB)
	resource := originA + "/mcp"
	cog.AddClient(fakecognito.AppClient{ID: proxyClient, Secret: proxySecret, CallbackURLs: []string{originA + "/oauth/callback"}})
	keyBytes := make([]byte, 32)
	_, _ = rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	env := []string{"REDIS_URL=" + srv.URL(), "PROXY_SECRET=" + proxySecret, "PROXY_KEY=" + key}
	a := &node{Instance: caddyproc.Start(t, "a", "", proxySite(portA, cog.URL(), resource), env...), url: originA + "/"}
	b := &node{Instance: caddyproc.Start(t, "b", "", proxySite(portB, cog.URL(), resource), env...), url: originB + "/"}
	caddyproc.WaitHTTP(t, a.url)
	caddyproc.WaitHTTP(t, b.url)

	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", caddyproc.FreePort(t))
	clientID := register(t, originA, redirect)
	verifier := base64.RawURLEncoding.EncodeToString(keyBytes[:16]) + "-verifier-of-the-e2e-client"
	challenge := sha256.Sum256([]byte(verifier))
	authURL := originA + "/oauth/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {"state-1234"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(challenge[:])}, "code_challenge_method": {"S256"},
		"resource": {resource}, "scope": {"openid"},
	}.Encode()
	browser := loginbrowser.New("alice", alicePass, loginbrowser.StopAt(redirect))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	landed, err := browser.Login(ctx, authURL)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	code := landed.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %v", landed)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "resource": {resource}}
	status, body := postForm(t, originA+"/oauth/token", form)
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("redemption on a: %d %v", status, body)
	}
	status, body = postForm(t, originB+"/oauth/token", form)
	if d, _ := body["error_description"].(string); status != 400 || body["error"] != "invalid_grant" || !strings.Contains(d, "already been used") {
		t.Fatalf("replay on b: %d %v, want 400 invalid_grant: already been used", status, body)
	}
	if tr := cog.TokenRequests(); len(tr) != 1 {
		t.Fatalf("%d token requests reached the identity provider: the replay was not stopped by Redis", len(tr))
	}

	scan := secretscan.New() // the fake user pool's codes and refresh tokens, every JWT
	scan.Add("proxy code", code)
	scan.Add("sealing key", key)
	scan.Add("client secret", proxySecret)
	scan.Add("PKCE verifier", verifier)
	if rt, _ := body["refresh_token"].(string); rt != "" {
		scan.Add("proxy refresh token", rt)
	}
	scan.Capture("redis dump", srv.Dump(t).Text())
	for _, n := range []*node{a, b} {
		scan.Capture("caddy log of "+n.Name, []byte(n.Log()))
	}
	for _, p := range browser.Pages {
		scan.Capture("page "+p.URL, []byte(p.Body))
	}
	scan.Check(t)
	checkSecrets(t, srv, []*node{a, b}, aliceSub)
}

func register(t *testing.T, origin, redirect string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"client_name": "cluster e2e", "redirect_uris": []string{redirect}})
	resp, err := http.Post(origin+"/oauth/register", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 201 || r.ClientID == "" {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return r.ClientID
}

func postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: %d, not JSON: %v", u, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}
