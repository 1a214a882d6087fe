package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// Issue 8: token passthrough, identity forgery and size limits, each
// through the real edge (cognito_auth + cloudwatch_mcp in Caddy) with a
// private fake AWS that records every raw request it receives.

// securityCaddyfile is the edge plus /whoami, which echoes everything
// cognito_auth publishes about the caller. The access log drops
// access_token query parameters: a client that misplaces its token there
// is refused, but Caddy would otherwise log the URI with it.
const securityCaddyfile = globalOptions + `
http://localhost:{$E2E_HTTP_PORT} {
	log {
		output file {$E2E_LOGS}/access.log
		format filter {
			wrap json
			request>uri query {
				replace access_token REDACTED
			}
		}
	}
	# Changes with each private fake, so the config really reloads and
	# the AWS clients are built against the new endpoint.
	vars fake_endpoint {$AWS_ENDPOINT_URL}
	route {
		cognito_auth {
			issuer {$E2E_ISSUER}
			audiences {$E2E_RESOURCE}
			role_arn {$E2E_ROLE}
		}
		handle /whoami {
			respond "id={http.auth.user.id} iss={http.auth.user.issuer} user={http.auth.user.username} email={http.auth.user.email} client={http.auth.user.client_id} groups={http.auth.user.groups} scope={http.auth.user.scope} use={http.auth.user.token_use} session={http.auth.user.aws_role_session} creds={http.vars.cognito_auth.aws_credentials}"
		}
		handle {
			cloudwatch_mcp
		}
	}
}
`

// rawRequest is one request the fake AWS received, as sent.
type rawRequest struct {
	method, path string
	header       http.Header
	body         []byte
	target       string // X-Amz-Target, or the STS Action
}

// recordingFake is a private fake AWS, trusted like the shared one, that
// records every raw request; the edge started after it uses it.
func recordingFake(t *testing.T) (*fakeaws.Fake, func() []rawRequest) {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	f.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{issuer.Issuer()}})
	fakeaws.LogsOf(f).AddLogGroup(
		fakeaws.LogGroup{Name: "/aws/lambda/checkout", CreationTime: time.Now().Add(-48 * time.Hour)},
		fakeaws.LogGroup{Name: "/ecs/payments", CreationTime: time.Now().Add(-24 * time.Hour)},
	)
	var mu sync.Mutex
	var reqs []rawRequest
	f.OnRequest(func(r *http.Request, body []byte) {
		target := r.Header.Get("X-Amz-Target")
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			target = form.Get("Action")
		}
		mu.Lock()
		reqs = append(reqs, rawRequest{r.Method, r.URL.RequestURI(), r.Header.Clone(), bytes.Clone(body), target})
		mu.Unlock()
	})
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	return f, func() []rawRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]rawRequest(nil), reqs...)
	}
}

func startSecurityEdge(t *testing.T) {
	t.Helper()
	scan.Begin(t)
	loadEdge(t, securityCaddyfile)
}

