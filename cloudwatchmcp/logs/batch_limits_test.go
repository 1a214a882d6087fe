package logs

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// Issue 18, item 1: one execute_cwl_insights_batch call cannot fan out
// without bound.

func batchArgsFor(groups []string, regions []string) map[string]any {
	return map[string]any{
		"log_group_names": anySlice(groups), "regions": anySlice(regions), "query_string": "fields @message | limit 5",
		"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T08:00:00Z",
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// peakGoroutines samples the goroutine count until stop is closed.
func peakGoroutines(stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := runtime.NumGoroutine()
		for {
			select {
			case <-stop:
				out <- peak
				return
			default:
			}
			peak = max(peak, runtime.NumGoroutine())
			runtime.Gosched()
		}
	}()
	return out
}

// A 30 KB call naming 3,000 made-up regions is a tool error naming the
// first of them, before any client, gate, goroutine or query exists.
func TestBatchRefusesMadeUpRegions(t *testing.T) {
	be := newBatchEnv(t)
	regions := make([]string, 3000)
	for i := range regions {
		regions[i] = fmt.Sprintf("z%c-%c%c-%d", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26, 1+i%9)
	}
	regions[0] = "za-aa-1"
	before := runtime.NumGoroutine()
	clients := be.Env.Clients.Len()
	stop := make(chan struct{})
	peak := peakGoroutines(stop)
	ctx, cancel := context.WithTimeout(mcptest.UserCtx(be.user), 10*time.Second)
	defer cancel()
	res := be.CallTool(t, ctx, "execute_cwl_insights_batch", batchArgsFor([]string{"/svc/a", "/svc/b"}, regions))
	close(stop)
	mcptest.WantToolError(t, res, `region "za-aa-1" is not an AWS region (known: `)
	if n := be.Fake.CallCount("StartQuery"); n != 0 {
		t.Errorf("%d StartQuery calls", n)
	}
	if n := be.pacer.size(); n != 0 {
		t.Errorf("%d pacer gates", n)
	}
	if n := be.Env.Clients.Len(); n != clients {
		t.Errorf("clients %d → %d", clients, n)
	}
	if p := <-peak; p > before+20 {
		t.Errorf("goroutines peaked at %d (from %d)", p, before)
	}
}

// A region listed many times runs once.
func TestBatchDeduplicatesRegions(t *testing.T) {
	be := newBatchEnv(t)
	names := seedGroups(be.Fake, "us-east-1", 3)
	regions := []string{"us-east-1", " us-east-1 "}
	for range 998 {
		regions = append(regions, "us-east-1")
	}
	r := be.batch(t, batchArgsFor(names, regions))
	if r.Summary.TotalRegions != 1 || r.Summary.TotalChunks != 1 || r.Summary.FailedChunks != 0 {
		t.Fatalf("summary %+v", r.Summary)
	}
	if n := be.Fake.CallCount("StartQuery"); n != 1 {
		t.Fatalf("%d StartQuery calls", n)
	}
}

// More than batchMaxChunks chunks (regions × 50-group chunks) is refused
// before any query starts.
func TestBatchCapsChunksPerCall(t *testing.T) {
	be := newBatchEnv(t)
	groups := make([]string, 50*batchGroupsPerQuery) // 50 chunks per region
	for i := range groups {
		groups[i] = fmt.Sprintf("/svc/g%04d", i)
	}
	ctx, cancel := context.WithTimeout(mcptest.UserCtx(be.user), 20*time.Second)
	defer cancel()
	res := be.CallTool(t, ctx, "execute_cwl_insights_batch", batchArgsFor(groups, []string{"us-east-1", "eu-west-1", "ap-southeast-2"}))
	mcptest.WantToolError(t, res, "this call would run 150 queries")
	mcptest.WantToolError(t, res, "at most 100 run per call")
	if n := be.Fake.CallCount("StartQuery"); n != 0 {
		t.Fatalf("%d StartQuery calls", n)
	}
	// 100 chunks exactly is fine.
	r := be.batch(t, batchArgsFor(groups, []string{"us-east-1", "eu-west-1"}))
	if r.Summary.TotalChunks != 100 {
		t.Fatalf("summary %+v", r.Summary)
	}
}

// An identity's chunks in progress are bounded across regions, not only
// per region: with StartQuery held, no more than
// batchConcurrencyPerIdentity arrive at AWS (4 regions × 7 would be 28).
func TestBatchBoundsConcurrencyPerIdentity(t *testing.T) {
	be := newBatchEnv(t)
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"}
	var names []string
	for _, r := range regions {
		names = seedGroups(be.Fake, r, 8*batchGroupsPerQuery)
	}
	var arrived atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	be.Fake.OnRequest(func(r *http.Request, _ []byte) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".StartQuery") {
			arrived.Add(1)
			<-release
		}
	})
	defer once.Do(func() { close(release) })

	done := make(chan batchResult, 1)
	go func() {
		var r batchResult
		res := be.CallTool(t, mcptest.UserCtx(be.user), "execute_cwl_insights_batch", batchArgsFor(names, regions))
		mcptest.DecodeResult(t, res, &r)
		done <- r
	}()
	mcptest.WaitUntil(t, "the first StartQuery calls", func() bool { return arrived.Load() >= batchConcurrencyPerIdentity })
	// Give a 21st chunk time to show up if anything would let it through;
	// with a correct bound it never does, however long this is.
	time.Sleep(300 * time.Millisecond)
	if n := arrived.Load(); n != batchConcurrencyPerIdentity {
		t.Errorf("%d StartQuery calls in progress for one identity, want %d", n, batchConcurrencyPerIdentity)
	}
	once.Do(func() { close(release) })
	select {
	case r := <-done:
		if r.Summary.TotalChunks != 32 || r.Summary.SuccessfulChunks != 32 {
			t.Fatalf("summary %+v", r.Summary)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the batch did not finish")
	}
}

// Once the pacer holds its cap of gates, all in use, a new gate is kept
// (and shared by the next caller of its key), not evicted as it is made.
func TestBatchPacerKeepsNewGateWhenFull(t *testing.T) {
	p := newBatchPacer(2)
	_, ra := p.acquire("a")
	_, rb := p.acquire("b")
	c1, rc1 := p.acquire("c")
	c2, rc2 := p.acquire("c")
	if c1 != c2 {
		t.Fatal("two callers of one key got different gates: the new gate was evicted while in use")
	}
	if n := p.size(); n != 3 {
		t.Fatalf("size %d with three gates in use", n)
	}
	for _, r := range []func(){ra, rb, rc1, rc2} {
		r()
	}
	if n := p.size(); n != 2 {
		t.Fatalf("size %d after release, want the cap", n)
	}
	id1, r1 := p.acquireIdentity("key:A")
	id2, r2 := p.acquireIdentity("key:A")
	if id1 != id2 || cap(id1.slots) != batchConcurrencyPerIdentity {
		t.Fatal("identity gate not shared or wrong size")
	}
	r1()
	r2()
}
