package oauthproxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"go.uber.org/zap"
)

// Registration keeps nothing: 10,000 of them leave the heap where it was
// (a registration kept in memory would cost hundreds of bytes each), and
// every one of the client_ids still works.
func TestTenThousandRegistrationsUseNoMemory(t *testing.T) {
	e := newEnv(t)
	e.proxy.log = zap.NewNop() // the test's log observer would keep every line
	const n = 10000
	body := []byte(`{"client_name":"Load Client","redirect_uris":["http://127.0.0.1:8765/callback","http://localhost:9999/cb"]}`)
	register := func() string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, e.origin+PathRegister, bytes.NewReader(body))
		if !e.proxy.ServeHTTP(rec, req) || rec.Code != http.StatusCreated {
			t.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	register() // warm up pools and lazily built state
	before := heap()
	ids := make([]string, 0, 3)
	for i := range n {
		out := register()
		if i%5000 == 0 {
			ids = append(ids, out)
		}
	}
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap before %d, after %d bytes: %+d for %d registrations", before, after, growth, n)
	if growth > 256<<10 {
		t.Fatalf("heap grew %d bytes over %d registrations: registrations are being kept", growth, n)
	}
	for _, out := range ids {
		var r struct {
			ClientID string `json:"client_id"`
		}
		_ = json.Unmarshal([]byte(out), &r)
		a := newAuthRequest(r.ClientID, "http://127.0.0.1:8765/callback")
		if resp, _ := e.get(e.authURL(a)); resp.StatusCode != http.StatusOK {
			t.Fatalf("a registration from the batch does not work: %d", resp.StatusCode)
		}
	}
}

func heap() uint64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
