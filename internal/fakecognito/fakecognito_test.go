package fakecognito

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/loginbrowser"
)

const cb = "https://app.example.com/callback"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*Fake, *clock) {
	f := Start()
	t.Cleanup(f.Close)
	c := &clock{t: time.Now()}
	f.SetClock(c.now)
	f.AddClient(AppClient{ID: "app", Secret: "app-secret-0123456789", CallbackURLs: []string{cb}})
	f.AddUser(User{Username: "alice", Password: "alice-password-long", Email: "alice@example.com", Groups: []string{"ops"}})
	return f, c
}

// code logs alice in through the hosted UI's form and returns the code.
func code(t *testing.T, f *Fake, extra url.Values) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {cb}, "state": {"st"}, "scope": {"openid email"}}
	for k, v := range extra {
		q[k] = v
	}
	b := loginbrowser.New("alice", "alice-password-long", loginbrowser.StopAt(cb))
	u, err := b.Login(context.Background(), f.URL()+"/oauth2/authorize?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("state") != "st" {
		t.Fatalf("redirect %v", u)
	}
	return u.Query().Get("code")
}

func token(t *testing.T, f *Fake, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("app", "app-secret-0123456789")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestDiscoveryLooksLikeCognitos(t *testing.T) {
	f, _ := setup(t)
	resp, err := http.Get(f.URL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&d)
	if d["issuer"] != f.URL() || d["authorization_endpoint"] != f.URL()+"/oauth2/authorize" || d["token_endpoint"] != f.URL()+"/oauth2/token" {
		t.Fatalf("discovery %v", d)
	}
	if _, ok := d["code_challenge_methods_supported"]; ok {
		t.Fatal("Cognito's discovery has no code_challenge_methods_supported")
	}
	if _, ok := d["registration_endpoint"]; ok {
		t.Fatal("Cognito has no registration endpoint")
	}
}

func TestCodeFlowLikeCognito(t *testing.T) {
	f, c := setup(t)
	form := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}}
	}
	// Basic auth required for a confidential client.
	if st, m := token(t, f, form(code(t, f, nil)), false); st != 400 || m["error"] != "invalid_client" {
		t.Fatalf("without the secret: %d %v", st, m)
	}
	cd := code(t, f, nil)
	st, m := token(t, f, form(cd), true)
	if st != 200 || m["refresh_token"] == "" || m["id_token"] == "" {
		t.Fatalf("token: %d %v", st, m)
	}
	parts := strings.Split(m["access_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["client_id"] != "app" || claims["token_use"] != "access" || claims["scope"] != "openid email" || claims["aud"] != nil || claims["username"] != "alice" {
		t.Fatalf("access token claims %v", claims)
	}
	// Once only.
	if st, m := token(t, f, form(cd), true); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", st, m)
	}
	// Five minutes.
	late := code(t, f, nil)
	c.advance(CodeLifetime + time.Second)
	if st, _ := token(t, f, form(late), true); st != 400 {
		t.Fatal("an expired code was accepted")
	}
	// Refresh, without rotation.
	if st, r := token(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}}, true); st != 200 || r["refresh_token"] != nil {
		t.Fatalf("refresh: %d %v", st, r)
	}
}

func TestPKCECheckedWhenSent(t *testing.T) {
	f, _ := setup(t)
	v := "verifier-verifier-verifier-verifier-verifier"
	sum := sha256.Sum256([]byte(v))
	pk := url.Values{"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	form := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {cb}}
	form.Set("code", code(t, f, pk))
	form.Set("code_verifier", "wrong-wrong-wrong-wrong-wrong-wrong-wrong-wrong")
	if st, _ := token(t, f, form, true); st != 400 {
		t.Fatal("a wrong verifier was accepted")
	}
	form.Set("code", code(t, f, pk))
	form.Set("code_verifier", v)
	if st, m := token(t, f, form, true); st != 200 {
		t.Fatalf("right verifier: %d %v", st, m)
	}
}

func TestCallbackMatchedExactly(t *testing.T) {
	f, _ := setup(t)
	for _, r := range []string{cb + "/", "https://app.example.com:444/callback", "http://app.example.com/callback"} {
		resp, err := http.Get(f.URL() + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {r}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "redirect_mismatch") {
			t.Fatalf("%s: %d %s", r, resp.StatusCode, body)
		}
	}
}
