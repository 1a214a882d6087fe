package cognitoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testwait"
)

const (
	vendPool   = "us-east-1:0b8e5ba8-7e2f-4d35-a8a2-2e5b0e6a9f11"
	vendRole   = "arn:aws:iam::123456789012:role/mcp-users"
	adminRole  = "arn:aws:iam::123456789012:role/mcp-admins"
	vendApp    = "arn:aws:sso::123456789012:application/ssoins-1111111111111111/apl-2222222222222222"
	vendAcct   = "123456789012"
	devProv    = "login.mcp.example"
	serverAKID = "AKIASERVER0000000001"
)

// vendEnv is a fake AWS that trusts the Cognito-shaped test issuer the way
// a real account would: an identity pool for the user pool, an IAM OIDC
// provider and role for it, a role the server may assume, and an Identity
// Center application with alice assigned. The SDK finds the fake through
// AWS_ENDPOINT_URL and the server's keys through AWS_ACCESS_KEY_ID, the
// same environment users set.
type vendEnv struct {
	fake  *fakeaws.Fake
	iss   *testissuer.Issuer
	clock *fakeClock
	logs  *observer.ObservedLogs
}

func newVendEnv(t testing.TB) *vendEnv {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	clock := &fakeClock{t: time.Now()}
	is := newCognitoIssuer(t, testissuer.WithClock(clock.now))
	f.SetClock(clock.now)
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: cognitoIss, ClientIDs: []string{testClient}, Keys: is.JWKS()})
	f.AddIdentityPool(fakeaws.IdentityPool{
		ID: vendPool, Providers: []string{loginsKey(cognitoIss)}, DeveloperProvider: devProv,
		AuthenticatedRole: vendRole, TokenRoles: true,
	})
	f.AddRole(fakeaws.Role{ARN: vendRole, MaxSessionDuration: 12 * time.Hour, WebIdentityIssuers: []string{cognitoIss}, AssumeRoleBy: []string{"server"}})
	f.AddSSOApplication(fakeaws.SSOApplication{ARN: vendApp, TrustedIssuer: cognitoIss, AccountAccess: true, Callers: []string{"server"}})
	f.AddSSOUser(fakeaws.SSOUser{UserName: "alice", Email: "alice@example.com", Assignments: map[string][]string{vendAcct: {"ReadOnly"}}})
	f.AddCredentials(aws.Credentials{AccessKeyID: serverAKID, SecretAccessKey: "server-secret"}, "server")
	setAWSEnv(t, f.URL, serverAKID, "server-secret")
	return &vendEnv{fake: f, iss: is, clock: clock}
}

// setAWSEnv points the default AWS configuration chain at the fake and
// nothing else (no shared files, no instance metadata, no retries).
func setAWSEnv(t testing.TB, url, akid, secret string) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent/aws-config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
}

// module provisions cognito_auth with vending against the fake, on the
// env's clock, logging into an observer.
func (e *vendEnv) module(t testing.TB, adjust func(*CognitoAuth)) *CognitoAuth {
	t.Helper()
	m := cognitoModule(t, e.iss, func(m *CognitoAuth) {
		m.TokenUse = "any"
		m.now = e.clock.now
		adjust(m)
	})
	core, logs := observer.New(zapcore.DebugLevel)
	m.logger = zap.New(core)
	e.logs = logs
	return m
}

func (e *vendEnv) idToken(sub string, extra ...any) string {
	c := e.iss.CognitoIDClaims(sub, testClient).With("email", sub+"@example.com")
	for i := 0; i+1 < len(extra); i += 2 {
		c = c.With(extra[i].(string), extra[i+1])
	}
	return e.iss.Mint(c)
}

func (e *vendEnv) accessToken(sub string) string {
	return e.iss.Mint(e.iss.CognitoAccessClaims(sub, testClient))
}

type vendResult struct {
	status int // the status Caddy would send: from the error, else the recorder
	err    error
	auth   *authError
	creds  *Credentials
	repl   *caddy.Replacer
}

func vendServe(t testing.TB, m *CognitoAuth, tok string) vendResult {
	t.Helper()
	return vendServeCtx(t, m, context.Background(), tok)
}

