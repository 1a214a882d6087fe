package fakeaws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// noEndpointHostPrefix is how a client must call StartLiveTail through a
// custom endpoint: the SDK would send it to "stream-" + the endpoint host
// otherwise (see logs_livetail.go).
func noEndpointHostPrefix(o *cloudwatchlogs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("NoEndpointHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

// readOnlyBodies sends request bodies without their io.WriterTo. Over
// HTTP/1.1, net/http reads a request body once more after writing it (to
// catch extra bytes); smithy-go closes the body as soon as the response
// headers arrive, and its closed body's WriteTo then fails with io.EOF, so
// net/http closes the connection under the response it is still reading
// (aws/aws-sdk-go-v2#2737). Harmless for short answers, that kills about
// one Live Tail stream in ten right after it starts. HTTP/2 reads bodies
// with Read only and is not affected; neither is a body without WriteTo.
type readOnlyBodies struct{ c *http.Client }

func (d readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return d.c.Do(r)
}

// liveClient is a Logs client of owner that reaches the fake over HTTP/2
// when http2 is set (HTTPS for a StartTLS fake), over HTTP/1.1 otherwise.
func liveClient(f *Fake, owner string, http2 bool) *cloudwatchlogs.Client {
	cfg := TestConfig(f, StaticCredentials(f.IssueCredentials(owner, time.Now().Add(24*time.Hour))))
	cfg.HTTPClient = readOnlyBodies{&http.Client{}}
	if http2 {
		cfg.HTTPClient = f.HTTPClient()
	}
	return cloudwatchlogs.NewFromConfig(cfg, noEndpointHostPrefix)
}

// nextEvent reads the next stream event or fails after a wait that only
// ends a test that would hang (a loaded machine is slow, not wrong).
func nextEvent(t *testing.T, st *cloudwatchlogs.StartLiveTailEventStream) types.StartLiveTailResponseStream {
	t.Helper()
	select {
	case ev, ok := <-st.Events():
		if !ok {
			t.Fatalf("stream ended: %v", st.Err())
		}
		return ev
	case <-time.After(time.Minute):
		t.Fatal("no stream event within a minute")
	}
	return nil
}

// collectUntil reads session updates until want events arrived.
func collectUntil(t *testing.T, st *cloudwatchlogs.StartLiveTailEventStream, want int) ([]types.LiveTailSessionLogEvent, []bool) {
	t.Helper()
	var got []types.LiveTailSessionLogEvent
	var sampled []bool
	for len(got) < want {
		u, ok := nextEvent(t, st).(*types.StartLiveTailResponseStreamMemberSessionUpdate)
		if !ok {
			t.Fatal("expected a sessionUpdate")
		}
		got = append(got, u.Value.SessionResults...)
		if len(u.Value.SessionResults) > 0 {
			sampled = append(sampled, u.Value.SessionMetadata.Sampled)
		}
	}
	return got, sampled
}

func waitClosed(t *testing.T, l *Logs, id string, within time.Duration) LiveTailSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	snaps, err := l.WaitLiveTail(ctx, func(ss []LiveTailSession) bool {
		for _, s := range ss {
			if s.ID == id && !s.Open() {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("session %s still open after %v: %+v", id, within, snaps)
	}
	for _, s := range snaps {
		if s.ID == id {
			return s
		}
	}
	return LiveTailSession{}
}

func TestLiveTailStreamsNewEventsAndNoticesClose(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func() *Fake
		http2 bool
		proto string
	}{
		{"https h2", StartTLS, true, "HTTP/2.0"},
		{"h2c", Start, true, "HTTP/2.0"},
		{"http/1.1", Start, false, "HTTP/1.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.start()
			defer f.Close()
			l := LogsOf(f).SetLiveTailOptions(LiveTailOptions{UpdateInterval: 20 * time.Millisecond})
			g := LogGroup{Name: "/ecs/web", Region: "us-east-1", AccountID: DefaultAccountID}
			l.AddLogGroup(g)
			if err := l.AppendEvents(g.Name, LogEvent{Message: `{"level":"ERROR","msg":"before the session"}`}); err != nil {
				t.Fatal(err)
			}
			cl := liveClient(f, "alice", c.http2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, err := cl.StartLiveTail(ctx, &cloudwatchlogs.StartLiveTailInput{
				LogGroupIdentifiers:   []string{g.ARN()},
				LogEventFilterPattern: aws.String(`{ $.level = "ERROR" }`),
			})
			if err != nil {
				t.Fatal(err)
			}
			st := out.GetStream()
			defer st.Close()
			start, ok := nextEvent(t, st).(*types.StartLiveTailResponseStreamMemberSessionStart)
			if !ok || aws.ToString(start.Value.SessionId) == "" || fmt.Sprint(start.Value.LogGroupIdentifiers) != "["+g.ARN()+"]" || aws.ToString(start.Value.LogEventFilterPattern) != `{ $.level = "ERROR" }` {
				t.Fatalf("sessionStart %+v", start)
			}
			if err := l.AppendEvents(g.ARN(),
				LogEvent{Stream: "web/1", Message: `{"level":"INFO","msg":"ok"}`},
				LogEvent{Stream: "web/1", Message: `{"level":"ERROR","msg":"boom 1"}`},
				LogEvent{Stream: "web/2", Message: `{"level":"ERROR","msg":"boom 2"}`},
			); err != nil {
				t.Fatal(err)
			}
			got, sampled := collectUntil(t, st, 2)
			if len(got) != 2 || !strings.Contains(aws.ToString(got[0].Message), "boom 1") || aws.ToString(got[1].LogStreamName) != "web/2" ||
				aws.ToString(got[0].LogGroupIdentifier) != g.ARN() || aws.ToInt64(got[0].Timestamp) == 0 || aws.ToInt64(got[0].IngestionTime) == 0 || sampled[0] {
				t.Fatalf("updates carried %+v (sampled %v)", got, sampled)
			}

			sess := l.LiveTailSessions()
			if len(sess) != 1 || !sess[0].Open() || sess[0].Owner != "alice" || sess[0].Proto != c.proto || sess[0].ID != aws.ToString(start.Value.SessionId) || sess[0].Events != 2 {
				t.Fatalf("session snapshot %+v", sess)
			}
			if calls := f.Calls("logs.StartLiveTail"); len(calls) != 1 || !calls[0].Signed || calls[0].Owner != "alice" {
				t.Fatalf("calls %+v", calls)
			}

			// Closing the stream (as a cancelled tool does) ends the session
			// on the fake's side at once.
			closed := time.Now()
			_ = st.Close()
			// "At once": within seconds, not at some session timeout.
			s := waitClosed(t, l, sess[0].ID, time.Minute)
			if s.EndReason != "client closed" && s.EndReason != "write failed" || s.Ended.Sub(closed) > 10*time.Second {
				t.Fatalf("ended %+v", s)
			}
		})
	}
}

func TestLiveTailSamplingAndStreams(t *testing.T) {
	f := StartTLS()
	defer f.Close()
	l := LogsOf(f).SetLiveTailOptions(LiveTailOptions{UpdateInterval: 20 * time.Millisecond, SampleLimit: 5})
	g := LogGroup{Name: "/busy", Region: "us-east-1", AccountID: DefaultAccountID}
	l.AddLogGroup(g)
	cl := liveClient(f, "alice", true)
	out, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}, LogStreamNamePrefixes: []string{"api/"}})
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	nextEvent(t, st)
	batch := make([]LogEvent, 0, 21)
	for i := range 20 {
		batch = append(batch, LogEvent{Stream: "api/1", Message: fmt.Sprintf("line %02d", i)})
	}
	batch = append(batch, LogEvent{Stream: "worker/1", Message: "not tailed"})
	if err := l.AppendEvents(g.Name, batch...); err != nil {
		t.Fatal(err)
	}
	got, sampled := collectUntil(t, st, 1)
	if len(got) != 5 || !sampled[0] || aws.ToString(got[0].Message) != "line 00" || aws.ToString(got[1].Message) != "line 04" {
		t.Fatalf("sample %v %v", got, sampled)
	}
	// A quiet second still sends an (empty) update.
	if u, ok := nextEvent(t, st).(*types.StartLiveTailResponseStreamMemberSessionUpdate); !ok || len(u.Value.SessionResults) != 0 || u.Value.SessionMetadata.Sampled {
		t.Fatalf("quiet update %+v", u)
	}
	if s := l.LiveTailSessions()[0]; s.SampledUpdates != 1 || s.Events != 5 {
		t.Fatalf("snapshot %+v", s)
	}
}