// TestNoTokenPassthroughToAWS runs a full MCP session through the edge:
// every tool is called, with empty and with working arguments. Then every
// request the fake AWS received is searched, headers and body, for the
// client's bearer token and for its signature alone. The token may only
// appear where the edge exchanges it for the user's own credentials: the
// WebIdentityToken parameter of STS AssumeRoleWithWebIdentity. No
// CloudWatch request, and no header of any request, may carry it.
func TestNoTokenPassthroughToAWS(t *testing.T) {
	_, received := recordingFake(t)
	startSecurityEdge(t)
	tok := token("passthrough-user")
	sig := tok[strings.LastIndexByte(tok, '.')+1:]

	c := connect(t, tok)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	working := map[string]map[string]any{
		"describe_log_groups": {"log_group_name_prefix": "/aws/"},
		"analyze_log_group": {"log_group_arn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/checkout",
			"start_time": now.Add(-time.Hour).Format(time.RFC3339), "end_time": now.Format(time.RFC3339)},
		"execute_log_insights_query": {"log_group_names": []string{"/aws/lambda/checkout"}, "query_string": "fields @message | limit 5",
			"start_time": now.Add(-time.Hour).Format(time.RFC3339), "end_time": now.Format(time.RFC3339), "max_timeout": 2},
		"get_metric_data": {"namespace": "AWS/Lambda", "metric_name": "Errors",
			"start_time": now.Add(-time.Hour).Format(time.RFC3339), "end_time": now.Format(time.RFC3339)},
		"get_active_alarms": {},
	}
	calls := 0
	for _, tool := range tools.Tools {
		argSets := []map[string]any{{}}
		if a, ok := working[tool.Name]; ok {
			argSets = append(argSets, a)
		}
		for _, args := range argSets {
			callTool(t, c, tool.Name, args) // isError results are fine; a transport error fails
			calls++
		}
	}
	_ = c.Close()

	reqs := received()
	var exchanges, cloudwatch int
	for i, r := range reqs {
		for name, vals := range r.header {
			for _, v := range vals {
				if strings.Contains(v, sig) {
					t.Errorf("request %d (%s) carries the client's token in header %s", i, r.target, name)
				}
			}
		}
		if !bytes.Contains(r.body, []byte(sig)) {
			if r.target != "AssumeRoleWithWebIdentity" {
				cloudwatch++
			}
			continue
		}
		if r.target != "AssumeRoleWithWebIdentity" {
			t.Errorf("request %d (%s %s, %s) carries the client's token in its body", i, r.method, r.path, r.target)
			continue
		}
		form, err := url.ParseQuery(string(r.body))
		if err != nil || form.Get("WebIdentityToken") != tok {
			t.Errorf("request %d: the token is in the exchange but not (only) as WebIdentityToken", i)
		}
		for k, vs := range form {
			if k != "WebIdentityToken" && strings.Contains(strings.Join(vs, " "), sig) {
				t.Errorf("request %d: the token is in parameter %s too", i, k)
			}
		}
		exchanges++
	}
	if exchanges != 1 {
		t.Errorf("%d credential exchanges, want exactly 1 for one user", exchanges)
	}
	// Non-vacuous: the session reached CloudWatch many times.
	if cloudwatch < 5 {
		t.Fatalf("only %d CloudWatch requests reached the fake; the check proves little", cloudwatch)
	}
	t.Logf("%d tool calls (%d tools); %d requests to the fake AWS checked (headers and bodies): %d CloudWatch, %d token exchange",
		calls, len(tools.Tools), len(reqs), cloudwatch, exchanges)
}

// spoofHeaders are the headers a client might send hoping some layer
// takes them for the identity or the credentials: proxy identity headers
// (oauth2-proxy, ALB, Apache, nginx auth_request), names shaped like our
// vars and placeholders, AWS credential headers, and tokens for another
// user that are forged (unsigned), so no real secret enters the logs.
func spoofHeaders(forged string) map[string]string {
	return map[string]string{
		"X-Forwarded-User":                         "alice",
		"X-Forwarded-Email":                        "alice@example.com",
		"X-Forwarded-Preferred-Username":           "alice",
		"X-Forwarded-Access-Token":                 forged,
		"X-Forwarded-Groups":                       "admins",
		"X-Remote-User":                            "alice",
		"Remote-User":                              "alice",
		"X-User":                                   "alice",
		"X-User-Id":                                "alice",
		"X-Auth-User":                              "alice",
		"X-Auth-Request-User":                      "alice",
		"X-Auth-Request-Email":                     "alice@example.com",
		"X-Auth-Request-Access-Token":              forged,
		"X-Authenticated-User":                     "alice",
		"X-Authenticated-Userid":                   "alice",
		"X-Auth-Sub":                               "alice",
		"X-Test-User":                              "alice",
		"X-Amzn-Oidc-Identity":                     "alice",
		"X-Amzn-Oidc-Data":                         forged,
		"X-Amzn-Oidc-Accesstoken":                  forged,
		"X-Id-Token":                               forged,
		"X-Access-Token":                           forged,
		"Cognito-Auth-Identity":                    "alice",
		"Cognito-Auth-Aws-Credentials":             "AKIAALICEFORGED00000:forged-secret-key-for-alice",
		"X-Cognito-Auth-Identity":                  `{"Subject":"alice","Issuer":"` + issuer.Issuer() + `"}`,
		"X-Cognito-Sub":                            "alice",
		"X-Cognito-Username":                       "alice",
		"X-Cognito-Identity-Id":                    "us-east-1:00000000-0000-0000-0000-00000000a11c",
		"X-Cognito-Groups":                         "admins",
		"Http.Auth.User.Id":                        "alice",
		"Http-Auth-User-Id":                        "alice",
		"Http-Auth-User-Issuer":                    issuer.Issuer(),
		"Http.Vars.Cognito_auth.identity":          "alice",
		"X-Http-Vars-Cognito-Auth-Aws-Credentials": "AKIAALICEFORGED00000",
		"X-Amz-Security-Token":                     "FwoGforgedsessiontokenforalice000000000000",
		"X-Amz-Access-Key-Id":                      "AKIAALICEFORGED00000",
		"X-Aws-Access-Key-Id":                      "AKIAALICEFORGED00000",
		"X-Aws-Secret-Access-Key":                  "forged-secret-key-for-alice",
		"X-Aws-Session-Token":                      "FwoGforgedsessiontokenforalice000000000000",
		"X-Amz-Date":                               "20200101T000000Z",
		"Forwarded":                                `for=127.0.0.1;by=127.0.0.1;user="alice"`,
		"X-Forwarded-For":                          "127.0.0.1",
		"X-Real-Ip":                                "127.0.0.1",
		"Proxy-Authorization":                      "Bearer " + forged,
		"X-Mcp-User":                               "alice",
		"Mcp-Auth-User":                            "alice",
		"X-Template":                               "{http.auth.user.id} {http.vars.cognito_auth.aws_credentials}",
	}
}

