// Package secretscan is the test kit's leak detector: it knows every
// secret the fakes have handed out (AWS secret keys and session tokens
// from fakeaws, JWTs from testissuer, codes, refresh tokens and secrets
// from fakecognito) and fails a test when any of them,
// or any 16-character piece of one, appears in captured logs, response
// bodies or response headers.
//
// Typical use in an integration test:
//
//	scan := secretscan.New() // covers every fakeaws.Fake and testissuer.Issuer
//	client.Transport = scan.Transport(client.Transport)
//	scan.WatchFile(caddyLogPath)
//	defer scan.Check(t) // or scan.Begin(t) to check only what the test produced
package secretscan

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

// Window is the length of the pieces looked for: any run of this many
// characters of a secret counts as a leak, so truncating or wrapping a
// secret does not hide it. 16 base64url/hex characters are 64 to 96 bits:
// chance matches in logs are impossible in practice.
const Window = 16

// Finding is one leak.
type Finding struct {
	Source string // what was scanned, e.g. "caddy.log" or "response 3 body"
	Kind   string // what leaked, e.g. "AWS secret key or session token"
	Offset int    // byte offset of the match in the source
	Whole  bool   // the entire secret, not only a piece of it
}

func (f Finding) String() string {
	what := "a piece of"
	if f.Whole {
		what = "the whole"
	}
	return fmt.Sprintf("%s contains %s %s at byte %d", f.Source, what, f.Kind, f.Offset)
}

// Scanner collects secrets and texts to scan. It is safe for concurrent use.
type Scanner struct {
	mu       sync.Mutex
	static   map[string]string // secret -> kind
	sources  []source
	files    []string
	captured []capture
	bytes    int64 // scanned so far
	texts    int
}

type source struct {
	kind string
	fn   func() []string
}

type capture struct {
	name string
	data []byte
}

// New returns a scanner that already covers every fake AWS and every test
// issuer of the process, including those created later.
func New() *Scanner {
	s := &Scanner{static: map[string]string{}}
	s.Track("AWS secret key or session token", fakeaws.AllSecrets)
	s.Track("raw JWT", func() []string { return signatures(testissuer.AllMinted()) })
	s.Track("fake Cognito code, refresh token, PKCE verifier, client secret or password", fakecognito.AllSecrets)
	return s
}

// signatures picks the signature segments of compact JWTs.
func signatures(tokens []string) []string {
	var sigs []string
	for _, tok := range tokens {
		if i := strings.LastIndexByte(tok, '.'); i >= 0 {
			sigs = append(sigs, tok[i+1:])
		}
	}
	return sigs
}

// Add registers fixed secrets (e.g. a server's own long-term key).
// Values shorter than Window are ignored: they cannot be told apart from
// ordinary text.
func (s *Scanner) Add(kind string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) >= Window {
			s.static[v] = kind
		}
	}
}

// Track registers a source of secrets that is read at every scan, so
// secrets issued after the scanner was set up are covered too.
func (s *Scanner) Track(kind string, fn func() []string) {
	s.mu.Lock()
	s.sources = append(s.sources, source{kind, fn})
	s.mu.Unlock()
}

// TrackFake covers every secret key and session token f issued or was
// given. New already covers every fake of the process; calling it again
// is harmless.
func (s *Scanner) TrackFake(f *fakeaws.Fake) {
	s.Track("AWS secret key or session token", f.Secrets)
}

// TrackIssuer covers every JWT is minted (New already covers every
// issuer of the process). A JWT is identified by its
// signature: header and payload are not secret (and the header repeats
// across tokens), but no piece of a signature may appear anywhere.
func (s *Scanner) TrackIssuer(is *testissuer.Issuer) {
	s.Track("raw JWT", func() []string { return signatures(is.Minted()) })
}

// WatchFile adds a file (a Caddy log) to every Check.
func (s *Scanner) WatchFile(path string) {
	s.mu.Lock()
	s.files = append(s.files, path)
	s.mu.Unlock()
}

// Capture adds a text (a response, a log buffer) to be scanned by Check.
func (s *Scanner) Capture(name string, data []byte) {
	s.mu.Lock()
	s.captured = append(s.captured, capture{name, bytes.Clone(data)})
	s.mu.Unlock()
}

// Transport wraps base (nil means http.DefaultTransport) so that the
// status line, headers and body of every response it returns are
// captured. Bodies are captured as the caller reads them, so SSE streams
// work.
func (s *Scanner) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &recorder{s: s, base: base}
}

type recorder struct {
	s    *Scanner
	base http.RoundTripper
}

func (rt *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	rt.s.mu.Lock()
	n := len(rt.s.captured)
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "%s %s -> %s\n", r.Method, r.URL.Path, resp.Status)
	_ = resp.Header.Write(&hdr)
	rt.s.captured = append(rt.s.captured, capture{name: fmt.Sprintf("response %d (%s %s) headers", n, r.Method, r.URL.Path), data: hdr.Bytes()})
	idx := len(rt.s.captured)
	rt.s.captured = append(rt.s.captured, capture{name: fmt.Sprintf("response %d (%s %s) body", n, r.Method, r.URL.Path)})
	rt.s.mu.Unlock()
	resp.Body = &teeBody{ReadCloser: resp.Body, s: rt.s, idx: idx}
	return resp, nil
}

