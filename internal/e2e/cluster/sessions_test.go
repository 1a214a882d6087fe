package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/caddyproc"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
)

// markerGroup is a log group whose name stands for tool results: it must
// reach the client and never be readable in Redis.
const markerGroup = "/plaintext/result-marker-7f3a"

// mcpSite is a site whose MCP sessions live in {env.REDIS_URL}; its tools
// use the server's credentials (the fake AWS, from the environment).
func mcpSite(port int) string { return mcpSiteIdle(port, "10m") }

// mcpSiteIdle is mcpSite with session_idle_timeout idle.
func mcpSiteIdle(port int, idle string) string {
	return fmt.Sprintf(`
http://127.0.0.1:%d {
	cognito_auth {
		issuer %s
		audiences %s
	}
	cloudwatch_mcp {
		credentials default
		session_idle_timeout %s
		redis {env.REDIS_URL}
	}
}
`, port, issuer.Issuer(), audience, idle)
}

// sessionCluster is n instances sharing Redis and Caddy storage (for the
// session secret), with the fake AWS behind them.
type sessionCluster struct {
	idle  string // session_idle_timeout; default 10m
	nodes []*node
	redis *redistest.Server
	aws   *fakeaws.Fake
	env   []string
	globs string
}

func startSessionCluster(t *testing.T, n int) *sessionCluster {
	return startSessionClusterIdle(t, n, "10m")
}

func startSessionClusterIdle(t *testing.T, n int, idle string) *sessionCluster {
	t.Helper()
	srv := redistest.New(t)
	f := fakeaws.Start()
	t.Cleanup(f.Close)
	fakeaws.LogsOf(f).AddLogGroup(fakeaws.LogGroup{Name: markerGroup}).
		SetQueryResults("quick", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("@message", markerGroup)},
			Plan: &fakeaws.QueryPlan{Polls: 3}}).
		SetQueryResults("slow", fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{fakeaws.Row("@message", markerGroup)},
			Plan: &fakeaws.QueryPlan{Polls: 40}})
	creds := f.IssueCredentials("server", time.Now().Add(24*time.Hour))
	c := &sessionCluster{redis: srv, aws: f, idle: idle,
		globs: "\tstorage file_system " + filepath.Join(t.TempDir(), "shared-storage"),
		env: []string{"REDIS_URL=" + srv.URL(), "AWS_ENDPOINT_URL=" + f.URL, "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
			"AWS_SESSION_TOKEN=" + creds.SessionToken, "AWS_EC2_METADATA_DISABLED=true"}}
	for i := range n {
		c.start(t, string(rune('a'+i)))
	}
	return c
}

func (c *sessionCluster) start(t *testing.T, name string) *node {
	t.Helper()
	port := caddyproc.FreePort(t)
	inst := caddyproc.Start(t, name, c.globs, mcpSiteIdle(port, c.idle), c.env...)
	nd := &node{Instance: inst, url: fmt.Sprintf("http://127.0.0.1:%d/", port), port: port}
	caddyproc.WaitHTTP(t, nd.url)
	c.nodes = append(c.nodes, nd)
	return nd
}

// reply is one MCP HTTP answer.
type reply struct {
	status     int
	session    string
	retryAfter string
	body       string
}

// mcpDo sends an MCP request (body "" for GET and DELETE) to url as tok.
func mcpDo(t *testing.T, method, url, tok, sid, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, session: resp.Header.Get("Mcp-Session-Id"), retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"cluster-test","version":"1"}}}`

// initialize opens a session on n as tok and returns its id.
func initialize(t *testing.T, n *node, tok string) string {
	t.Helper()
	r := mcpDo(t, http.MethodPost, n.url, tok, "", initBody)
	if r.status != 200 || r.session == "" {
		t.Fatalf("initialize on %s: %d %q %s", n.Name, r.status, r.session, r.body)
	}
	if r := mcpDo(t, http.MethodPost, n.url, tok, r.session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); r.status != 202 {
		t.Fatalf("initialized on %s: %d %s", n.Name, r.status, r.body)
	}
	return r.session
}

// queryCall is a Logs Insights query (its text containing which) that
// reports progress.
func queryCall(which string, id int) string {
	now := time.Now().UTC()
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"execute_log_insights_query","_meta":{"progressToken":"p%d"},`+
		`"arguments":{"log_group_names":[%q],"query_string":"fields @message | filter @message like /%s/","start_time":%q,"end_time":%q,"max_timeout":120}}}`,
		id, id, markerGroup, which, now.Add(-time.Hour).Format(time.RFC3339), now.Format(time.RFC3339))
}