type spoofReply struct {
	status int
	body   string
}

func spoofDo(t *testing.T, method, path, tok, session, body string, hdr map[string]string) spoofReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := mcpRequest(method, fmt.Sprintf("http://localhost:%d%s", httpPort, path), tok, session, rd)
	for k, v := range hdr {
		if _, set := req.Header[k]; !set { // the client's own headers win
			req.Header[k] = []string{v} // as given, not canonicalized
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if session == "" && resp.Header.Get("Mcp-Session-Id") != "" {
		return spoofReply{resp.StatusCode, "session=" + resp.Header.Get("Mcp-Session-Id")}
	}
	return spoofReply{resp.StatusCode, string(b)}
}

// toolText pulls the tool result text out of a JSON or SSE answer.
func toolText(body string) (text string, isError bool) {
	payload := body
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok && strings.Contains(d, `"id"`) {
			payload = strings.TrimSpace(d)
		}
	}
	var msg struct {
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if json.Unmarshal([]byte(payload), &msg) != nil || len(msg.Result.Content) == 0 {
		return body, true
	}
	return msg.Result.Content[0].Text, msg.Result.IsError
}

// TestClientHeadersCannotForgeIdentity: bob, with a valid token of his
// own, adds headers, query parameters and JSON-RPC fields claiming to be
// alice or to carry AWS credentials, one at a time and all at once. The
// identity the edge publishes, the session binding and the key every AWS
// call is signed with stay bob's; without a token, the same input gets
// 401 and reaches nothing.
func TestClientHeadersCannotForgeIdentity(t *testing.T) {
	f, _ := recordingFake(t)
	startSecurityEdge(t)
	bob := token("bob")
	forged := testissuer.Forge(map[string]any{"alg": "none", "typ": "JWT"},
		issuer.OIDCAccessClaims("alice", endpoint()), nil)
	spoof := spoofHeaders(forged)
	sets := []map[string]string{spoof}
	for k, v := range spoof {
		sets = append(sets, map[string]string{k: v})
	}
	queries := []string{"", "?sub=alice&user=alice&http.auth.user.id=alice&access_token=" + url.QueryEscape(forged)}

	baseline := spoofDo(t, "GET", "/whoami", bob, "", "", nil)
	if baseline.status != 200 || !strings.Contains(baseline.body, "id=bob ") || !strings.Contains(baseline.body, "session=bob") {
		t.Fatalf("baseline whoami: %d %s", baseline.status, baseline.body)
	}
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"spoof","version":"1"}}}`
	call := func(id int, prefix string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":%q,"aws_access_key_id":"AKIAALICEFORGED00000","profile":"alice"},"_meta":{"cognito_auth.identity":"alice","http.auth.user.id":"alice","sub":"alice"}}}`, id, prefix)
	}

	f.ResetCalls()
	requests, toolCalls := 0, 0
	for i, hdr := range sets {
		for _, q := range queries {
			// Without a token: refused, whatever else is sent.
			for _, path := range []string{"/whoami" + q, "/mcp" + q} {
				r := spoofDo(t, "POST", path, "", "", init, hdr)
				requests++
				if r.status != http.StatusUnauthorized || strings.Contains(r.body, "alice") {
					t.Fatalf("set %d without a token on %s: %d %s", i, path, r.status, r.body)
				}
			}
			// With bob's token: bob, exactly as without the extra input.
			r := spoofDo(t, "GET", "/whoami"+q, bob, "", "", hdr)
			requests++
			if r != baseline {
				t.Fatalf("set %d changed whoami:\n got %d %s\nwant %d %s", i, r.status, r.body, baseline.status, baseline.body)
			}
			r = spoofDo(t, "POST", "/mcp"+q, bob, "", init, hdr)
			requests++
			session, ok := strings.CutPrefix(r.body, "session=")
			if r.status != 200 || !ok {
				t.Fatalf("set %d initialize: %d %s", i, r.status, r.body)
			}
			// A placeholder in an argument stays text: it names no one.
			prefix := fmt.Sprintf("/spoof/%d/{http.auth.user.id}", i)
			r = spoofDo(t, "POST", "/mcp"+q, bob, session, call(i+2, prefix), hdr)
			requests++
			toolCalls++
			if r.status != 200 {
				t.Fatalf("set %d tool call: %d %s", i, r.status, r.body)
			}
			if text, isErr := toolText(r.body); isErr && !strings.Contains(text, "profile") && !strings.Contains(text, "aws_access_key_id") {
				t.Fatalf("set %d tool call failed unexpectedly: %s", i, text)
			}
		}
	}

	// Every AWS call was bob's: signed with the key vended to bob.
	calls := f.Calls("")
	cw := 0
	for _, c := range calls {
		if c.Op == "AssumeRoleWithWebIdentity" {
			continue
		}
		cw++
		sess, ok := f.Session(c.AccessKeyID)
		if !c.Signed || c.Owner != "bob" || !ok || sess.Owner != "bob" {
			t.Fatalf("AWS call %s signed by %q (key %s), want bob's vended key", c.Op, c.Owner, c.AccessKeyID)
		}
	}
	for _, c := range f.Calls("AssumeRoleWithWebIdentity") {
		if c.Owner != "" && c.Owner != "bob" {
			t.Fatalf("credentials vended for %q", c.Owner)
		}
	}
	t.Logf("%d spoof sets (%d headers) x %d query variants: %d requests, %d tool calls, %d AWS calls all signed with bob's key",
		len(sets), len(spoof), len(queries), requests, toolCalls, cw)
}