// TestLiveTailPerOwner runs two users' tails at once: each sees only the
// group it may read, and a tail of the other's group is refused.
func TestLiveTailPerOwner(t *testing.T) {
	f := StartTLS()
	defer f.Close()
	l := LogsOf(f).SetLiveTailOptions(LiveTailOptions{UpdateInterval: 20 * time.Millisecond})
	groups := map[string]LogGroup{}
	for _, u := range []string{"alice", "bob"} {
		g := LogGroup{Name: "/team/" + u, Region: "us-east-1", AccountID: DefaultAccountID, Readers: []string{u}}
		groups[u] = g
		l.AddLogGroup(g)
	}
	streams := map[string]*cloudwatchlogs.StartLiveTailEventStream{}
	for _, u := range []string{"alice", "bob"} {
		cl := liveClient(f, u, true)
		other := "bob"
		if u == "bob" {
			other = "alice"
		}
		_, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{groups[other].ARN()}})
		assertCode(t, err, "AccessDeniedException")
		out, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{groups[u].ARN()}})
		if err != nil {
			t.Fatal(err)
		}
		streams[u] = out.GetStream()
		defer streams[u].Close()
		nextEvent(t, streams[u])
	}
	for _, u := range []string{"alice", "bob"} {
		if err := l.AppendEvents(groups[u].Name, LogEvent{Message: "for " + u}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob"} {
		got, _ := collectUntil(t, streams[u], 1)
		if len(got) != 1 || aws.ToString(got[0].Message) != "for "+u {
			t.Fatalf("%s saw %+v", u, got)
		}
	}
	owners := map[string]bool{}
	for _, s := range l.LiveTailSessions() {
		owners[s.Owner+" "+s.LogGroups[0]] = true
	}
	if !owners["alice "+groups["alice"].ARN()] || !owners["bob "+groups["bob"].ARN()] || len(owners) != 2 {
		t.Fatalf("sessions %v", owners)
	}
}