func vendServeCtx(t testing.TB, m *CognitoAuth, ctx context.Context, tok string) vendResult {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://mcp.example.com/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	repl := caddy.NewReplacer()
	req = caddyhttp.PrepareRequest(req, repl, nil, nil)
	rec := httptest.NewRecorder()
	var res vendResult
	res.err = m.ServeHTTP(rec, req, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	}))
	res.status = rec.Code
	var he caddyhttp.HandlerError
	if errors.As(res.err, &he) {
		res.status = he.StatusCode
	}
	if !errors.As(res.err, &res.auth) && rec.Code != http.StatusOK {
		// The rejection was rendered into the response (RFC 6750 body).
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		res.auth = &authError{status: rec.Code, code: body.Error, reason: body.Description}
	}
	res.creds, _ = caddyhttp.GetVar(req.Context(), CredentialsVar).(*Credentials)
	res.repl = repl
	return res
}

// wantOK asserts a vended request and returns its credentials.
func wantOK(t testing.TB, res vendResult) *Credentials {
	t.Helper()
	if res.status != http.StatusOK || res.err != nil || res.creds == nil {
		t.Fatalf("want 200 with credentials, got %d err=%v", res.status, res.err)
	}
	return res.creds
}

func wantRefused(t testing.TB, res vendResult, status int, code, reason string) {
	t.Helper()
	if res.status != status || res.auth == nil || res.auth.code != code || !strings.Contains(res.auth.reason, reason) {
		t.Fatalf("want %d %s %q, got %d %+v (err %v)", status, code, reason, res.status, res.auth, res.err)
	}
	if res.creds != nil {
		t.Fatal("credentials set on a refused request")
	}
}

// useCreds signs a CloudWatch Logs call with vended credentials and returns
// whom the fake attributed it to.
func (e *vendEnv) useCreds(t testing.TB, c aws.CredentialsProvider) string {
	t.Helper()
	e.fake.Handle("logs", "DescribeLogGroups", func(r *fakeaws.Request) (any, error) { return map[string]any{}, nil })
	cfg := fakeaws.TestConfig(e.fake, c)
	if _, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(context.Background(), nil); err != nil {
		t.Fatalf("vended credentials do not work: %v", err)
	}
	calls := e.fake.Calls("DescribeLogGroups")
	return calls[len(calls)-1].Owner
}

func TestVendIdentityPoolIDToken(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	res := vendServe(t, m, e.idToken("alice"))
	c := wantOK(t, res)
	if owner := e.useCreds(t, c); owner != "alice" {
		t.Fatalf("vended keys belong to %q", owner)
	}
	id, _ := e.fake.IdentityID(vendPool, loginsKey(cognitoIss), "alice")
	if c.IdentityID() != id || id == "" {
		t.Fatalf("identity %q, fake says %q", c.IdentityID(), id)
	}
	if got, _ := res.repl.GetString("http.auth.user.aws_identity_id"); got != id {
		t.Fatalf("placeholder %q", got)
	}
	if s, _ := e.fake.Session(c.AccessKeyID()); s.RoleARN != vendRole || !c.Expires().Equal(s.Expires.Truncate(time.Millisecond)) && !c.Expires().Equal(s.Expires.Truncate(time.Second)) {
		t.Fatalf("session %+v, expires %v", s, c.Expires())
	}
	// A second request, with a new token of the same user, is served from
	// the cache.
	wantOK(t, vendServe(t, m, e.idToken("alice")))
	if n, k := e.fake.CallCount("GetId"), e.fake.CallCount("GetCredentialsForIdentity"); n != 1 || k != 1 {
		t.Fatalf("GetId %d, GetCredentialsForIdentity %d; want 1 each", n, k)
	}
	for _, call := range e.fake.Calls("cognito-identity.GetId") {
		if call.Signed {
			t.Fatal("GetId must be anonymous")
		}
	}
	// Bob gets his own keys.
	bob := wantOK(t, vendServe(t, m, e.idToken("bob")))
	if bob.AccessKeyID() == c.AccessKeyID() || e.useCreds(t, bob) != "bob" {
		t.Fatal("bob did not get his own credentials")
	}
}

func TestVendIdentityPoolGroupsPickRole(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	plain := wantOK(t, vendServe(t, m, e.idToken("alice")))
	admin := wantOK(t, vendServe(t, m, e.idToken("alice", "cognito:groups", []string{"admins"},
		"cognito:roles", []string{adminRole}, "cognito:preferred_role", adminRole)))
	sp, _ := e.fake.Session(plain.AccessKeyID())
	sa, _ := e.fake.Session(admin.AccessKeyID())
	if sp.RoleARN != vendRole || sa.RoleARN != adminRole {
		t.Fatalf("groups must key the cache: roles %q and %q", sp.RoleARN, sa.RoleARN)
	}
}

