package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// Hostile-world tests through the real edge (issue 8, tests 2, 4 and 5).
// Each test gets a private fake AWS, so it can replace operations and
// inject faults without disturbing the other tests of this binary.

// hostileCaddyfile is the edge with short, test-sized timeouts: short to
// keep the outage tests quick, long enough for any successful exchange or
// call on a loaded machine (they bound the successes too). The %s
// holes take cloudwatch_mcp options and extra site directives.
const hostileCaddyfile = globalOptions + `
http://localhost:{$E2E_HTTP_PORT} {
	log {
		output file {$E2E_LOGS}/access.log
		format json
	}
	%s
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		role_arn {$E2E_ROLE}
		exchange_timeout 3s
	}
	cloudwatch_mcp {
		%s
	}
}
`

// privateFake starts a fake AWS that trusts the test issuer and points
// every AWS client provisioned from now on (the edge's) at it.
func privateFake(t *testing.T) *fakeaws.Fake {
	t.Helper()
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	f.AddRole(fakeaws.Role{ARN: roleARN, WebIdentityIssuers: []string{issuer.Issuer()}})
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	// The SDK's default retryer backs off up to 20 s; two attempts keep the
	// outage tests short while still exercising a retry.
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	return f
}

func startHostile(t *testing.T, siteExtra, mcpOptions string) {
	t.Helper()
	// Debug logs, access logs and every response read through
	// hostileClient must be free of issued secrets and JWTs (secretscan).
	scan.Begin(t)
	loadEdge(t, fmt.Sprintf(hostileCaddyfile, siteExtra, mcpOptions))
}

// mcpReply is one answered MCP HTTP request.
type mcpReply struct {
	status  int
	header  http.Header
	session string
	msg     struct {
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	body string
}

func (r mcpReply) text() string {
	if len(r.msg.Result.Content) == 0 {
		return ""
	}
	return r.msg.Result.Content[0].Text
}

// hostileClient's responses (status, headers, bodies) are captured for the
// secret scan.
var hostileClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: scan.Transport(&http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}),
}

// mcpDo sends one raw MCP request. session "" sends none; method is the
// HTTP method. The JSON-RPC answer is read from JSON or from an SSE stream.
func mcpDo(client *http.Client, method, tok, session, body string) (mcpReply, error) {
	return mcpDoAt(client, endpoint(), method, tok, session, body)
}

// mcpDoAt is mcpDo against another URL of the edge.
func mcpDoAt(client *http.Client, url, method, tok, session, body string) (mcpReply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp, err := client.Do(mcpRequest(method, url, tok, session, rd))
	if err != nil {
		return mcpReply{}, err
	}
	defer resp.Body.Close()
	var out mcpReply
	out.status, out.header, out.session = resp.StatusCode, resp.Header, resp.Header.Get("Mcp-Session-Id")
	if method == http.MethodGet && resp.StatusCode == http.StatusOK {
		return out, nil // an SSE stream that stays open; the status is the answer
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return out, err
	}
	out.body = string(raw)
	payload := raw
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		payload = nil
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok && strings.Contains(d, `"id"`) {
				payload = []byte(strings.TrimSpace(d))
			}
		}
	}
	if resp.StatusCode == http.StatusOK && len(payload) > 0 {
		if err := json.Unmarshal(payload, &out.msg); err != nil {
			return out, fmt.Errorf("answer %q: %w", payload, err)
		}
	}
	return out, nil
}

const hostileInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}`

func describeCall(id int, prefix string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":%q}}}`, id, prefix)
}

// initSession opens a session for tok and returns its ID.
func initSession(t *testing.T, tok string) string {
	t.Helper()
	r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit)
	if err != nil || r.status != http.StatusOK || r.session == "" {
		t.Fatalf("initialize: %v %d %q %s", err, r.status, r.session, r.body)
	}
	return r.session
}

// taggedLogGroups answers DescribeLogGroups with one group named after the
// requested prefix and records, per call, the prefix and the key owner.
type taggedLogGroups struct {
	mu    sync.Mutex
	calls []taggedCall
}

type taggedCall struct{ prefix, owner, keyID string }

// saw reports whether a call with exactly this prefix reached the fake.
func (tl *taggedLogGroups) saw(prefix string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, c := range tl.calls {
		if c.prefix == prefix {
			return true
		}
	}
	return false
}

