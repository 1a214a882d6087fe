package fakeaws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// promGet sends a GET signed for "monitoring" (or unsigned when creds is
// nil) and decodes the JSON answer.
func promGet(t *testing.T, f *Fake, creds *aws.Credentials, rawPath string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.URL+rawPath+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if creds != nil {
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), "monitoring", "us-west-2", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func TestPromQLFakeEndpoints(t *testing.T) {
	f := Start()
	defer f.Close()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	f.SetClock(func() time.Time { return t0.Add(90 * time.Second) })
	s := f.PromQL()
	s.AddSeries(map[string]string{"__name__": "up", "job": "api", "a/b c": "x"},
		PromQLSample{T: t0, V: 1}, PromQLSample{T: t0.Add(time.Minute), V: 0})
	s.AddSeries(map[string]string{"__name__": "http.requests", "job": "web"},
		PromQLSample{T: t0.Add(-10 * time.Minute), V: 5}) // stale at t0+90s
	bob := f.IssueCredentials("bob", time.Now().Add(time.Hour))

	// Unsigned calls are refused by the core's SigV4 check.
	status, body := promGet(t, f, nil, "/api/v1/labels", nil)
	if status != http.StatusForbidden || body["__type"] != "MissingAuthenticationToken" {
		t.Fatalf("unsigned: %d %v", status, body)
	}

	// Instant vector at the fake's clock: the stale series is dropped.
	status, body = promGet(t, f, &bob, "/api/v1/query", url.Values{"query": {`{__name__=~"up|http.requests"}`}})
	data := body["data"].(map[string]any)
	if status != 200 || body["status"] != "success" || data["resultType"] != "vector" || len(data["result"].([]any)) != 1 {
		t.Fatalf("vector: %d %v", status, body)
	}
	if v := data["result"].([]any)[0].(map[string]any)["value"].([]any); v[0].(float64) != float64(t0.Add(time.Minute).Unix()) || v[1] != "0" {
		t.Fatalf("sample %v", v)
	}
	if c := f.Calls("PromQLQuery"); len(c) != 1 || c[0].Owner != "bob" || c[0].Region != "us-west-2" {
		t.Fatalf("calls %+v", c)
	}

	// Literals give scalar and string results.
	_, body = promGet(t, f, &bob, "/api/v1/query", url.Values{"query": {"2.5"}, "time": {"1740787200"}})
	if d := body["data"].(map[string]any); d["resultType"] != "scalar" || !reflect.DeepEqual(d["result"], []any{1740787200.0, "2.5"}) {
		t.Fatalf("scalar %v", body)
	}
	if status, _ := promGet(t, f, &bob, "/api/v1/query", url.Values{"query": {`"a"`}}); status != 200 {
		t.Fatalf("string literal status %d", status)
	}

	// Matrix over a range.
	_, body = promGet(t, f, &bob, "/api/v1/query_range", url.Values{"query": {"up"}, "start": {"2025-03-01T00:00:00Z"}, "end": {"2025-03-01T00:02:00Z"}, "step": {"1m"}})
	res := body["data"].(map[string]any)["result"].([]any)
	if len(res) != 1 || len(res[0].(map[string]any)["values"].([]any)) != 3 {
		t.Fatalf("matrix %v", body)
	}

	// Range validation follows Prometheus.
	for _, tc := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"query": {"up"}, "start": {"10"}, "end": {"20"}, "step": {"0"}}, "zero or negative"},
		{url.Values{"query": {"up"}, "start": {"20"}, "end": {"10"}, "step": {"1"}}, "end timestamp must not be before start time"},
		{url.Values{"query": {"up"}, "start": {"0"}, "end": {"100000"}, "step": {"1s"}}, "exceeded maximum resolution"},
		{url.Values{"query": {"up"}, "end": {"10"}, "step": {"1"}}, `invalid parameter "start"`},
		{url.Values{"query": {"rate(up[5m])"}, "start": {"0"}, "end": {"10"}, "step": {"1"}}, "cannot evaluate"},
	} {
		status, body := promGet(t, f, &bob, "/api/v1/query_range", tc.q)
		if status != http.StatusBadRequest || body["status"] != "error" || body["errorType"] != "bad_data" || !promContains(body["error"], tc.want) {
			t.Fatalf("%v: %d %v", tc.q, status, body)
		}
	}

	// Labels, label values with an encoded name, series with repeated match[].
	_, body = promGet(t, f, &bob, "/api/v1/labels", url.Values{"match[]": {"up"}})
	if !reflect.DeepEqual(body["data"], []any{"__name__", "a/b c", "job"}) {
		t.Fatalf("labels %v", body)
	}
	_, body = promGet(t, f, &bob, "/api/v1/label/"+url.PathEscape("a/b c")+"/values", nil)
	if !reflect.DeepEqual(body["data"], []any{"x"}) {
		t.Fatalf("label values %v", body)
	}
	_, body = promGet(t, f, &bob, "/api/v1/series", url.Values{"match[]": {`{job="api"}`, `{"http.requests"}`}})
	if len(body["data"].([]any)) != 2 {
		t.Fatalf("series %v", body)
	}
	if status, body := promGet(t, f, &bob, "/api/v1/series", nil); status != 400 || !promContains(body["error"], "no match[]") {
		t.Fatalf("series without match: %d %v", status, body)
	}
	_, body = promGet(t, f, &bob, "/api/v1/series", url.Values{"match[]": {"up"}, "start": {"2025-03-01T00:05:00Z"}})
	if len(body["data"].([]any)) != 0 {
		t.Fatalf("start after the last sample must filter: %v", body)
	}
	last := s.Requests()[len(s.Requests())-1]
	if last.Op != "PromQLSeries" || last.Owner != "bob" || last.Query.Get("start") == "" {
		t.Fatalf("request log %+v", last)
	}

	// Injected Prometheus errors carry Prometheus statuses.
	s.FailQuery("up", "execution", "boom")
	if status, body := promGet(t, f, &bob, "/api/v1/query", url.Values{"query": {"up"}}); status != 422 || body["errorType"] != "execution" || body["error"] != "boom" {
		t.Fatalf("execution error: %d %v", status, body)
	}
	if status, _ := promGet(t, f, &bob, "/api/v1/labels", url.Values{"match[]": {"up"}}); status != 422 {
		t.Fatalf("failure must apply to match[] too: %d", status)
	}
	// And AWS-level faults come from the core.
	f.SetFault("PromQLLabels", Fault{Status: 503, Code: "ServiceUnavailable", Message: "later", Times: 1})
	if status, body := promGet(t, f, &bob, "/api/v1/labels", nil); status != 503 || body["__type"] != "ServiceUnavailable" {
		t.Fatalf("fault: %d %v", status, body)
	}
}

