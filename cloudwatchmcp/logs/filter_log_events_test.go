package logs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// eventsGroup is a log group with events for the event tools' tests.
var eventsGroup = fakeaws.LogGroup{Name: "/ecs/orders", Region: "us-east-1", AccountID: fakeaws.DefaultAccountID}

var eventsT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seedEvents adds n events a second apart from eventsT0: every third an
// ERROR, alternating between two streams.
func seedEvents(t *testing.T, te *mcptest.Env, g fakeaws.LogGroup, n int) {
	t.Helper()
	l := fakeaws.LogsOf(te.Fake)
	l.AddLogGroup(g)
	for i := range n {
		level := "INFO"
		if i%3 == 0 {
			level = "ERROR"
		}
		if err := l.AppendEvents(g.Name, fakeaws.LogEvent{Stream: fmt.Sprintf("web/%d", i%2), Time: eventsT0.Add(time.Duration(i) * time.Second),
			Message: fmt.Sprintf(`{"level":%q,"msg":"request %d","user":"u%d@example.com"}`, level, i, i)}); err != nil {
			t.Fatal(err)
		}
	}
}

type filterResult struct {
	LogGroupIdentifier string `json:"log_group_identifier"`
	StartTime          string `json:"start_time"`
	EndTime            string `json:"end_time"`
	Events             []struct {
		Timestamp     string  `json:"timestamp"`
		IngestionTime *string `json:"ingestionTime"`
		LogStreamName string  `json:"logStreamName"`
		Message       string  `json:"message"`
		EventID       string  `json:"eventId"`
	} `json:"events"`
	NextToken *string `json:"next_token"`
}