func TestVendIdentityPoolAccessToken(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	res := vendServe(t, m, e.accessToken("alice"))
	wantRefused(t, res, http.StatusForbidden, "invalid_token", "require an ID token")
	if n := e.fake.CallCount(""); n != 0 {
		t.Fatalf("%d AWS calls for a request that cannot succeed", n)
	}

	// With developer_provider the server vouches for the user.
	m = e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool, DeveloperProvider: devProv} })
	c := wantOK(t, vendServe(t, m, e.accessToken("alice")))
	dev := e.fake.Calls("GetOpenIdTokenForDeveloperIdentity")
	if len(dev) != 1 || !dev[0].Signed || dev[0].Owner != "server" {
		t.Fatalf("developer call must be signed by the server: %+v", dev)
	}
	if e.useCreds(t, c) != awsname.Session(cognitoIss, "alice") {
		t.Fatal("developer identity credentials not attributed to alice")
	}
	id, _ := e.fake.IdentityID(vendPool, devProv, awsname.Session(cognitoIss, "alice"))
	if c.IdentityID() != id || id == "" {
		t.Fatalf("identity %q, want %q", c.IdentityID(), id)
	}
}

func TestVendIdentityPoolRefusals(t *testing.T) {
	e := newVendEnv(t)
	// The pool trusts only another app client: AWS says NotAuthorized.
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: cognitoIss, ClientIDs: []string{"another-client"}, Keys: e.iss.JWKS()})
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	res := vendServe(t, m, e.idToken("alice"))
	wantRefused(t, res, http.StatusForbidden, "invalid_token", "AWS refused the token")
	if e.fake.CallCount("GetId") != 1 {
		t.Fatal("want the refusal to come from AWS")
	}
	// The reason never echoes AWS's message or the token.
	if strings.Contains(res.auth.reason, "supported provider") {
		t.Fatalf("reason echoes AWS: %q", res.auth.reason)
	}
}

func TestVendRoleARN(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.RoleARN = vendRole
		m.SessionDuration = caddy.Duration(2 * time.Hour)
	})
	res := vendServe(t, m, e.idToken("alice"))
	c := wantOK(t, res)
	if e.useCreds(t, c) != "alice" {
		t.Fatal("not attributed to alice")
	}
	s, _ := e.fake.Session(c.AccessKeyID())
	alice := awsname.Session(cognitoIss, "alice")
	if s.RoleSessionName != alice || s.RoleARN != vendRole || c.RoleSessionName() != alice {
		t.Fatalf("session %+v", s)
	}
	if d := c.Expires().Sub(e.clock.now()); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Fatalf("session_duration not applied: %v", d)
	}
	if got, _ := res.repl.GetString("http.auth.user.aws_role_session"); got != alice {
		t.Fatalf("placeholder %q", got)
	}
	if calls := e.fake.Calls("AssumeRoleWithWebIdentity"); len(calls) != 1 || calls[0].Signed {
		t.Fatalf("want one unsigned call: %+v", calls)
	}

	// Access tokens have no aud: refused before calling AWS.
	wantRefused(t, vendServe(t, m, e.accessToken("bob")), http.StatusForbidden, "invalid_token", "aud claim")
	if n := e.fake.CallCount("AssumeRoleWithWebIdentity"); n != 1 {
		t.Fatalf("%d calls", n)
	}
	// STS refuses a token whose audience the IAM OIDC provider does not list.
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: cognitoIss, ClientIDs: []string{"another-client"}, Keys: e.iss.JWKS()})
	wantRefused(t, vendServe(t, m, e.idToken("carol")), http.StatusForbidden, "invalid_token", "AWS refused")
	// A role that does not trust the issuer: AccessDenied.
	e.fake.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: cognitoIss, ClientIDs: []string{testClient}, Keys: e.iss.JWKS()})
	e.fake.AddRole(fakeaws.Role{ARN: vendRole, MaxSessionDuration: 12 * time.Hour})
	wantRefused(t, vendServe(t, m, e.idToken("dave")), http.StatusForbidden, "insufficient_scope", "not permitted")
}

