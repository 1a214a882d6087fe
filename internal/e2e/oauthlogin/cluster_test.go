package oauthlogin

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// stepRouter is a load balancer that sends each step of the login to a
// chosen instance, so the test decides, deterministically, that no step
// runs where the previous one did.
type stepRouter struct {
	backends []*httputil.ReverseProxy
	mu       sync.Mutex
	next     int
	served   map[string][]int // path -> instances that served it
}

// route: registration and consent on instance 0, authorize, callback and
// token on instance 1; MCP requests alternate.
var route = map[string]int{
	"/oauth/register": 0, "/oauth/authorize": 1, "/oauth/consent": 0, "/oauth/callback": 1, "/oauth/token": 0,
}

func (s *stepRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i, fixed := route[r.URL.Path]
	if !fixed {
		i = s.next % len(s.backends)
		s.next++
	}
	s.served[r.URL.Path] = append(s.served[r.URL.Path], i)
	s.mu.Unlock()
	s.backends[i].ServeHTTP(w, r)
}

// TestLoginAcrossInstances: two instances share nothing but the
// configuration and Caddy's storage (where the sealing key was generated
// once); a login whose every step lands on another instance than the one
// before succeeds, and so do the stateless MCP requests after it.
func TestLoginAcrossInstances(t *testing.T) {
	scan.Begin(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String() + "/mcp"
	a, b := testport.Free(t), testport.Free(t)
	startEdge(t,
		site{listen: a, resource: endpoint, mcp: "stateless"},
		site{listen: b, resource: endpoint, mcp: "stateless"},
	)
	lb := &stepRouter{served: map[string][]int{}}
	for _, port := range []int{a, b} {
		u, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
		lb.backends = append(lb.backends, &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // keep the public Host
		}})
	}
	srv := &http.Server{Handler: lb}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	fake.ResetCalls()

	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", testport.Free(t))
	session, _ := goSDKSession(t, endpoint, redirect, scriptedBrowser(t, alice, alicePass, redirect))
	for range 4 {
		describeLogGroups(t, session)
	}
	wantSignedBy(t, alice)

	lb.mu.Lock()
	defer lb.mu.Unlock()
	for path, want := range route {
		got := lb.served[path]
		if len(got) == 0 || got[0] != want {
			t.Fatalf("%s served by %v, want instance %d", path, got, want)
		}
	}
	mcp := map[int]bool{}
	for _, i := range lb.served["/mcp"] {
		mcp[i] = true
	}
	if !mcp[0] || !mcp[1] {
		t.Fatalf("MCP requests were not spread over both instances: %v", lb.served["/mcp"])
	}
}