func (tl *taggedLogGroups) install(f *fakeaws.Fake) {
	f.Handle("logs", "DescribeLogGroups", func(r *fakeaws.Request) (any, error) {
		p := r.String("logGroupNamePrefix")
		tl.mu.Lock()
		tl.calls = append(tl.calls, taggedCall{prefix: p, owner: r.Owner, keyID: r.AccessKeyID})
		tl.mu.Unlock()
		return map[string]any{"logGroups": []map[string]any{{
			"logGroupName": p, "creationTime": time.Now().UnixMilli(),
			"arn": "arn:aws:logs:us-east-1:123456789012:log-group:" + p + ":*",
		}}}, nil
	})
}

// TestIsolationUnderLoad: 8 users make 500 interleaved tool calls each
// through Caddy (JWT check, per-user credential exchange, MCP, SigV4) while
// a ninth goroutine keeps trying every user's session with another user's
// token. The fake verifies every signature against the key it issued, and
// every call must have been signed with the key issued to the user whose
// request caused it: the log group prefix names the user, the key names
// its owner.
func TestIsolationUnderLoad(t *testing.T) {
	const users, perUser = 8, 500
	f := privateFake(t)
	tagged := &taggedLogGroups{}
	tagged.install(f)
	startHostile(t, "", "")

	names := make([]string, users)
	toks := make([]string, users)
	sessions := make([]string, users)
	for u := range users {
		names[u] = fmt.Sprintf("iso-%d-%d", u, time.Now().UnixNano())
		toks[u] = token(names[u])
		sessions[u] = initSession(t, toks[u])
	}

	var wg sync.WaitGroup
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	start := make(chan struct{})
	for u := range users {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			<-start
			for i := range perUser {
				prefix := fmt.Sprintf("/tenant/%s/%d", names[u], i)
				r, err := mcpDo(hostileClient, http.MethodPost, toks[u], sessions[u], describeCall(i+2, prefix))
				if err != nil || r.status != http.StatusOK || r.msg.Result.IsError {
					fail("%s call %d: %v %d %s", names[u], i, err, r.status, r.body)
					continue
				}
				txt := r.text()
				if !strings.Contains(txt, prefix+`"`) {
					fail("%s call %d did not get its own answer: %s", names[u], i, txt)
				}
				for v, other := range names {
					if v != u && strings.Contains(txt, other) {
						fail("%s call %d saw %s's data: %s", names[u], i, other, txt)
					}
				}
			}
		}(u)
	}
	// Sessions swapped between users while the load runs.
	var swaps, swapRefused atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for k := range 300 {
			a, b := k%users, (k+1+k/users)%users
			if a == b {
				b = (b + 1) % users
			}
			method, body := http.MethodPost, describeCall(9000+k, "/tenant/"+names[a]+"/swapped")
			switch k % 3 {
			case 1:
				method, body = http.MethodGet, ""
			case 2:
				method, body = http.MethodDelete, ""
			}
			r, err := mcpDo(hostileClient, method, toks[a], sessions[b], body)
			swaps.Add(1)
			if err != nil || (r.status != http.StatusForbidden && r.status != http.StatusNotFound) {
				fail("%s %s on %s's session: %v %d %s", names[a], method, names[b], err, r.status, r.body)
				continue
			}
			swapRefused.Add(1)
		}
	}()
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	tagged.mu.Lock()
	calls := append([]taggedCall(nil), tagged.calls...)
	tagged.mu.Unlock()
	if len(calls) != users*perUser {
		t.Fatalf("fake saw %d DescribeLogGroups calls, want %d (a swapped session reached AWS?)", len(calls), users*perUser)
	}
	keyOf := map[string]string{}
	foreign := 0
	for _, c := range calls {
		rest, _ := strings.CutPrefix(c.prefix, "/tenant/")
		user, _, _ := strings.Cut(rest, "/")
		sess, ok := f.Session(c.keyID)
		if c.owner != user || !ok || sess.Owner != user || sess.RoleARN != roleARN {
			foreign++
			continue
		}
		if prev, seen := keyOf[user]; seen && prev != c.keyID {
			t.Errorf("%s signed with two keys", user)
		}
		keyOf[user] = c.keyID
	}
	if foreign != 0 {
		t.Fatalf("%d of %d calls carried a key not issued to the calling user", foreign, len(calls))
	}
	distinct := map[string]bool{}
	for _, k := range keyOf {
		distinct[k] = true
	}
	if len(keyOf) != users || len(distinct) != users {
		t.Fatalf("want %d users with %d distinct keys, got %v", users, users, keyOf)
	}
	if n := f.CallCount("AssumeRoleWithWebIdentity"); n != users {
		t.Fatalf("credential exchanges = %d, want one per user (%d)", n, users)
	}
	if swapRefused.Load() != swaps.Load() {
		t.Fatalf("%d of %d swapped-session requests were not refused", swaps.Load()-swapRefused.Load(), swaps.Load())
	}
	t.Logf("%d users x %d calls: %d calls checked, 0 foreign keys; %d swapped-session requests, all 403/404",
		users, perUser, len(calls), swaps.Load())

	// A session its owner ended stays dead for everyone.
	if r, err := mcpDo(hostileClient, http.MethodDelete, toks[0], sessions[0], ""); err != nil || r.status != http.StatusOK {
		t.Fatalf("owner DELETE: %v %d", err, r.status)
	}
	for _, u := range []int{0, 1} {
		r, err := mcpDo(hostileClient, http.MethodPost, toks[u], sessions[0], describeCall(1, "/tenant/x/1"))
		if err != nil || (r.status != http.StatusNotFound && r.status != http.StatusForbidden) {
			t.Fatalf("%s on an ended session: %v %d", names[u], err, r.status)
		}
	}
}

