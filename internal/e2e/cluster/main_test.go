package cluster

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/caddyproc"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/redistest"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/secretscan"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
)

const audience = "https://mcp.cluster.example/mcp"

var issuer *testissuer.Issuer

func TestMain(m *testing.M) {
	caddyproc.RunIfChild()
	issuer = testissuer.New()
	code := m.Run()
	issuer.Close()
	os.Exit(code)
}

// node is one Caddy instance of a test cluster and the URL of its site.
type node struct {
	*caddyproc.Instance
	url string
	// port is the site's, kept across reloads.
	port int
}

// siteBlock is a cognito_auth site on port whose budget is rateLimit
// (e.g. "60 1h burst 20"), kept in the Redis of {env.REDIS_URL}, that
// answers "ok".
func siteBlock(port int, rateLimit string) string {
	return siteBlockRedis(port, rateLimit, "{env.REDIS_URL}")
}

// siteBlockRedis is siteBlock with the redis option's value.
func siteBlockRedis(port int, rateLimit, redis string) string {
	return fmt.Sprintf(`
http://127.0.0.1:%d {
	cognito_auth {
		issuer %s
		audiences %s
		rate_limit %s
		redis %s
	}
	respond "ok"
}
`, port, issuer.Issuer(), audience, rateLimit, redis)
}

// startCluster starts n instances with the same site, each its own
// process with its own storage, sharing only redisURL.
func startCluster(t *testing.T, n int, redisURL, rateLimit string) []*node {
	t.Helper()
	var nodes []*node
	for i := range n {
		port := caddyproc.FreePort(t)
		name := string(rune('a' + i))
		inst := caddyproc.Start(t, name, "", siteBlock(port, rateLimit), "REDIS_URL="+redisURL)
		nd := &node{Instance: inst, url: fmt.Sprintf("http://127.0.0.1:%d/", port), port: port}
		caddyproc.WaitHTTP(t, nd.url)
		nodes = append(nodes, nd)
	}
	return nodes
}

// token is a valid access token of sub for the cluster's audience.
func token(sub string) string {
	return issuer.Mint(issuer.OIDCAccessClaims(sub, audience), testissuer.Typ("at+jwt"))
}

// answer is one response, as the tests look at it.
type answer struct {
	status     int
	retryAfter string
	took       time.Duration
	err        error
}

var (
	client = &http.Client{Timeout: 30 * time.Second}
	// fresh opens a connection per request: a reload closes the old
	// server's idle keep-alive connections, which a pooled client could be
	// reusing at that moment.
	fresh = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
)

func get(url, tok string) answer { return getWith(client, url, tok) }

func getWith(c *http.Client, url, tok string) answer {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
}

// spread sends total requests with tok round-robin over nodes, conc at a
// time, and returns the answers in sending order.
func spread(nodes []*node, tok string, total, conc int) []answer {
	out := make([]answer, total)
	var wg sync.WaitGroup
	next := make(chan int)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = get(nodes[i%len(nodes)].url, tok)
			}
		}()
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// checkSecrets reads back every key and value of Redis and fails t if
// any holds a token, a sub or a secret, or lies outside the project's
// prefix; the instances' logs must hold no token either.
func checkSecrets(t *testing.T, srv *redistest.Server, nodes []*node, subs ...string) {
	t.Helper()
	logs := secretscan.New()
	for _, n := range nodes {
		logs.Capture("caddy log of "+n.Name, []byte(n.Log()))
	}
	logs.Check(t)
	d := srv.Dump(t)
	for _, e := range d {
		if !strings.HasPrefix(e.Key, "cwmcp:") {
			t.Errorf("key %q outside the cwmcp: prefix", e.Key)
		}
	}
	text := d.Text()
	for _, s := range append(subs, issuer.Issuer(), audience) {
		if strings.Contains(string(text), s) {
			t.Errorf("Redis holds %q", s)
		}
	}
	scan := secretscan.New() // every JWT the issuer minted
	scan.Add("sub", subs...)
	scan.Capture("redis dump", text)
	scan.Check(t)
}