// TestRequestSizeLimitsThroughEdge: a JSON-RPC body over cloudwatch_mcp's
// 1 MiB cap is 413 (with and without Content-Length), and an
// Authorization header over 16 KiB is 431, both before any AWS call.
func TestRequestSizeLimitsThroughEdge(t *testing.T) {
	f, received := recordingFake(t)
	startSecurityEdge(t)
	tok := token("big-sender")
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"big","version":"1"}}}`
	r := spoofDo(t, "POST", "/mcp", tok, "", init, nil)
	session, ok := strings.CutPrefix(r.body, "session=")
	if r.status != 200 || !ok {
		t.Fatalf("initialize: %d %s", r.status, r.body)
	}
	big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":"` +
		strings.Repeat("a", 1<<20) + `"}}}`
	before := len(received())
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // hides the length: chunked
		}
		resp, err := http.DefaultClient.Do(mcpRequest(http.MethodPost, endpoint(), tok, session, body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("1 MiB+ body (chunked=%v): %d, want 413", chunked, resp.StatusCode)
		}
	}
	r = spoofDo(t, "POST", "/mcp", "", "", init, map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 16<<10+1)})
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB+ Authorization: %d %s, want 431", r.status, r.body)
	}
	if n := len(received()) - before; n != 0 {
		t.Errorf("%d AWS requests caused by oversized input", n)
	}
	_ = f
}
