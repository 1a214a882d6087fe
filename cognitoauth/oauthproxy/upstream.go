package oauthproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Upstream is the authorization server behind the proxy (a Cognito user
// pool's hosted UI, or any OpenID Connect provider) and the one app client
// the proxy uses there.
type Upstream struct {
	// Issuer is the base of the discovery document
	// (<Issuer>/.well-known/openid-configuration).
	Issuer string
	// ClientID is the proxy's app client at the upstream. Its callback URL
	// must be <origin>/oauth/callback.
	ClientID string
	// ClientSecret authenticates the proxy at the token endpoint (HTTP
	// Basic); empty for a public app client.
	ClientSecret string
	// AuthorizeURL and TokenURL override discovery.
	AuthorizeURL string
	TokenURL     string
	// ForwardResource sends the client's resource (RFC 8707) upstream too,
	// for providers that bind the token's audience to it.
	ForwardResource bool
	// HTTPClient makes the calls. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

const (
	upstreamTimeout     = 10 * time.Second
	discoveryRetryAfter = 10 * time.Second
	maxUpstreamBody     = 1 << 20
)

// errUpstreamUnavailable: discovery failed recently or the upstream did
// not answer.
var errUpstreamUnavailable = errors.New("the identity provider is unreachable")

type upstream struct {
	cfg    Upstream
	client *http.Client
	now    func() time.Time

	flight  singleflight.Group
	mu      sync.Mutex
	ep      *endpoints
	retryAt time.Time
}

type endpoints struct {
	authorize, token string
}

func newUpstream(cfg Upstream, now func() time.Time) *upstream {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: upstreamTimeout}
	}
	u := &upstream{cfg: cfg, client: c, now: now}
	if cfg.AuthorizeURL != "" && cfg.TokenURL != "" {
		u.ep = &endpoints{authorize: cfg.AuthorizeURL, token: cfg.TokenURL}
	}
	return u
}

// endpoints returns the upstream's authorize and token URLs, discovering
// them on first use. Discovery happens lazily, so an unreachable issuer
// never keeps Caddy from starting; after a failure it is retried at most
// every discoveryRetryAfter.
func (u *upstream) endpoints(ctx context.Context) (*endpoints, error) {
	u.mu.Lock()
	if ep := u.ep; ep != nil {
		u.mu.Unlock()
		return ep, nil
	}
	if u.now().Before(u.retryAt) {
		u.mu.Unlock()
		return nil, errUpstreamUnavailable
	}
	u.mu.Unlock()
	ch := u.flight.DoChan("discovery", func() (any, error) {
		// One discovery serves every waiter, on its own deadline.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), upstreamTimeout)
		defer cancel()
		ep, err := u.discover(dctx)
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			u.retryAt = u.now().Add(discoveryRetryAfter)
			return nil, err
		}
		u.ep = ep
		return ep, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*endpoints), nil
	case <-ctx.Done():
		return nil, errUpstreamUnavailable
	}
}

func (u *upstream) discover(ctx context.Context) (*endpoints, error) {
	docURL := strings.TrimRight(u.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", errUpstreamUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: discovery answered HTTP %d", errUpstreamUnavailable, resp.StatusCode)
	}
	var doc struct {
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUpstreamBody)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: discovery document is not JSON", errUpstreamUnavailable)
	}
	ep := &endpoints{authorize: u.cfg.AuthorizeURL, token: u.cfg.TokenURL}
	if ep.authorize == "" {
		ep.authorize = doc.AuthorizationEndpoint
	}
	if ep.token == "" {
		ep.token = doc.TokenEndpoint
	}
	for _, e := range []string{ep.authorize, ep.token} {
		if p, err := url.Parse(e); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			// Cognito names no authorize endpoint until the user pool has
			// a domain.
			return nil, fmt.Errorf("%w: discovery names no usable authorization and token endpoints (a Cognito user pool needs a domain; or set authorize_url and token_url)", errUpstreamUnavailable)
		}
	}
	return ep, nil
}

// upstreamTokens is the upstream's token response. The ID token is read
// past: MCP clients need the access token only.
type upstreamTokens struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        string          `json:"scope"`
}

func (t *upstreamTokens) expiresIn() int64 {
	s := strings.Trim(string(t.ExpiresIn), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// upstreamError is a token request the upstream refused (code set) or
// never answered (code empty). desc is the upstream's own description,
// for logs only.
type upstreamError struct {
	status int
	code   string
	desc   string
	cause  error
}

func (e *upstreamError) Error() string {
	if e.code == "" {
		return fmt.Sprintf("identity provider unavailable: %v", e.cause)
	}
	return fmt.Sprintf("identity provider refused the token request: HTTP %d %s", e.status, e.code)
}

// token calls the upstream token endpoint with the proxy's client
// authentication.
func (u *upstream) token(ctx context.Context, form url.Values) (*upstreamTokens, *upstreamError) {
	ep, err := u.endpoints(ctx)
	if err != nil {
		return nil, &upstreamError{cause: err}
	}
	if u.cfg.ClientSecret == "" {
		form.Set("client_id", u.cfg.ClientID)
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.token, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &upstreamError{cause: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if u.cfg.ClientSecret != "" {
		// RFC 6749 §2.3.1: both parts form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(u.cfg.ClientID), url.QueryEscape(u.cfg.ClientSecret))
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, &upstreamError{cause: scrubURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return nil, &upstreamError{cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		var oe oauthError
		_ = json.Unmarshal(body, &oe)
		if oe.Error == "" || resp.StatusCode >= 500 {
			return nil, &upstreamError{status: resp.StatusCode, cause: fmt.Errorf("HTTP %d", resp.StatusCode)}
		}
		return nil, &upstreamError{status: resp.StatusCode, code: safeCode(oe.Error), desc: safeText(oe.Description)}
	}
	var t upstreamTokens
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return nil, &upstreamError{status: resp.StatusCode, cause: errors.New("token response without an access token")}
	}
	return &t, nil
}

// scrubURLError keeps an http.Client error's cause but not its URL: the
// token endpoint URL is harmless, but a wrapped request is not ours to log.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// safeCode keeps an upstream error code if it looks like one (RFC 6749
// §5.2: printable ASCII without quote or backslash), so it can be passed
// on or logged verbatim.
func safeCode(c string) string {
	if c == "" || len(c) > 64 {
		return ""
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !(b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return ""
		}
	}
	return c
}

// safeText shortens an upstream description to printable ASCII for logs
// and error redirects.
func safeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