// TestAWSOutageAndThrottling breaks the vending endpoint and then the
// CloudWatch endpoint in every way we know (5xx, throttling, a hang past
// the timeout, connection resets). Callers get 503 + Retry-After (vending)
// or a readable isError result (tools), never a 500, never a wait much past
// the configured timeout, and the edge recovers with no restart.
func TestAWSOutageAndThrottling(t *testing.T) {
	f := privateFake(t)
	startHostile(t, "", "max_query_timeout 5s")
	faults := []struct {
		name  string
		fault fakeaws.Fault
	}{
		{"5xx", fakeaws.Fault{Status: 500, Code: "InternalFailure", Message: "We encountered an internal error"}},
		{"503", fakeaws.Fault{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable"}},
		{"throttle", fakeaws.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}},
		{"hang", fakeaws.Fault{Delay: time.Minute}},
		{"reset", fakeaws.Fault{Reset: true}},
	}
	// Generous bounds: the point is "bounded by the configured timeout",
	// not a latency figure (exchange_timeout 3s, max_query_timeout 5s).
	const vendBound, toolBound = 15 * time.Second, 25 * time.Second
	cases := 0

	for i, fc := range faults {
		t.Run("vending "+fc.name, func(t *testing.T) {
			f.ClearFaults()
			f.SetFault("AssumeRoleWithWebIdentity", fc.fault)
			tok := token(fmt.Sprintf("outage-vend-%d-%d", i, time.Now().UnixNano()))
			began := time.Now()
			r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit)
			took := time.Since(began)
			cases++
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q, body %s", r.status, r.header.Get("Retry-After"), r.body)
			}
			if took > vendBound {
				t.Fatalf("answered after %v, past exchange_timeout 3s", took)
			}
			t.Logf("%s: 503 Retry-After %s after %v", fc.name, r.header.Get("Retry-After"), took.Round(time.Millisecond))
			// Recovery without a restart.
			f.ClearFaults()
			if r, err := mcpDo(hostileClient, http.MethodPost, tok, "", hostileInit); err != nil || r.status != http.StatusOK {
				t.Fatalf("after the outage: %v %d %s", err, r.status, r.body)
			}
		})
	}

	f.ClearFaults()
	tok := token(fmt.Sprintf("outage-tools-%d", time.Now().UnixNano()))
	session := initSession(t, tok)
	call := func(t *testing.T, id int) (mcpReply, time.Duration) {
		t.Helper()
		began := time.Now()
		r, err := mcpDo(hostileClient, http.MethodPost, tok, session, describeCall(id, "/aws/"))
		if err != nil {
			t.Fatal(err)
		}
		return r, time.Since(began)
	}
	for i, fc := range faults {
		for _, op := range []string{"DescribeLogGroups"} {
			t.Run("tools "+fc.name, func(t *testing.T) {
				f.ClearFaults()
				f.SetFault(op, fc.fault)
				r, took := call(t, 100+i)
				cases++
				if r.status != http.StatusOK || !r.msg.Result.IsError {
					t.Fatalf("want an isError tool result, got %d %s", r.status, r.body)
				}
				if txt := r.text(); len(txt) < 10 || strings.Contains(txt, "panic") || strings.Contains(txt, "goroutine") {
					t.Fatalf("unreadable tool error %q", txt)
				}
				if took > toolBound {
					t.Fatalf("tool answered after %v, past max_query_timeout 5s", took)
				}
				t.Logf("%s: %s (%v)", fc.name, r.text(), took.Round(time.Millisecond))
				f.ClearFaults()
				if r, _ := call(t, 200+i); r.status != http.StatusOK || r.msg.Result.IsError {
					t.Fatalf("after the outage: %d %s", r.status, r.body)
				}
			})
		}
	}
	t.Logf("%d outage cases, each followed by a successful call", cases)
}
