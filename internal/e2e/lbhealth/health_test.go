package lbhealth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mcpedge/caddy-cloudwatch-mcp/caddyfile"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testcaddy"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const (
	pool    = "us-east-1_Health1"
	poolIss = "https://cognito-idp.us-east-1.amazonaws.com/" + pool
	role    = "arn:aws:iam::123456789012:role/mcp-users"
)

// startCaddy runs a Caddyfile site block (its address is filled in with a
// free port) and extra global options in this process with the admin API
// off and JSON logs at DEBUG into a file. It returns the base URL and the
// log file; the site answers as soon as it returns.
func startCaddy(t *testing.T, globals, site string) (base, logFile string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir+"/data")
	t.Setenv("XDG_CONFIG_HOME", dir+"/config")
	logFile = filepath.Join(dir, "caddy.log")
	p := testcaddy.Start(t, 1, func(p []int) string {
		return fmt.Sprintf(`{
	admin off
	persist_config off
	skip_install_trust
	storage file_system %s
	log {
		output file %s
		format json
		level DEBUG
	}
%s
}

http://127.0.0.1:%d {
%s
}
`, dir+"/storage", logFile, globals, p[0], site)
	})
	return fmt.Sprintf("http://127.0.0.1:%d", p[0]), logFile
}

type answer struct {
	code   int
	header http.Header
	body   string
	report map[string]string
}

func ask(t *testing.T, method, url string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, body: string(b)}
	_ = json.Unmarshal(b, &a.report)
	return a
}

// waitFor asks until the answer has the wanted status (the cached result
// lives one interval, 1s here) or fails after a deadline that only ends a
// test that would hang.
func waitFor(t *testing.T, url string, code int, report map[string]string) answer {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		a := ask(t, http.MethodGet, url)
		match := a.code == code
		for k, v := range report {
			match = match && a.report[k] == v
		}
		if match {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %d %v", url, a.code, a.body, code, report)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHealthThroughCaddy is what a load balancer sees: the issuer's keys
// and the AWS vending endpoint going down and up, answered without a token
// at exactly one path, and checked at most once per interval.
func TestHealthThroughCaddy(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	is.SetDown(true)
	f := fakeaws.Start()
	defer f.Close()
	var awsRequests atomic.Int32
	f.OnRequest(func(*http.Request, []byte) { awsRequests.Add(1) })
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")

	base, _ := startCaddy(t, "", fmt.Sprintf(`	cognito_auth {
		user_pool us-east-1 %s
		jwks_url %s
		client_ids client-a
		token_use id
		role_arn %s
		health /healthz interval 1s
	}
	respond "protected"`, pool, is.JWKSURL(), role))

	// Keys never loaded, issuer down: 503 with Retry-After, naming no URL.
	a := waitFor(t, base+"/healthz", 503, map[string]string{"status": "unavailable", "signing_keys": "unavailable", "aws_vending": "ok"})
	if a.header.Get("Retry-After") != "1" || a.header.Get("Content-Type") != "application/json" || strings.Contains(a.body, "127.0.0.1") {
		t.Fatalf("503 answer: %v %s", a.header, a.body)
	}
	if h := ask(t, http.MethodHead, base+"/healthz"); h.code != 503 || h.body != "" {
		t.Fatalf("HEAD: %d %q", h.code, h.body)
	}

	// Issuer up: healthy within an interval or two.
	is.SetDown(false)
	waitFor(t, base+"/healthz", 200, map[string]string{"status": "ok", "signing_keys": "ok", "aws_vending": "ok"})

	// A burst of probes costs at most one check per interval, and never
	// an AWS API call.
	before, jwks := awsRequests.Load(), is.JWKSFetches()
	start := time.Now()
	for range 100 {
		if a := ask(t, http.MethodGet, base+"/healthz"); a.code != 200 {
			t.Fatalf("burst: %d %s", a.code, a.body)
		}
	}
	intervals := int32(time.Since(start)/time.Second) + 1
	if n := awsRequests.Load() - before; n > intervals {
		t.Fatalf("100 probes over %d interval(s) made %d requests to AWS", intervals, n)
	}
	if is.JWKSFetches() != jwks {
		t.Fatal("probes refetched loaded keys")
	}
	if n := f.CallCount(""); n != 0 {
		t.Fatalf("%d AWS API calls", n)
	}

	// No hole: only GET and HEAD of exactly /healthz skip the token.
	for _, r := range []struct{ method, path string }{
		{"POST", "/healthz"}, {"PUT", "/healthz"}, {"DELETE", "/healthz"}, {"GET", "/healthz/"},
		{"GET", "/healthz/x"}, {"GET", "/healthz.json"}, {"GET", "/"}, {"GET", "/mcp"},
	} {
		if a := ask(t, r.method, base+r.path); a.code != 401 || strings.Contains(a.body, "protected") {
			t.Errorf("%s %s without a token: %d %s", r.method, r.path, a.code, a.body)
		}
	}

	// Issuer down again: the loaded keys still verify, so still healthy.
	is.SetDown(true)
	for range 3 {
		if a := ask(t, http.MethodGet, base+"/healthz"); a.code != 200 {
			t.Fatalf("issuer down with keys loaded: %d %s", a.code, a.body)
		}
	}

	// AWS unreachable: 503 naming aws_vending.
	f.Close()
	waitFor(t, base+"/healthz", 503, map[string]string{"status": "unavailable", "signing_keys": "ok", "aws_vending": "unavailable"})
}

// TestLogFieldsNameTheClient: behind a trusted proxy, cognito_auth's log
// lines carry Caddy's client_ip (from X-Forwarded-For), without a port,
// never the proxy's address.
func TestLogFieldsNameTheClient(t *testing.T) {
	is := testissuer.New(testissuer.WithIssuer(poolIss))
	defer is.Close()
	base, logFile := startCaddy(t, "\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}", fmt.Sprintf(`	cognito_auth {
		user_pool us-east-1 %s
		jwks_url %s
		client_ids client-a
		groups admins
	}
	respond "protected"`, pool, is.JWKSURL()))
	send := func(tok string) int {
		req, _ := http.NewRequest("GET", base+"/mcp", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code := send(is.Mint(is.CognitoAccessClaims("alice", "client-a"))); code != 403 {
		t.Fatalf("not in the group: %d", code)
	}
	// Caddy logs a rejection after answering it.
	deadline := time.Now().Add(time.Minute)
	var lines []map[string]any
	for len(lines) < 2 && time.Now().Before(deadline) {
		lines = lines[:0]
		for _, l := range readLog(t, logFile, "request rejected") {
			if l["uri_path"] == "/mcp" {
				lines = append(lines, l)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) != 2 || lines[0]["level"] != "debug" || lines[1]["level"] != "info" {
		t.Fatalf("rejection lines %v", lines)
	}
	for _, l := range lines {
		if l["client_ip"] != "203.0.113.9" {
			t.Errorf("client_ip %v in %v", l["client_ip"], l)
		}
		for k, v := range l {
			if s, ok := v.(string); ok && strings.Contains(s, "127.0.0.1") && k != "logger" {
				t.Errorf("field %s = %q names the proxy", k, s)
			}
		}
	}
}

// readLog returns the JSON lines of a Caddy log file with the message.
func readLog(t *testing.T, path, msg string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []map[string]any
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