func promContains(v any, sub string) bool {
	s, _ := v.(string)
	return strings.Contains(s, sub)
}

func TestPromQLFakeSelectorParser(t *testing.T) {
	labels := map[string]string{"__name__": "http.server.duration", "@resource.service.name": "checkout", "code": "200"}
	for _, tc := range []struct {
		expr  string
		match bool
	}{
		{`{"http.server.duration"}`, true},
		{`{"http.server.duration", "@resource.service.name"="checkout"}`, true},
		{`{"http.server.duration", "@resource.service.name"!="checkout"}`, false},
		{`{__name__="http.server.duration", code=~"2.."}`, true},
		{`{__name__=~".+", code!~"5.."}`, true},
		{`{code=~"2"}`, false}, // anchored
		{`{ "@resource.service.name" = 'checkout' , }`, true},
		{"{code=`200`}", true},
		{`other{code="200"}`, false},
		{`{"@resource.service.name"="cart"}`, false},
	} {
		sel, err := parsePromSelector(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := sel.matches(labels); got != tc.match {
			t.Errorf("%s: match %v, want %v", tc.expr, got, tc.match)
		}
	}
	for _, bad := range []string{``, `{}`, `{code=""}`, `{code}`, `{code="200"`, `{code=~"("}`, `up{} + 1`, `sum(up)`, `{code="200",,}`, `{code!~"5.."}`} {
		if _, err := parsePromSelector(bad); err == nil {
			t.Errorf("%q must not parse", bad)
		}
	}
}
