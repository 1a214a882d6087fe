// Package fakecognito is a wire-level fake of an Amazon Cognito user pool
// with a domain: its OpenID discovery document, its JWKS and its hosted UI
// (/oauth2/authorize with a login form, /oauth2/token). It behaves like the
// real one where an MCP login proxy can tell:
//
//   - discovery has no code_challenge_methods_supported and no
//     registration_endpoint (which is why MCP clients cannot use Cognito
//     directly);
//   - /oauth2/authorize matches redirect_uri exactly against the app
//     client's callback URLs, port included, and shows a login form with
//     a CSRF cookie;
//   - codes are valid once, for 5 minutes, and bound to client, redirect
//     URI and (when sent) the PKCE S256 challenge;
//   - /oauth2/token authenticates confidential app clients with HTTP
//     Basic (or client_secret_post) and answers with access tokens that
//     carry client_id, token_use and scope but no aud, ID tokens, and
//     refresh tokens that are not rotated;
//   - errors are Cognito's: an error page for an unknown client or
//     redirect, JSON {"error": ...} from the token endpoint.
//
// Tokens are real JWTs signed by an internal/testissuer key published in
// the fake's JWKS. The clock is injectable. Every secret it hands out
// (codes, refresh tokens, client secrets, passwords, PKCE verifiers it was
// shown) is listed by Secrets for leak scans.
package fakecognito

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// CodeLifetime is how long Cognito's authorization codes are valid.
const CodeLifetime = 5 * time.Minute

// AppClient is a user pool app client.
type AppClient struct {
	ID string
	// Secret makes it a confidential client; empty is a public client.
	Secret string
	// CallbackURLs are the allowed redirect URIs, matched exactly.
	CallbackURLs []string
	// Scopes the client may request; empty allows openid, email, phone,
	// profile.
	Scopes []string
}

// User is a user pool user.
type User struct {
	Username string
	Password string
	// Sub defaults to a generated UUID-like value.
	Sub    string
	Email  string
	Groups []string
}

// Fake is a running fake user pool. It is safe for concurrent use.
type Fake struct {
	srv    *httptest.Server
	issuer *testissuer.Issuer

	mu       sync.Mutex
	now      func() time.Time
	clients  map[string]*AppClient
	users    map[string]*User
	logins   map[string]*pendingLogin // hosted-UI sessions by id
	codes    map[string]*issuedCode
	refresh  map[string]*refreshGrant
	secrets  []string
	tokenLog []TokenRequest
	authLog  []AuthorizeRequest
	down     bool
}

// AuthorizeRequest records what reached /oauth2/authorize.
type AuthorizeRequest struct {
	ClientID, RedirectURI, Scope, Resource, CodeChallengeMethod string
	HasState, HasChallenge                                      bool
}

// TokenRequest records what reached /oauth2/token.
type TokenRequest struct {
	GrantType  string
	ClientID   string
	AuthMethod string // "client_secret_basic", "client_secret_post" or "none"
	Verifier   bool   // a code_verifier was sent
	Resource   string
	Status     int
	Error      string
}

var (
	allMu sync.Mutex
	all   []*Fake
)

// AllSecrets returns the secrets of every fake of the process, for leak
// scans (internal/secretscan tracks it).
func AllSecrets() []string {
	allMu.Lock()
	fakes := append([]*Fake(nil), all...)
	allMu.Unlock()
	var out []string
	for _, f := range fakes {
		out = append(out, f.Secrets()...)
	}
	return out
}

// Start runs a fake user pool on a free loopback port.
func Start() *Fake {
	f := &Fake{
		now:     time.Now,
		clients: map[string]*AppClient{},
		users:   map[string]*User{},
		logins:  map[string]*pendingLogin{},
		codes:   map[string]*issuedCode{},
		refresh: map[string]*refreshGrant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks.json", f.serveJWKS)
	mux.HandleFunc("GET /oauth2/authorize", f.serveAuthorize)
	mux.HandleFunc("POST /login", f.serveLogin)
	mux.HandleFunc("POST /oauth2/token", f.serveToken)
	mux.HandleFunc("GET /error", f.serveErrorPage)
	f.srv = httptest.NewUnstartedServer(f.gate(mux))
	f.srv.Start()
	f.issuer = testissuer.New(testissuer.WithIssuer(f.srv.URL), testissuer.WithClock(f.clock))
	allMu.Lock()
	all = append(all, f)
	allMu.Unlock()
	return f
}

// Close stops the fake.
func (f *Fake) Close() {
	f.srv.Close()
	f.issuer.Close()
}

// URL is the user pool's issuer, which is also where its discovery
// document, JWKS and hosted UI are served.
func (f *Fake) URL() string { return f.srv.URL }

// Addr is the fake's listening address.
func (f *Fake) Addr() net.Addr { return f.srv.Listener.Addr() }

// Issuer returns the test issuer that signs the fake's tokens.
func (f *Fake) Issuer() *testissuer.Issuer { return f.issuer }

// SetClock replaces the clock (codes, token times).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	f.now = now
	f.mu.Unlock()
}

func (f *Fake) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

// SetDown makes every endpoint answer 503 while down.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *Fake) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		if down {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AddClient registers an app client (replacing one with the same ID).
func (f *Fake) AddClient(c AppClient) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cc := c
	f.clients[c.ID] = &cc
	if c.Secret != "" {
		f.secrets = append(f.secrets, c.Secret)
	}
}

// AddUser creates a user (replacing one with the same username).
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	uu := u
	if uu.Sub == "" {
		uu.Sub = newUUID()
	}
	f.users[u.Username] = &uu
	f.secrets = append(f.secrets, u.Password)
}

// Sub returns a user's subject.
func (f *Fake) Sub(username string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.users[username]; u != nil {
		return u.Sub
	}
	return ""
}

// Secrets lists every secret handed out or shown to the fake.
func (f *Fake) Secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.secrets...)
}

func (f *Fake) addSecret(s string) {
	f.secrets = append(f.secrets, s)
}

// TokenRequests returns what reached the token endpoint, in order.
func (f *Fake) TokenRequests() []TokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TokenRequest(nil), f.tokenLog...)
}

// AuthorizeRequests returns what reached the authorize endpoint, in order.
func (f *Fake) AuthorizeRequests() []AuthorizeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AuthorizeRequest(nil), f.authLog...)
}

// ResetLogs forgets the recorded requests.
func (f *Fake) ResetLogs() {
	f.mu.Lock()
	f.tokenLog, f.authLog = nil, nil
	f.mu.Unlock()
}

func (f *Fake) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	// Cognito's document, field for field: no code_challenge_methods_supported,
	// no registration_endpoint.
	writeJSON(w, http.StatusOK, map[string]any{
		"authorization_endpoint":                f.srv.URL + "/oauth2/authorize",
		"end_session_endpoint":                  f.srv.URL + "/logout",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"issuer":                                f.srv.URL,
		"jwks_uri":                              f.srv.URL + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code", "token"},
		"revocation_endpoint":                   f.srv.URL + "/oauth2/revoke",
		"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		"subject_types_supported":               []string{"public"},
		"token_endpoint":                        f.srv.URL + "/oauth2/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"userinfo_endpoint":                     f.srv.URL + "/oauth2/userInfo",
	})
}

func (f *Fake) serveJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, f.issuer.JWKS())
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