func callDescribe(t *testing.T, n *node, tok, sid string) reply {
	t.Helper()
	return mcpDo(t, http.MethodPost, n.url, tok, sid,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"log_group_name_prefix":"/plaintext"}}}`)
}

// openStream opens the standalone GET stream on n and returns its status;
// the stream is closed when t ends.
func openStream(t *testing.T, n *node, tok, sid string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET on %s: %v", n.Name, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET on %s: %s", n.Name, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode
}

// Issue 14, proof 2: initialize on A, tools/call on B, GET stream on C,
// DELETE on B → A answers 404; another user's token with the session id
// → 403 on every instance.
func TestSessionServedByEveryInstance(t *testing.T) {
	c := startSessionCluster(t, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	alice, bob := token(aliceSub), token(bobSub)

	sid := initialize(t, a, alice)
	r := callDescribe(t, b, alice, sid)
	if r.status != 200 || !strings.Contains(r.body, markerGroup) || strings.Contains(r.body, `"isError":true`) {
		t.Fatalf("tools/call on b: %d %s", r.status, r.body)
	}
	// A query with progress: its events (the result among them) are
	// recorded, sealed, in Redis.
	r = mcpDo(t, http.MethodPost, cc.url, alice, sid, queryCall("quick", 9))
	if r.status != 200 || !strings.Contains(r.body, "notifications/progress") || !strings.Contains(r.body, markerGroup) {
		t.Fatalf("query on c: %d %s", r.status, r.body)
	}
	if s := openStream(t, cc, alice, sid); s != 200 {
		t.Fatalf("GET stream on c: %d", s)
	}
	// logging/setLevel on C holds on A.
	if r := mcpDo(t, http.MethodPost, cc.url, alice, sid, `{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}`); r.status != 200 {
		t.Fatalf("setLevel on c: %d %s", r.status, r.body)
	}

	for _, n := range c.nodes {
		for _, m := range []string{http.MethodPost, http.MethodDelete} {
			body := ""
			if m == http.MethodPost {
				body = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
			}
			if r := mcpDo(t, m, n.url, bob, sid, body); r.status != 403 {
				t.Fatalf("bob's %s on %s: %d %s", m, n.Name, r.status, r.body)
			}
		}
		if s := openStream(t, n, bob, sid); s != 403 {
			t.Fatalf("bob's GET on %s: %d", n.Name, s)
		}
	}
	checkSessionSecrets(t, c, sid)

	if r := mcpDo(t, http.MethodDelete, b.url, alice, sid, ""); r.status != 200 {
		t.Fatalf("DELETE on b: %d %s", r.status, r.body)
	}
	for _, n := range c.nodes {
		if r := callDescribe(t, n, alice, sid); r.status != 404 {
			t.Fatalf("after DELETE, %s: %d %s", n.Name, r.status, r.body)
		}
	}
	// A new session works, wherever it starts.
	sid2 := initialize(t, cc, alice)
	if r := callDescribe(t, a, alice, sid2); r.status != 200 {
		t.Fatalf("new session on a: %d %s", r.status, r.body)
	}
}

// Issue 14, proof 4: Redis restarted without persistence → sessions
// answer 404 and clients re-initialize; Redis down → session requests get
// 503 with Retry-After, quickly; every instance recovers by itself.
func TestSessionsAcrossRedisOutage(t *testing.T) {
	c := startSessionCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	alice := token(aliceSub)
	sid := initialize(t, a, alice)

	c.redis.Stop()
	for _, n := range c.nodes {
		start := time.Now()
		r := callDescribe(t, n, alice, sid)
		if r.status != 503 || r.retryAfter == "" {
			t.Fatalf("Redis down, %s: %d %q %s", n.Name, r.status, r.retryAfter, r.body)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("Redis down, %s answered after %s", n.Name, took)
		}
		if r := mcpDo(t, http.MethodPost, n.url, alice, "", initBody); r.status != 503 {
			t.Fatalf("initialize with Redis down, %s: %d %s", n.Name, r.status, r.body)
		}
	}
	if err := c.redis.Restart(false); err != nil {
		t.Fatal(err)
	}
	// Back by itself (the client's breaker probes again within seconds):
	// the old session is gone with Redis's data, a new one works anywhere.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := callDescribe(t, b, alice, sid)
		if r.status == 404 {
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the restart: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var sid2 string
	for {
		r := mcpDo(t, http.MethodPost, a.url, alice, "", initBody)
		if r.status == 200 {
			sid2 = r.session
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("re-initialize: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := callDescribe(t, b, alice, sid2); r.status != 200 {
		t.Fatalf("new session on b: %d %s", r.status, r.body)
	}
}

// checkSessionSecrets reads back Redis: no raw session id, no tool result,
// no token or AWS secret; and nothing outside the project's prefix.
func checkSessionSecrets(t *testing.T, c *sessionCluster, sids ...string) {
	t.Helper()
	d := c.redis.Dump(t)
	text := string(d.Text())
	var kinds []string
	for _, e := range d {
		if !strings.HasPrefix(e.Key, "cwmcp:") {
			t.Errorf("key %q outside the cwmcp: prefix", e.Key)
		}
		kinds = append(kinds, e.Type)
	}
	if !strings.Contains(strings.Join(kinds, " "), "stream") || !strings.Contains(strings.Join(kinds, " "), "hash") {
		t.Fatalf("expected session hashes and event streams in Redis, got %v", d.Keys())
	}
	for _, s := range append(sids, markerGroup, aliceSub, bobSub, issuer.Issuer()) {
		if strings.Contains(text, s) {
			t.Errorf("Redis holds %q in the clear", s)
		}
	}
	scan := secretscan.New() // every JWT minted, every AWS secret issued
	scan.TrackFake(c.aws)
	scan.Add("session id", sids...)
	scan.Capture("redis dump", d.Text())
	scan.Check(t)
	logs := secretscan.New()
	logs.TrackFake(c.aws)
	for _, n := range c.nodes {
		logs.Capture("caddy log of "+n.Name, []byte(n.Log()))
	}
	logs.Check(t)
}

// sseEvents reads SSE events (id and data) from r until it ends.
func sseEvents(r io.Reader, each func(id, data string) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "":
			if data != "" && !each(id, data) {
				return
			}
			id, data = "", ""
		}
	}
}

type sseEvent struct{ id, data string }

// Issue 14, proof 3: a long Logs Insights query with progress on A; A is
// killed (-9) mid-stream; the client resumes on B with Last-Event-ID and
// gets the events it missed, with no gap and no duplicate (replayed from
// Redis: the stream's live tail died with A), and its next call in the
// same session works.
func TestResumeOnAnotherInstanceAfterKill(t *testing.T) {
	c := startSessionCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	alice := token(aliceSub)
	sid := initialize(t, a, alice)

	req, _ := http.NewRequest(http.MethodPost, a.url, strings.NewReader(queryCall("slow", 11)))
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("query on a: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var live []sseEvent
	sseEvents(resp.Body, func(id, data string) bool {
		live = append(live, sseEvent{id, data})
		return len(live) < 3
	})
	if len(live) < 3 || live[0].id == "" {
		t.Fatalf("live events before the kill: %v", live)
	}
	a.Kill()

	// The client saw only the first event; it resumes on B.
	get, _ := http.NewRequest(http.MethodGet, b.url, nil)
	get.Header.Set("Authorization", "Bearer "+alice)
	get.Header.Set("Accept", "text/event-stream")
	get.Header.Set("Mcp-Session-Id", sid)
	get.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	get.Header.Set("Last-Event-ID", live[0].id)
	res, err := client.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("resume on b: %d %s", res.StatusCode, b)
	}
	var replayed []sseEvent
	sseEvents(res.Body, func(id, data string) bool {
		replayed = append(replayed, sseEvent{id, data})
		return true
	})
	// Everything A recorded after the first event, in order, each once:
	// what the client had seen live, then what A stored before dying.
	if len(replayed) < len(live)-1 {
		t.Fatalf("replayed %d events, want at least %d: %v", len(replayed), len(live)-1, replayed)
	}
	for i, ev := range live[1:] {
		if replayed[i] != ev {
			t.Fatalf("replayed event %d = %v, live was %v", i, replayed[i], ev)
		}
	}
	seen := map[string]bool{live[0].id: true}
	for _, ev := range replayed {
		if seen[ev.id] || ev.id == "" {
			t.Fatalf("duplicate or unnumbered event %q in %v", ev.id, replayed)
		}
		seen[ev.id] = true
	}
	// The stream in Redis holds the first event and exactly those replayed
	// (the session also has no other stream yet).
	for _, e := range c.redis.Dump(t) {
		if e.Type == "stream" {
			if n := len(e.Values) / 5; n != len(replayed)+1 {
				t.Fatalf("Redis holds %d events, the client got 1 + %d", n, len(replayed))
			}
		}
	}
	if r := callDescribe(t, b, alice, sid); r.status != 200 || !strings.Contains(r.body, markerGroup) {
		t.Fatalf("next call on b: %d %s", r.status, r.body)
	}
}

// Issue 14, proof 5 for cloudwatch_mcp: 50 config reloads with redis →
// goroutines and Redis connections flat, and the session opened before
// them still served (it lives in Redis, not in a config).
func TestSessionReloadsFlat(t *testing.T) {
	c := startSessionCluster(t, 1)
	n := c.nodes[0]
	alice := token(aliceSub)
	sid := initialize(t, n, alice)
	configs := []string{mcpSite(n.port), strings.Replace(mcpSite(n.port), "10m", "11m", 1)}
	reload := func(i int) {
		n.Load(t, configs[i%2])
		for try := 0; ; try++ {
			req, _ := http.NewRequest(http.MethodPost, n.url, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
			req.Header.Set("Authorization", "Bearer "+alice)
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Mcp-Session-Id", sid)
			resp, err := fresh.Do(req)
			if err != nil && try < 5 { // a connection the old server reset
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatalf("reload %d: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("reload %d: session answered %d", i, resp.StatusCode)
			}
			return
		}
	}
	for i := range 4 {
		reload(i)
	}
	before := n.Goroutines(t)
	conns := connectionIDs(t, c.redis)
	for i := range 50 {
		reload(i)
	}
	deadline := time.Now().Add(15 * time.Second)
	after := n.Goroutines(t)
	for after > before+2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		after = n.Goroutines(t)
	}
	if after > before+2 {
		t.Fatalf("goroutines %d → %d over 50 reloads:\n%s", before, after, n.GoroutineDump())
	}
	if now := connectionIDs(t, c.redis); len(now) > len(conns) {
		t.Fatalf("Redis connections %v → %v over 50 reloads", conns, now)
	}
}

// No instance's idle sweep ends a session that is busy on another: A
// opens the session and sees it no more; B uses it for longer than the
// idle timeout; A still serves it. Left alone, it idles out everywhere.
func TestIdleSweepSparesSessionBusyElsewhere(t *testing.T) {
	c := startSessionClusterIdle(t, 2, "2s")
	a, b := c.nodes[0], c.nodes[1]
	alice := token(aliceSub)
	sid := initialize(t, a, alice)
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if r := mcpDo(t, http.MethodPost, b.url, alice, sid, list); r.status != 200 {
			t.Fatalf("busy on b: %d %s", r.status, r.body)
		}
	}
	if r := mcpDo(t, http.MethodPost, a.url, alice, sid, list); r.status != 200 {
		t.Fatalf("a, after 5s of use on b only: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		ra := mcpDo(t, http.MethodPost, a.url, alice, sid, list)
		if ra.status == 404 {
			if rb := mcpDo(t, http.MethodPost, b.url, alice, sid, list); rb.status != 404 {
				t.Fatalf("idled out on a but b answers %d", rb.status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session never idled out: %d", ra.status)
		}
		// Only the first probe may touch it: wait out the whole timeout.
		time.Sleep(2500 * time.Millisecond)
	}
}