func TestVendAssumeRole(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.AssumeRole = vendRole })
	sub := "3f1b2c4d-1111-2222-3333-444455556666"
	res := vendServe(t, m, e.accessToken(sub)) // any token type works
	c := wantOK(t, res)
	calls := e.fake.Calls("sts.AssumeRole")
	if len(calls) != 1 || !calls[0].Signed || calls[0].Owner != "server" {
		t.Fatalf("AssumeRole must be signed with the server's key: %+v", calls)
	}
	s, _ := e.fake.Session(c.AccessKeyID())
	name := awsname.Session(cognitoIss, sub)
	if s.SourceIdentity != name || s.RoleSessionName != name || s.Tags["sub"] != sub || s.Tags["iss"] != cognitoIss || s.Tags["client_id"] != testClient {
		t.Fatalf("session %+v", s)
	}
	if _, ok := s.Tags["email"]; ok {
		t.Fatal("access tokens carry no email; no tag expected")
	}
	if d := c.Expires().Sub(e.clock.now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("default session_duration not 1h: %v", d)
	}
	if e.useCreds(t, c) != name {
		t.Fatal("not attributed to the user")
	}
	// The account rides with the credentials (from the session's ARN), so a
	// consumer sharing something per account needs no GetCallerIdentity.
	if got, _ := c.Retrieve(context.Background()); got.AccountID != "123456789012" {
		t.Fatalf("AccountID %q, want the role's account", got.AccountID)
	}
	// Values STS would reject are left out instead of failing the exchange.
	c2 := wantOK(t, vendServe(t, m, e.idToken("bob", "email", "bob<script>@example.com")))
	if s, _ := e.fake.Session(c2.AccessKeyID()); s.Tags["email"] != "" || s.Tags["sub"] != "bob" {
		t.Fatalf("tags %+v", s.Tags)
	}

	// The role does not trust the server: 403 insufficient_scope.
	e.fake.AddRole(fakeaws.Role{ARN: vendRole, AssumeRoleBy: []string{"someone-else"}})
	wantRefused(t, vendServe(t, m, e.idToken("carol")), http.StatusForbidden, "insufficient_scope", "not permitted")
}

func TestVendAssumeRoleServerKeyRefused(t *testing.T) {
	e := newVendEnv(t)
	setAWSEnv(t, e.fake.URL, serverAKID, "wrong-secret")
	m := e.module(t, func(m *CognitoAuth) { m.AssumeRole = vendRole })
	res := vendServe(t, m, e.idToken("alice"))
	wantRefused(t, res, http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
	if e.logs.FilterMessageSnippet("server's own credentials").FilterLevelExact(zapcore.ErrorLevel).Len() != 1 {
		t.Fatalf("want an error log about the server's credentials, got %v", e.logs.All())
	}
}

func TestVendIdentityCenter(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.IdentityCenter = &IdentityCenterVending{ApplicationARN: vendApp, AccountID: vendAcct, RoleName: "ReadOnly"}
	})
	c := wantOK(t, vendServe(t, m, e.idToken("alice")))
	if got, _ := c.Retrieve(context.Background()); got.AccountID != vendAcct {
		t.Fatalf("AccountID %q, want %s", got.AccountID, vendAcct)
	}
	if e.useCreds(t, c) != "alice" {
		t.Fatal("not attributed to alice")
	}
	// Epoch milliseconds decoded correctly: about one hour ahead.
	if d := c.Expires().Sub(e.clock.now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("expiry %v ahead", d)
	}
	ct := e.fake.Calls("CreateTokenWithIAM")
	if len(ct) != 1 || !ct[0].Signed || ct[0].Owner != "server" {
		t.Fatalf("CreateTokenWithIAM must be signed by the server: %+v", ct)
	}
	if rc := e.fake.Calls("GetRoleCredentials"); len(rc) != 1 || rc[0].Signed {
		t.Fatalf("GetRoleCredentials must be unsigned: %+v", rc)
	}
	// A user without an assignment, and a user unknown to Identity Center.
	e.fake.AddSSOUser(fakeaws.SSOUser{UserName: "bob", Email: "bob@example.com"})
	wantRefused(t, vendServe(t, m, e.idToken("bob")), http.StatusForbidden, "insufficient_scope", "not permitted")
	wantRefused(t, vendServe(t, m, e.idToken("carol")), http.StatusForbidden, "invalid_token", "AWS refused")
}

