package oauthproxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPublicUnicast(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.0.1",
		"fe80::1", "fd00:ec2::254", "fc00::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255",
		"100.64.0.1", "100.100.100.200", "192.0.2.1", "198.18.0.1", "240.0.0.1", "::ffff:127.0.0.1",
		"::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		"0.1.2.3", "2001:db8::1",
	} {
		if publicUnicast(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"} {
		if !publicUnicast(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as non-public", s)
		}
	}
}

// ssrfEnv is a proxy whose metadata-document fetches resolve names from
// answers and whose dialer only records: no test here sends a packet
// anywhere, even if the guard were broken.
func ssrfEnv(t *testing.T, answers map[string][]string) (*env, func() []string) {
	var mu sync.Mutex
	var dials []string
	guard := &Guard{
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			var out []netip.Addr
			for _, a := range answers[host] {
				out = append(out, netip.MustParseAddr(a))
			}
			if out == nil {
				return nil, errors.New("no such host")
			}
			return out, nil
		},
		Dial: func(_ context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dials = append(dials, addr)
			mu.Unlock()
			return nil, errors.New("test dialer: no connections")
		},
	}
	e := newEnv(t, func(c *Config) { c.CIMD = CIMDOptions{Guard: guard, Timeout: 5 * time.Second} })
	return e, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), dials...) }
}

// wantSSRFRefused asks the proxy to fetch clientID's document and expects
// the guard's refusal, with no dial attempted.
func wantSSRFRefused(t *testing.T, e *env, dials func() []string, clientID string) {
	t.Helper()
	resp, body := e.get(e.authURL(newAuthRequest(clientID, clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "non-public address") {
		t.Fatalf("%s: page does not name the refusal: %s", clientID, body)
	}
	if d := dials(); len(d) != 0 {
		t.Fatalf("%s: the guard let the fetch dial %v", clientID, d)
	}
}

func TestCIMDURLResolvingToLoopbackIsRefused(t *testing.T) {
	e, dials := ssrfEnv(t, map[string][]string{"loop.example": {"127.0.0.1"}, "loop6.example": {"::1"}})
	wantSSRFRefused(t, e, dials, "https://loop.example/client.json")
	wantSSRFRefused(t, e, dials, "https://loop6.example/client.json")
	wantSSRFRefused(t, e, dials, "https://localhost/client.json")
	wantSSRFRefused(t, e, dials, "https://api.localhost/client.json")
	wantSSRFRefused(t, e, dials, "https://127.0.0.1/client.json")
	wantSSRFRefused(t, e, dials, "https://[::ffff:127.0.0.1]/client.json")
}

func TestCIMDURLResolvingToPrivateIsRefused(t *testing.T) {
	e, dials := ssrfEnv(t, map[string][]string{
		"intranet.example": {"10.0.0.7"},
		"mixed.example":    {"93.184.216.34", "192.168.0.10"}, // one bad answer spoils the name
		"ula.example":      {"fd12:3456::1"},
		"cgnat.example":    {"100.64.1.1"},
	})
	for _, id := range []string{"https://intranet.example/c.json", "https://mixed.example/c.json", "https://ula.example/c.json", "https://cgnat.example/c.json", "https://10.0.0.7/c.json"} {
		wantSSRFRefused(t, e, dials, id)
	}
}

func TestCIMDURLResolvingToMetadataAddressIsRefused(t *testing.T) {
	e, dials := ssrfEnv(t, map[string][]string{
		"metadata.example": {"169.254.169.254"},
		"imds6.example":    {"fd00:ec2::254"},
		"alibaba.example":  {"100.100.100.200"},
		"nat64.example":    {"64:ff9b::a9fe:a9fe"},
	})
	for _, id := range []string{"https://metadata.example/latest/meta-data", "https://imds6.example/x", "https://alibaba.example/x",
		"https://nat64.example/x", "https://169.254.169.254/latest/meta-data/iam"} {
		wantSSRFRefused(t, e, dials, id)
	}
}

// The control for the tests above: a public answer does reach the dialer.
func TestCIMDURLResolvingToPublicIsDialed(t *testing.T) {
	e, dials := ssrfEnv(t, map[string][]string{"client.example": {"93.184.216.34"}})
	resp, body := e.get(e.authURL(newAuthRequest("https://client.example/c.json", clientCB)))
	wantErrorPage(t, resp, body, http.StatusBadRequest)
	if d := dials(); len(d) != 1 || d[0] != "93.184.216.34:443" {
		t.Fatalf("dials %v, want the public address", d)
	}
}

// The dialer's Control hook refuses on the socket itself, before connect:
// dialing a forbidden (loopback) address directly never reaches the
// listener.
func TestGuardControlRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := &Guard{}
	if _, err := g.dialer().DialContext(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, errForbiddenAddress) {
		t.Fatalf("dial: %v, want the guard's refusal", err)
	}
	// If the refused dial had connected, its connection would be the first
	// one accepted; the marker connection must be.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("marker"))
	got, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	buf := make([]byte, 6)
	_ = got.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := got.Read(buf); err != nil || string(buf) != "marker" {
		t.Fatalf("first accepted connection read %q (%v): the refused dial connected", buf, err)
	}
}
