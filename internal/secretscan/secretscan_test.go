package secretscan

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// fakeT records failures instead of failing, so the scanner's own tests
// can assert that it does fail.
type fakeT struct {
	testing.TB
	errs []string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Errorf(format string, a ...any) { f.errs = append(f.errs, format) }
func (f *fakeT) Cleanup(fn func())              { f.TB.Cleanup(fn) }

func TestFindsEveryKindOfLeak(t *testing.T) {
	f := fakeaws.Start()
	defer f.Close()
	is := testissuer.New()
	defer is.Close()
	s := New()
	s.TrackFake(f)
	s.TrackIssuer(is)
	s.Add("server secret", "server-secret-for-the-scanner-test")

	// Issued after the scanner was set up: still covered.
	creds := f.IssueCredentials("alice", time.Now().Add(time.Hour))
	tok := is.Mint(is.OIDCAccessClaims("alice", "https://mcp.example/mcp"))
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	jsonTok, _ := json.Marshal(map[string]string{"t": tok})

	cases := []struct {
		name  string
		text  string
		whole bool
	}{
		{"secret key", "x secret=" + creds.SecretAccessKey + " y", true},
		{"session token", `{"SessionToken":"` + creds.SessionToken + `"}`, true},
		{"raw JWT", "Authorization: Bearer " + tok, true},
		{"JWT in JSON", string(jsonTok), true},
		{"truncated secret key", "key " + creds.SecretAccessKey[:Window] + "...", false},
		{"middle of a signature", "sig …" + sig[100:100+Window+3] + "…", false},
		{"server secret", "AWS_SECRET_ACCESS_KEY=server-secret-for-the-scanner-test", true},
	}
	for _, c := range cases {
		got := s.Scan(c.name, []byte(c.text))
		if len(got) != 1 || got[0].Whole != c.whole {
			t.Errorf("%s: findings %v, want one (whole=%v)", c.name, got, c.whole)
		}
	}

	clean := []string{
		"",
		creds.AccessKeyID, // the key ID is not secret
		creds.SecretAccessKey[:Window-1],
		tok[:strings.LastIndexByte(tok, '.')], // header and payload are not secret
		"REDACTED " + strings.Repeat("a", 4096),
	}
	for _, c := range clean {
		if got := s.Scan("clean", []byte(c)); len(got) != 0 {
			t.Errorf("false positive on %.40q: %v", c, got)
		}
	}
	if st := s.Stats(); st.Secrets < 4 || st.Texts != len(cases)+len(clean) {
		t.Errorf("stats %v", st)
	}
}

func TestCheckCoversFilesAndResponses(t *testing.T) {
	is := testissuer.New()
	defer is.Close()
	tok := is.Mint(is.OIDCAccessClaims("bob", "aud"))
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/header":
			w.Header().Set("X-Debug-Token", r.Header.Get("Authorization"))
		case "/body":
			_, _ = io.WriteString(w, "echo: "+r.Header.Get("Authorization"))
		}
	}))
	defer leaky.Close()

	s := New()
	s.TrackIssuer(is)
	log := filepath.Join(t.TempDir(), "caddy.log")
	if err := os.WriteFile(log, []byte(`{"level":"debug","msg":"ok"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.WatchFile(log)
	cl := &http.Client{Transport: s.Transport(nil)}
	get := func(path string) {
		req, _ := http.NewRequest("GET", leaky.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}

	ft := &fakeT{TB: t}
	get("/clean")
	if got := s.Check(ft); len(got) != 0 {
		t.Fatalf("clean run: %v", got)
	}

	m := s.Mark()
	get("/header")
	get("/body")
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`{"msg":"token ` + tok + `"}` + "\n")
	f.Close()
	got := s.check(ft, &m)
	var where []string
	for _, f := range got {
		where = append(where, f.Source)
	}
	if len(got) != 3 || len(ft.errs) != 3 {
		t.Fatalf("want leaks in a header, a body and the log, got %v", where)
	}
	if !strings.Contains(strings.Join(where, "|"), "headers") || !strings.Contains(strings.Join(where, "|"), "body") ||
		!strings.Contains(strings.Join(where, "|"), "caddy.log") {
		t.Fatalf("sources %v", where)
	}
	// Since the mark, the clean response and the first log line are not
	// rescanned.
	if s.Stats().Texts < 5 {
		t.Fatalf("stats %v", s.Stats())
	}
}