func TestLiveTailEnds(t *testing.T) {
	f := Start()
	clk := &fakeClock{t: time.Now()}
	f.SetClock(clk.now)
	l := LogsOf(f).SetLiveTailOptions(LiveTailOptions{UpdateInterval: 10 * time.Millisecond})
	g := LogGroup{Name: "/g", Region: "us-east-1", AccountID: DefaultAccountID}
	l.AddLogGroup(g)
	cl := liveClient(f, "alice", true)
	open := func() (*cloudwatchlogs.StartLiveTailEventStream, string) {
		out, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}})
		if err != nil {
			t.Fatal(err)
		}
		st := out.GetStream()
		s := nextEvent(t, st).(*types.StartLiveTailResponseStreamMemberSessionStart)
		return st, aws.ToString(s.Value.SessionId)
	}
	drain := func(st *cloudwatchlogs.StartLiveTailEventStream) error {
		for {
			select {
			case _, ok := <-st.Events():
				if !ok {
					return st.Err()
				}
			case <-time.After(time.Minute):
				t.Fatal("stream did not end")
			}
		}
	}

	// Three hours on the fake clock: SessionTimeoutException.
	st, id := open()
	clk.advance(3 * time.Hour)
	var te *types.SessionTimeoutException
	if err := drain(st); !errors.As(err, &te) {
		t.Fatalf("want SessionTimeoutException, got %v", err)
	}
	if s := waitClosed(t, l, id, time.Minute); s.EndReason != "timeout" {
		t.Fatalf("ended %+v", s)
	}

	// A server-side failure: SessionStreamingException.
	st, id = open()
	l.FailLiveTails("internal streaming error")
	var se *types.SessionStreamingException
	if err := drain(st); !errors.As(err, &se) || !strings.Contains(se.ErrorMessage(), "internal streaming error") {
		t.Fatalf("want SessionStreamingException, got %v", err)
	}
	waitClosed(t, l, id, time.Minute)

	// Closing the fake ends open sessions instead of hanging.
	st, id = open()
	defer st.Close()
	f.Close()
	if s := waitClosed(t, l, id, time.Minute); s.EndReason != "server closed" {
		t.Fatalf("ended %+v", s)
	}
}

func TestLiveTailValidation(t *testing.T) {
	f := Start()
	defer f.Close()
	l := LogsOf(f).SetLiveTailOptions(LiveTailOptions{UpdateInterval: 10 * time.Millisecond, MaxSessions: 1})
	g := LogGroup{Name: "/g", Region: "us-east-1", AccountID: DefaultAccountID}
	h := LogGroup{Name: "/h", Region: "us-east-1", AccountID: DefaultAccountID}
	l.AddLogGroup(g, h)
	cl := liveClient(f, "alice", false)
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = g.ARN()
	}
	for name, c := range map[string]struct {
		in   cloudwatchlogs.StartLiveTailInput
		code string
	}{
		"name, not ARN":     {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/g"}}, "InvalidParameterException"},
		"eleven groups":     {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: eleven}, "InvalidParameterException"},
		"unknown group":     {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN() + "-nope"}}, "ResourceNotFoundException"},
		"names & prefixes":  {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}, LogStreamNames: []string{"a"}, LogStreamNamePrefixes: []string{"b"}}, "InvalidParameterException"},
		"streams, 2 groups": {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN(), h.ARN()}, LogStreamNames: []string{"a"}}, "InvalidParameterException"},
		"bad pattern":       {cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}, LogEventFilterPattern: aws.String(`{ $.a = `)}, "InvalidParameterException"},
	} {
		_, err := cl.StartLiveTail(context.Background(), &c.in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		assertCode(t, err, c.code)
	}
	f.SetFault("StartLiveTail", Fault{Status: 400, Code: "AccessDeniedException", Message: "no", Times: 1})
	_, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}})
	assertCode(t, err, "AccessDeniedException")

	out, err := cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN(), h.ARN()}})
	if err != nil {
		t.Fatal(err)
	}
	defer out.GetStream().Close()
	_, err = cl.StartLiveTail(context.Background(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{g.ARN()}})
	assertCode(t, err, "LimitExceededException")
	if len(l.LiveTailSessions()) != 1 {
		t.Fatalf("refused calls opened sessions: %+v", l.LiveTailSessions())
	}
}