type teeBody struct {
	io.ReadCloser
	s   *Scanner
	idx int
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.s.mu.Lock()
		b.s.captured[b.idx].data = append(b.s.captured[b.idx].data, p[:n]...)
		b.s.mu.Unlock()
	}
	return n, err
}

// secrets snapshots every known secret.
func (s *Scanner) secrets() map[string]string {
	s.mu.Lock()
	out := make(map[string]string, len(s.static))
	for v, k := range s.static {
		out[v] = k
	}
	srcs := append([]source(nil), s.sources...)
	s.mu.Unlock()
	for _, src := range srcs {
		for _, v := range src.fn() {
			if len(v) >= Window {
				out[v] = src.kind
			}
		}
	}
	return out
}

// index maps every Window-long piece of every secret to its kind.
type index struct {
	pieces map[string]string
	whole  map[string]string
}

func (s *Scanner) index() index {
	sec := s.secrets()
	ix := index{pieces: make(map[string]string, len(sec)*64), whole: sec}
	for v, k := range sec {
		for i := 0; i+Window <= len(v); i++ {
			ix.pieces[v[i:i+Window]] = k
		}
	}
	return ix
}

func (ix index) scan(name string, data []byte) []Finding {
	var out []Finding
	for i := 0; i+Window <= len(data); i++ {
		kind, ok := ix.pieces[string(data[i:i+Window])] // no allocation: map lookup by converted bytes
		if !ok {
			continue
		}
		f := Finding{Source: name, Kind: kind, Offset: i}
		// The first piece of an occurrence found left to right is where
		// the secret starts, if the whole of it is there.
		for v := range ix.whole {
			if bytes.HasPrefix(data[i:], []byte(v)) {
				f.Whole = true
				break
			}
		}
		out = append(out, f)
		// One finding per leaked secret occurrence is enough.
		for i+1+Window <= len(data) {
			if _, more := ix.pieces[string(data[i+1:i+1+Window])]; !more {
				break
			}
			i++
		}
	}
	return out
}

// Scan reports the leaks in one text. It does not record the text.
func (s *Scanner) Scan(name string, data []byte) []Finding {
	s.mu.Lock()
	s.bytes += int64(len(data))
	s.texts++
	s.mu.Unlock()
	return s.index().scan(name, data)
}

// Stats says how much a scanner has checked, so a test can prove its scan
// was not vacuous.
type Stats struct {
	Secrets int   // distinct secrets known at the last scan
	Texts   int   // texts scanned (files, responses, captures)
	Bytes   int64 // bytes scanned
}

func (st Stats) String() string {
	return fmt.Sprintf("%d secrets checked against %d texts (%d bytes)", st.Secrets, st.Texts, st.Bytes)
}

// Stats returns the totals so far.
func (s *Scanner) Stats() Stats {
	n := len(s.secrets())
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Secrets: n, Texts: s.texts, Bytes: s.bytes}
}

// Check scans the watched files and everything captured, and fails t for
// each leak. It returns the findings.
func (s *Scanner) Check(t testing.TB) []Finding {
	t.Helper()
	return s.check(t, nil)
}

// Mark remembers how far files and captures go, for CheckSince.
type Mark struct {
	captured int
	offsets  map[string]int64
}

// Mark returns the current extent of everything the scanner watches.
func (s *Scanner) Mark() Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Mark{captured: len(s.captured), offsets: map[string]int64{}}
	for _, f := range s.files {
		if st, err := os.Stat(f); err == nil {
			m.offsets[f] = st.Size()
		}
	}
	return m
}

// Begin checks, when t ends, only what was logged and captured while t
// ran, so a leak is blamed on the test that caused it. A test that
// produced nothing to scan fails too.
func (s *Scanner) Begin(t testing.TB) {
	t.Helper()
	m := s.Mark()
	t.Cleanup(func() { s.check(t, &m) })
}

func (s *Scanner) check(t testing.TB, since *Mark) []Finding {
	t.Helper()
	ix := s.index()
	s.mu.Lock()
	files := append([]string(nil), s.files...)
	from := 0
	if since != nil {
		from = since.captured
	}
	caps := append([]capture(nil), s.captured[min(from, len(s.captured)):]...)
	s.mu.Unlock()

	var all []Finding
	var scanned int64
	texts := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Errorf("secretscan: %v", err)
			continue
		}
		if since != nil {
			data = data[min(int64(len(data)), since.offsets[f]):]
		}
		scanned += int64(len(data))
		texts++
		all = append(all, ix.scan(f, data)...)
	}
	for _, c := range caps {
		scanned += int64(len(c.data))
		texts++
		all = append(all, ix.scan(c.name, c.data)...)
	}
	s.mu.Lock()
	s.bytes += scanned
	s.texts += texts
	s.mu.Unlock()
	if since != nil {
		if scanned == 0 {
			t.Errorf("secretscan: the test produced no logs or responses to scan; the scan proves nothing")
		} else {
			t.Logf("secretscan: %d secrets checked against %d texts (%d bytes): %d leaks", len(ix.whole), texts, scanned, len(all))
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Source < all[j].Source })
	for _, f := range all {
		t.Errorf("secret leak: %s", f)
	}
	return all
}