func TestVendTransientFailuresAndRecovery(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.RoleARN = vendRole
		// Long enough for any exchange on a loaded machine (the recovery
		// after each fault must succeed); the timeout case waits it out.
		m.ExchangeTimeout = caddy.Duration(3 * time.Second)
	})
	faults := []struct {
		name  string
		fault fakeaws.Fault
	}{
		{"throttling", fakeaws.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}},
		{"server error", fakeaws.Fault{Status: 500, Code: "InternalFailure", Message: "boom"}},
		{"unavailable", fakeaws.Fault{Status: 503, Code: "ServiceUnavailable", Message: "down"}},
		{"timeout", fakeaws.Fault{Delay: time.Minute}},
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.SetFault("AssumeRoleWithWebIdentity", tc.fault)
			e.logs.TakeAll()
			res := vendServe(t, m, e.idToken("alice"))
			wantRefused(t, res, http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
			logged := e.logs.FilterMessage("AWS credential exchange failed").TakeAll()
			if len(logged) != 1 {
				t.Fatalf("want one warning, got %v", e.logs.All())
			}
			if tc.fault.Status != 0 && logged[0].ContextMap()["aws_request_id"] == "" {
				t.Fatalf("request id not logged: %v", logged[0].ContextMap())
			}
			// Recovery needs no restart.
			e.fake.ClearFaults()
			wantOK(t, vendServe(t, m, e.idToken("alice-"+strings.ReplaceAll(tc.name, " ", "-"))))
		})
	}

	// Connection refused: the endpoint is gone.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	setAWSEnv(t, dead, serverAKID, "server-secret")
	m2 := e.module(t, func(m *CognitoAuth) { m.RoleARN = vendRole })
	wantRefused(t, vendServe(t, m2, e.idToken("zed")), http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
}

func TestVendWaitBoundedByRequestContext(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.RoleARN = vendRole })
	// The fake holds the exchange until the request has given up, so the
	// request's deadline always comes first, however slow the machine (a
	// delay would race it).
	release := make(chan struct{})
	var opened sync.Once
	open := func() { opened.Do(func() { close(release) }) }
	t.Cleanup(open)
	e.fake.OnRequest(func(_ *http.Request, body []byte) {
		if bytes.Contains(body, []byte("Action=AssumeRoleWithWebIdentity")) {
			<-release
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res := vendServeCtx(t, m, ctx, e.idToken("alice"))
	open()
	wantRefused(t, res, http.StatusServiceUnavailable, "temporarily_unavailable", "")
	if res.err != nil && (!errors.Is(res.auth.cause, context.DeadlineExceeded) || !errors.Is(res.auth.cause, errExchangeWait)) {
		t.Fatalf("want the request's deadline, got %v", res.auth.cause)
	}
	// The exchange itself was not abandoned: it completes and fills the
	// cache for the user's next request.
	testwait.Until(t, "the abandoned exchange", func() bool { return m.credCache.len() == 1 })
	wantOK(t, vendServe(t, m, e.idToken("alice")))
	if n := e.fake.CallCount("AssumeRoleWithWebIdentity"); n != 1 {
		t.Fatalf("%d exchanges, want 1", n)
	}
}

func TestVendSingleflight500(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	// Slow AWS down so that all 500 requests are waiting at once.
	e.fake.SetFault("GetId", fakeaws.Fault{Delay: 200 * time.Millisecond, Times: 1})
	tok := e.idToken("alice")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		keys  sync.Map
		fails = make(chan vendResult, 500)
	)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res := vendServe(t, m, tok)
			if res.status != http.StatusOK || res.creds == nil {
				fails <- res
				return
			}
			keys.Store(res.creds.AccessKeyID(), true)
		}()
	}
	close(start)
	wg.Wait()
	close(fails)
	for res := range fails {
		t.Fatalf("request failed: %d %v", res.status, res.err)
	}
	if n, k := e.fake.CallCount("GetId"), e.fake.CallCount("GetCredentialsForIdentity"); n != 1 || k != 1 {
		t.Fatalf("500 concurrent first requests made %d GetId and %d GetCredentialsForIdentity calls; want exactly 1 each", n, k)
	}
	distinct := 0
	keys.Range(func(any, any) bool { distinct++; return true })
	if distinct != 1 {
		t.Fatalf("%d distinct credentials handed out", distinct)
	}
	// Later requests make none.
	wantOK(t, vendServe(t, m, tok))
	if e.fake.CallCount("") != 2 {
		t.Fatalf("calls after warm-up: %d", e.fake.CallCount(""))
	}
}

