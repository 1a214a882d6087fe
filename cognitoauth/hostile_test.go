package cognitoauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	ti "github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// TestHostileTokens feeds forged, malformed and mis-scoped tokens through
// the middleware. Every one must be answered 401/403 with the right RFC
// 6750 error, must not reach the next handler, must not set an identity and
// must not echo the token.
func TestHostileTokens(t *testing.T) {
	is := newCognitoIssuer(t)
	good := is.CurrentKID()
	encKID, _ := is.AddKey(ti.KeyOptions{Kind: ti.RSA, Use: "enc"})
	unpublished, _ := is.AddKey(ti.KeyOptions{Kind: ti.RSA, Unpublished: true})
	// A key the attacker controls, published by nobody, under the real kid.
	attacker := otherIssuer(t)
	attackerKID, _ := attacker.AddKey(ti.KeyOptions{Kind: ti.RSA, KID: good})

	access := func() ti.Claims { return is.CognitoAccessClaims("user-1", testClient) }
	now := time.Now()
	validToken := is.Mint(access())
	parts := strings.Split(validToken, ".")

	type tc struct {
		name    string
		token   string // Authorization: Bearer <token> unless req is set
		req     func() *http.Request
		adjust  func(*CognitoAuth)
		status  int
		errCode string // "" means a bare challenge without error=
		reason  string // substring of error_description, if any
	}
	cases := []tc{
		// forgery
		{name: "alg none", token: ti.Forge(map[string]any{"alg": "none", "kid": good}, access(), nil),
			status: 401, errCode: "invalid_token", reason: "unsupported signing algorithm"},
		{name: "alg None with signature", token: ti.Forge(map[string]any{"alg": "None", "kid": good}, access(), []byte("x")),
			status: 401, errCode: "invalid_token", reason: "unsupported signing algorithm"},
		{name: "HS256 with RSA public key as secret", token: ti.ForgeHMAC(map[string]any{"alg": "HS256", "kid": good, "typ": "JWT"}, access(), is.PublicKeyPEM(good)),
			status: 401, errCode: "invalid_token", reason: "unsupported signing algorithm"},
		{name: "flipped signature byte", token: flipSignatureByte(validToken),
			status: 401, errCode: "invalid_token", reason: "invalid signature"},
		{name: "signature from another token", token: parts[0] + "." + strings.Split(is.Mint(access().With("sub", "admin")), ".")[1] + "." + parts[2],
			status: 401, errCode: "invalid_token", reason: "invalid signature"},
		{name: "attacker key under a real kid", token: attacker.Mint(access(), ti.KID(attackerKID)),
			status: 401, errCode: "invalid_token", reason: "invalid signature"},
		{name: "kid with path characters", token: is.Mint(access(), ti.HeaderKID("../../../../etc/passwd")),
			status: 401, errCode: "invalid_token", reason: "unknown signing key"},
		{name: "alg differs from JWK alg", token: is.Mint(access(), ti.Alg(jwa.RS384)),
			status: 401, errCode: "invalid_token", reason: "algorithm does not match key"},
		{name: "EC alg on RSA key", token: ti.Forge(map[string]any{"alg": "ES256", "kid": good}, access(), make([]byte, 64)),
			status: 401, errCode: "invalid_token", reason: "algorithm does not match key"},
		{name: "missing kid", token: is.Mint(access(), ti.HeaderKID("")),
			status: 401, errCode: "invalid_token", reason: "no key id"},
		{name: "crit header", token: is.Mint(access(), ti.Header("crit", []string{"urn:example:x"}), ti.Header("urn:example:x", true)),
			status: 401, errCode: "invalid_token", reason: "critical header"},
		{name: "logout token typ", token: is.Mint(access(), ti.Typ("logout+jwt")),
			status: 401, errCode: "invalid_token", reason: "token type"},
		// claims
		{name: "wrong iss", token: is.Mint(access().With("iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")),
			status: 401, errCode: "invalid_token", reason: "issuer mismatch"},
		{name: "iss with trailing slash", token: is.Mint(access().With("iss", cognitoIss+"/")),
			status: 401, errCode: "invalid_token", reason: "issuer mismatch"},
		{name: "wrong client_id", token: is.Mint(is.CognitoAccessClaims("user-1", "client-evil")),
			status: 401, errCode: "invalid_token", reason: "client_id not allowed"},
		{name: "wrong aud on ID token", token: is.Mint(is.CognitoIDClaims("user-1", "client-evil")),
			adjust: func(m *CognitoAuth) { m.TokenUse = "id" },
			status: 401, errCode: "invalid_token", reason: "audience mismatch"},
		{name: "id token where access required", token: is.Mint(is.CognitoIDClaims("user-1", testClient)),
			status: 401, errCode: "invalid_token", reason: "id token where access token required"},
		{name: "token_use missing", token: is.Mint(access().With("token_use", nil)),
			status: 401, errCode: "invalid_token", reason: "token_use"},
		{name: "exp in the past", token: is.Mint(access().With("exp", now.Add(-time.Minute).Unix())),
			status: 401, errCode: "invalid_token", reason: "token expired"},
		{name: "nbf in the future", token: is.Mint(access().With("nbf", now.Add(5*time.Minute).Unix())),
			status: 401, errCode: "invalid_token", reason: "not yet valid"},
		{name: "iat in the future", token: is.Mint(access().With("iat", now.Add(5*time.Minute).Unix())),
			status: 401, errCode: "invalid_token", reason: "issued in the future"},
		{name: "no exp", token: is.Mint(access().With("exp", nil)),
			status: 401, errCode: "invalid_token", reason: "no expiry"},
		{name: "exp as string", token: is.Mint(access().With("exp", "2099-01-01")),
			status: 401, errCode: "invalid_token", reason: "malformed exp"},
		{name: "no sub", token: is.Mint(access().With("sub", nil)),
			status: 401, errCode: "invalid_token", reason: "no subject"},
		{name: "sub as object", token: is.Mint(access().With("sub", map[string]any{"a": 1})),
			status: 401, errCode: "invalid_token", reason: "malformed sub"},
		{name: "aud as number", token: is.Mint(is.CognitoIDClaims("user-1", testClient).With("aud", 7)),
			adjust: func(m *CognitoAuth) { m.TokenUse = "any" },
			status: 401, errCode: "invalid_token", reason: "malformed aud"},
		// keys and format
		{name: "unknown kid", token: is.Mint(access(), ti.KID(unpublished)),
			status: 401, errCode: "invalid_token", reason: "unknown signing key"},
		{name: "key marked use enc", token: is.Mint(access(), ti.KID(encKID)),
			status: 401, errCode: "invalid_token", reason: "not usable for signatures"},
		{name: "two segments", token: parts[0] + "." + parts[1],
			status: 401, errCode: "invalid_token", reason: "malformed token"},
		{name: "four segments", token: validToken + ".x",
			status: 401, errCode: "invalid_token", reason: "malformed token"},
		{name: "non-base64 segments", token: "%%%." + parts[1] + ".***",
			status: 401, errCode: "invalid_token", reason: "malformed token header"},
		{name: "padded base64 header", token: parts[0] + "==." + parts[1] + "." + parts[2],
			status: 401, errCode: "invalid_token", reason: "malformed token header"},
		{name: "header is not JSON", token: ti.Forge("not json", access(), []byte("sig")),
			status: 401, errCode: "invalid_token", reason: "malformed token header"},
		{name: "JSON array payload", token: is.SignRaw([]byte(`[{"sub":"user-1"}]`)),
			status: 401, errCode: "invalid_token", reason: "malformed token payload"},
		{name: "null payload", token: is.SignRaw([]byte(`null`)),
			status: 401, errCode: "invalid_token", reason: "malformed token payload"},
		{name: "8 KB claim", token: is.Mint(access().With("padding", strings.Repeat("A", 8<<10))),
			status: 401, errCode: "invalid_token", reason: "token too large"},
		{name: "12 KB header value", token: strings.Repeat("a", 12<<10),
			status: 401, errCode: "invalid_token", reason: "token too large"},
		{name: "64 KB header value", token: strings.Repeat("a", 64<<10),
			status: 431, errCode: "invalid_request", reason: "authorization header too large"},
		{name: "two Authorization headers", req: func() *http.Request {
			r := bearerRequest(validToken)
			r.Header.Add("Authorization", "Bearer "+validToken)
			return r
		}, status: 400, errCode: "invalid_request", reason: "more than one Authorization header"},
		{name: "empty bearer", token: "", req: func() *http.Request {
			r := bearerRequest("")
			r.Header.Set("Authorization", "Bearer ")
			return r
		}, status: 401, errCode: "invalid_token", reason: "malformed token"},
		{name: "token in query string is ignored", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://mcp.example.com/mcp?access_token="+validToken, nil)
		}, status: 401},
		{name: "token in cookie is ignored", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://mcp.example.com/mcp", nil)
			r.AddCookie(&http.Cookie{Name: "access_token", Value: validToken})
			return r
		}, status: 401},
		{name: "basic scheme", req: func() *http.Request {
			r := bearerRequest("")
			r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			return r
		}, status: 401},
		// authorization
		{name: "missing scope", token: validToken,
			adjust: func(m *CognitoAuth) { m.Scopes = []string{"openid", "mcp/tools"} },
			status: 403, errCode: "insufficient_scope", reason: "scope"},
		{name: "not in group", token: is.Mint(access().With("cognito:groups", []string{"readers"})),
			adjust: func(m *CognitoAuth) { m.Groups = []string{"admins", "ops"} },
			status: 403, errCode: "insufficient_scope", reason: "group"},
	}
	if len(cases) < 20 {
		t.Fatalf("corpus too small: %d", len(cases))
	}

	// Load keys once with a good token so every case sees the full set.
	base := cognitoModule(t, is)
	if res := serve(t, base, bearerRequest(validToken)); res.rec.Code != 200 {
		t.Fatalf("warm-up: %d %s", res.rec.Code, res.rec.Body)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base
			if c.adjust != nil {
				m = cognitoModule(t, is, c.adjust)
			}
			req := bearerRequest(c.token)
			if c.req != nil {
				req = c.req()
			}
			res := serve(t, m, req)
			if res.err != nil {
				t.Fatalf("ServeHTTP returned error %v", res.err)
			}
			if res.rec.Code != c.status {
				t.Fatalf("status = %d, want %d; body %s", res.rec.Code, c.status, res.rec.Body)
			}
			if res.nextRan {
				t.Fatal("next handler ran")
			}
			if res.identity != nil {
				t.Fatal("identity var set")
			}
			if v, _ := res.repl.GetString("http.auth.user.id"); v != "" {
				t.Fatalf("user id placeholder set to %q", v)
			}
			challenge := res.rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `resource_metadata="http://mcp.example.com/.well-known/oauth-protected-resource/mcp"`) {
				t.Fatalf("challenge = %q", challenge)
			}
			if got := res.challengeError(); got != c.errCode {
				t.Fatalf("challenge error = %q, want %q (%s)", got, c.errCode, challenge)
			}
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(res.rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", res.rec.Body, err)
			}
			if c.reason != "" && !strings.Contains(body.Description, c.reason) {
				t.Fatalf("reason = %q, want it to mention %q", body.Description, c.reason)
			}
			if c.errCode != "" && body.Error != c.errCode {
				t.Fatalf("body error = %q", body.Error)
			}
			if c.token != "" && len(c.token) > 20 {
				sig := c.token[len(c.token)-16:]
				if strings.Contains(challenge, sig) || strings.Contains(res.rec.Body.String(), sig) {
					t.Fatal("response echoes the token")
				}
			}
		})
	}
}

func otherIssuer(t *testing.T) *ti.Issuer {
	t.Helper()
	is := ti.New()
	t.Cleanup(is.Close)
	return is
}

func flipSignatureByte(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig, _ := b64.DecodeString(tok[i+1:])
	sig[len(sig)/2] ^= 0x01
	return tok[:i+1] + b64.EncodeToString(sig)
}