func TestFilterLogEventsPatternStreamsAndPaging(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedEvents(t, te, eventsGroup, 30)
	ctx := mcptest.UserCtx(te.Alice)
	args := map[string]any{
		"log_group_identifier": eventsGroup.ARN() + ":*", "filter_pattern": `{ $.level = "ERROR" }`,
		"start_time": "2026-03-01T12:00:00Z", "end_time": "2026-03-01T12:00:20Z", "log_stream_names": []any{"web/0"}, "limit": 2,
	}
	// ERRORs at 0,3,...,18 within 20 s; of those, stream web/0 holds the
	// even ones: 0, 6, 12, 18.
	var got []string
	for page := 0; ; page++ {
		var r filterResult
		mcptest.DecodeResult(t, te.CallTool(t, ctx, "filter_log_events", args), &r)
		if r.LogGroupIdentifier != eventsGroup.ARN() || r.StartTime != "2026-03-01T12:00:00+00:00" {
			t.Fatalf("echo %+v", r)
		}
		for _, e := range r.Events {
			if e.LogStreamName != "web/0" || e.EventID == "" || e.IngestionTime == nil {
				t.Fatalf("event %+v", e)
			}
			got = append(got, e.Timestamp+" "+e.Message[strings.Index(e.Message, "request"):])
		}
		if r.NextToken == nil {
			break
		}
		if page > 3 || len(r.Events) != 2 {
			t.Fatalf("page %d: %d events, token %v", page, len(r.Events), *r.NextToken)
		}
		args["next_token"] = *r.NextToken
	}
	want := []string{
		`2026-03-01T12:00:00+00:00 request 0","user":"u0@example.com"}`,
		`2026-03-01T12:00:06+00:00 request 6","user":"u6@example.com"}`,
		`2026-03-01T12:00:12+00:00 request 12","user":"u12@example.com"}`,
		`2026-03-01T12:00:18+00:00 request 18","user":"u18@example.com"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s", strings.Join(got, "\n"))
	}
	assertOwner(t, te, "FilterLogEvents", 2)
}

func TestFilterLogEventsDefaultsToTheLastHour(t *testing.T) {
	te := mcptest.NewEnv(t)
	te.Now = func() time.Time { return eventsT0.Add(90 * time.Minute) }
	l := fakeaws.LogsOf(te.Fake)
	l.AddLogGroup(eventsGroup)
	for _, at := range []time.Duration{0, 45 * time.Minute, 80 * time.Minute} {
		if err := l.AppendEvents(eventsGroup.Name, fakeaws.LogEvent{Time: eventsT0.Add(at), Message: "at " + at.String()}); err != nil {
			t.Fatal(err)
		}
	}
	var r filterResult
	mcptest.DecodeResult(t, te.CallTool(t, mcptest.UserCtx(te.Alice), "filter_log_events", map[string]any{"log_group_identifier": eventsGroup.Name}), &r)
	if len(r.Events) != 2 || r.Events[0].Message != "at 45m0s" || r.StartTime != "2026-03-01T12:30:00+00:00" || r.NextToken != nil {
		t.Fatalf("%+v", r)
	}
}

func TestFilterLogEventsUnmaskIsAWSsDecision(t *testing.T) {
	te := mcptest.NewEnv(t)
	g := eventsGroup
	g.MaskPatterns = []string{fakeaws.MaskEmailAddress}
	seedEvents(t, te, g, 1)
	ctx := mcptest.UserCtx(te.Alice)
	args := map[string]any{"log_group_identifier": g.Name, "start_time": "2026-03-01T11:00:00Z", "end_time": "2026-03-01T13:00:00Z"}
	var r filterResult
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "filter_log_events", args), &r)
	if len(r.Events) != 1 || strings.Contains(r.Events[0].Message, "u0@example.com") || !strings.Contains(r.Events[0].Message, "**********") {
		t.Fatalf("masked %+v", r.Events)
	}
	args["unmask"] = true
	mcptest.WantToolError(t, te.CallTool(t, ctx, "filter_log_events", args), "AccessDeniedException")
	fakeaws.LogsOf(te.Fake).AllowUnmask("alice")
	mcptest.DecodeResult(t, te.CallTool(t, ctx, "filter_log_events", args), &r)
	if len(r.Events) != 1 || !strings.Contains(r.Events[0].Message, "u0@example.com") {
		t.Fatalf("unmasked %+v", r.Events)
	}
}

func TestFilterLogEventsErrors(t *testing.T) {
	te := mcptest.NewEnv(t)
	g := eventsGroup
	g.Readers = []string{"bob"}
	seedEvents(t, te, g, 3)
	ctx := mcptest.UserCtx(te.Alice)
	res := te.CallTool(t, ctx, "filter_log_events", map[string]any{"log_group_identifier": g.Name})
	mcptest.WantToolError(t, res, "AWS error AccessDeniedException: User: alice is not authorized to perform: logs:FilterLogEvents")
	mcptest.WantToolError(t, res, "ask for it to be granted")
	assertOwner(t, te, "FilterLogEvents", 1)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "log_group_identifier is required"},
		{map[string]any{"log_group_identifier": g.Name, "log_stream_names": []any{"a"}, "log_stream_name_prefix": "b"}, "not both"},
		{map[string]any{"log_group_identifier": g.Name, "limit": 0}, "limit must be between 1 and 10000"},
		{map[string]any{"log_group_identifier": g.Name, "start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-01T00:00:00Z"}, "is before start_time"},
		{map[string]any{"log_group_identifier": "/nope"}, "ResourceNotFoundException"},
		{map[string]any{"log_group_identifier": g.Name, "filter_pattern": "{ $.a = "}, "InvalidParameterException"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "filter_log_events", c.args), c.want)
	}
}

func TestTruncateFilterLogEvents(t *testing.T) {
	te := mcptest.NewEnv(t)
	seedEvents(t, te, eventsGroup, 200)
	v := mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "filter_log_events", Args: map[string]any{
		"log_group_identifier": eventsGroup.Name, "start_time": "2026-03-01T12:00:00Z", "end_time": "2026-03-01T13:00:00Z", "limit": 150,
	}})
	if hint := v["truncated"].(map[string]any)["hint"].(string); !strings.Contains(hint, "lower limit") {
		t.Fatalf("hint %q", hint)
	}
	if v["next_token"] == nil {
		t.Fatal("150 of 200 events: next_token must survive the cap")
	}
}