func TestVendRenewal(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) { m.IdentityPool = &IdentityPoolVending{ID: vendPool} })
	exchanges := func() int { return e.fake.CallCount("GetCredentialsForIdentity") }
	first := wantOK(t, vendServe(t, m, e.idToken("alice")))

	// 54 minutes in, 6 remain: more than refresh_before (5m), no exchange.
	e.clock.advance(54 * time.Minute)
	if c := wantOK(t, vendServe(t, m, e.idToken("alice"))); c != first || exchanges() != 1 {
		t.Fatal("renewed too early")
	}
	// 56 minutes in: the request is served the still-valid credentials at
	// once and renewal runs in the background.
	e.clock.advance(2 * time.Minute)
	if c := wantOK(t, vendServe(t, m, e.idToken("alice"))); c != first {
		t.Fatal("request waited for the renewal")
	}
	testwait.Until(t, "renewal", func() bool { return exchanges() == 2 && m.credCache.len() == 1 })
	var second *Credentials
	testwait.Until(t, "renewed credentials", func() bool {
		second = wantOK(t, vendServe(t, m, e.idToken("alice")))
		return second != first
	})
	// The identity ID is reused, so renewal skips GetId.
	if second.IdentityID() != first.IdentityID() || e.fake.CallCount("GetId") != 1 || exchanges() != 2 {
		t.Fatalf("GetId %d, GetCredentialsForIdentity %d", e.fake.CallCount("GetId"), exchanges())
	}

	// Renewal fails transiently while the credentials are still valid: they
	// keep being served, and the failure is logged once.
	e.clock.advance(56 * time.Minute)
	e.fake.SetFault("GetCredentialsForIdentity", fakeaws.Fault{Status: 500, Code: "InternalErrorException", Message: "x"})
	e.logs.TakeAll()
	if c := wantOK(t, vendServe(t, m, e.idToken("alice"))); c != second {
		t.Fatal("want the still-valid credentials during an outage")
	}
	testwait.Until(t, "failed renewal", func() bool { return e.logs.FilterMessage("AWS credential exchange failed").Len() == 1 })
	// Once they have expired, never: 503.
	e.clock.advance(5 * time.Minute)
	wantRefused(t, vendServe(t, m, e.idToken("alice")), http.StatusServiceUnavailable, "temporarily_unavailable", "")

	// A refusal during renewal drops the cached credentials at once.
	e.fake.ClearFaults()
	third := wantOK(t, vendServe(t, m, e.idToken("alice")))
	e.clock.advance(56 * time.Minute)
	e.fake.SetFault("GetCredentialsForIdentity", fakeaws.Fault{Status: 400, Code: "NotAuthorizedException", Message: "revoked"})
	wantOK(t, vendServe(t, m, e.idToken("alice")))
	testwait.Until(t, "eviction after refusal", func() bool { return m.credCache.len() == 0 })
	if third.Expired() {
		t.Fatal("clock confusion")
	}
	wantRefused(t, vendServe(t, m, e.idToken("alice")), http.StatusForbidden, "invalid_token", "")
}

func TestVendLRUEviction(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(m *CognitoAuth) {
		m.AssumeRole = vendRole
		m.CredentialsCacheSize = 2
	})
	for _, u := range []string{"a1", "b2", "c3"} {
		wantOK(t, vendServe(t, m, e.idToken(u)))
	}
	if m.credCache.len() != 2 {
		t.Fatalf("cache holds %d entries, bound is 2", m.credCache.len())
	}
	wantOK(t, vendServe(t, m, e.idToken("c3"))) // most recent: still cached
	if n := e.fake.CallCount("AssumeRole"); n != 3 {
		t.Fatalf("%d exchanges, want 3", n)
	}
	wantOK(t, vendServe(t, m, e.idToken("a1"))) // least recent: evicted
	if n := e.fake.CallCount("AssumeRole"); n != 4 {
		t.Fatalf("%d exchanges, want 4 (a1 evicted)", n)
	}
}

func TestVendNotConfigured(t *testing.T) {
	e := newVendEnv(t)
	m := e.module(t, func(*CognitoAuth) {})
	res := vendServe(t, m, e.idToken("alice"))
	if res.status != 200 || res.creds != nil || e.fake.CallCount("") != 0 {
		t.Fatalf("identity-only mode vended: %+v", res)
	}
}

func TestRoleSessionName(t *testing.T) {
	id := &Identity{Issuer: cognitoIss, Subject: "auth0|user 1/é"}
	if got := roleSessionName(id); got != awsname.Session(cognitoIss, id.Subject) || !strings.HasPrefix(got, "auth0-user-1--@") {
		t.Fatalf("roleSessionName = %q", got)
	}
}
