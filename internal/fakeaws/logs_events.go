package fakeaws

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file keeps the log events of log groups: what FilterLogEvents
// searches, GetLogRecord returns, Live Tail streams and FromEvents Insights
// results show. Events carry a sequence number in append order; their
// @ptr names the group and that number. Data protection masking and the
// per-owner read and unmask permissions live here too.

// Data identifiers for LogGroup.MaskPatterns, standing in for the managed
// data identifiers of a data protection policy.
const (
	MaskEmailAddress     = `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`
	MaskCreditCardNumber = `\b(?:\d[ -]?){12,18}\d\b`
	MaskAwsSecretKey     = `\b[A-Za-z0-9/+=]{40}\b`
)

// maxEventsPerGroup bounds a group's events; the oldest go first, so a
// demo generator can run for days.
const maxEventsPerGroup = 100_000

// LogEvent is one log event to add to a log group.
type LogEvent struct {
	// Stream is the log stream; default "fakeaws-stream".
	Stream string
	// Time is the event's timestamp; default the fake clock when appended.
	Time    time.Time
	Message string
}

// StoredEvent is a log event as the fake keeps it.
type StoredEvent struct {
	LogEvent
	Group     string    // log group ARN
	ID        string    // eventId, as FilterLogEvents reports it
	Ingestion time.Time // fake clock when appended
	Pointer   string    // @ptr: what GetLogRecord takes
}

type storedEvent struct {
	seq    int64
	stream string
	ts     time.Time
	ingest time.Time
	msg    string
}

func (e storedEvent) id() string { return fmt.Sprintf("%019d%037d", e.ts.UnixMilli(), e.seq) }

// recordPointer encodes a log record pointer (@ptr). Real pointers are
// opaque base64 too; this one names the group ARN and the event.
func recordPointer(groupARN string, seq int64) string {
	return base64.StdEncoding.EncodeToString([]byte("fakeaws-ptr|" + groupARN + "|" + strconv.FormatInt(seq, 10)))
}

func parseRecordPointer(ptr string) (groupARN string, seq int64, ok bool) {
	b, err := base64.StdEncoding.DecodeString(ptr)
	if err != nil {
		return "", 0, false
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || parts[0] != "fakeaws-ptr" {
		return "", 0, false
	}
	seq, err = strconv.ParseInt(parts[2], 10, 64)
	return parts[1], seq, err == nil
}

// findGroup returns the group a name or ARN names, in any region: a name
// means the default account's group, in us-east-1 when several regions
// have one. Callers hold l.mu.
func (l *Logs) findGroup(id string) *LogGroup {
	var found *LogGroup
	for i := range l.groups {
		g := &l.groups[i]
		if g.ARN() == normalizeLogGroupARN(id) {
			return g
		}
		if g.Name == id && g.AccountID == DefaultAccountID && (found == nil || g.Region == "us-east-1") {
			found = g
		}
	}
	return found
}

// AppendEvents adds events to a log group (name or ARN), as PutLogEvents
// would: Live Tail sessions open on the group receive them. The group must
// have been added with AddLogGroup.
func (l *Logs) AppendEvents(group string, events ...LogEvent) error {
	now := l.f.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.findGroup(group)
	if g == nil {
		return fmt.Errorf("fakeaws: no log group %q", group)
	}
	arn := g.ARN()
	stored := make([]storedEvent, 0, len(events))
	for _, e := range events {
		l.eventSeq++
		if e.Stream == "" {
			e.Stream = "fakeaws-stream"
		}
		if e.Time.IsZero() {
			e.Time = now
		}
		stored = append(stored, storedEvent{seq: l.eventSeq, stream: e.Stream, ts: e.Time.UTC(), ingest: now.UTC(), msg: e.Message})
	}
	all := append(l.events[arn], stored...)
	if n := len(all) - maxEventsPerGroup; n > 0 {
		all = append([]storedEvent(nil), all[n:]...)
	}
	l.events[arn] = all
	l.live.deliver(arn, stored, l.maskLocked(arn))
	return nil
}

// Events returns a group's events in append order.
func (l *Logs) Events(group string) []StoredEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.findGroup(group)
	if g == nil {
		return nil
	}
	arn := g.ARN()
	out := make([]StoredEvent, 0, len(l.events[arn]))
	for _, e := range l.events[arn] {
		out = append(out, StoredEvent{LogEvent: LogEvent{Stream: e.stream, Time: e.ts, Message: e.msg}, Group: arn, ID: e.id(), Ingestion: e.ingest, Pointer: recordPointer(arn, e.seq)})
	}
	return out
}

// AllowUnmask gives key owners the logs:Unmask permission: their calls with
// unmask set see masked data in clear. Everyone else who asks to unmask
// gets AccessDeniedException.
func (l *Logs) AllowUnmask(owners ...string) *Logs {
	l.mu.Lock()
	for _, o := range owners {
		l.unmask[o] = true
	}
	l.mu.Unlock()
	return l
}

// maskLocked returns the masking function of a group (identity when it has
// no data protection). Callers hold l.mu.
func (l *Logs) maskLocked(groupARN string) func(string) string {
	res := l.masks[groupARN]
	if len(res) == 0 {
		return func(s string) string { return s }
	}
	return func(s string) string {
		for _, re := range res {
			s = re.ReplaceAllStringFunc(s, func(m string) string { return strings.Repeat("*", len(m)) })
		}
		return s
	}
}

func accessDenied(r *Request, action, resource string) *Error {
	return &Error{Status: 400, Code: "AccessDeniedException", Message: fmt.Sprintf("User: %s is not authorized to perform: logs:%s on resource: %s because no identity-based policy allows the logs:%s action", r.Owner, action, resource, action)}
}

// readable checks the group's Readers for the caller of r.
func readable(r *Request, g *LogGroup, action string) *Error {
	if len(g.Readers) > 0 && !slices.Contains(g.Readers, r.Owner) {
		return accessDenied(r, action, g.ARN())
	}
	return nil
}

// unmasker returns the function that prepares a group's text for the
// caller: masked, or in clear when the call asked to unmask and the caller
// holds logs:Unmask. Callers hold l.mu.
func (l *Logs) unmasker(r *Request, g *LogGroup, unmask bool) (func(string) string, *Error) {
	if !unmask {
		return l.maskLocked(g.ARN()), nil
	}
	if !l.unmask[r.Owner] {
		return nil, accessDenied(r, "Unmask", g.ARN())
	}
	return func(s string) string { return s }, nil
}

// insightsFilter finds `filter @message like /re/` (or "text", or with
// not) in an Insights query, for FromEvents results.
var (
	insightsFilter = regexp.MustCompile(`filter\s+@message\s+(not\s+)?like\s+(?:/((?:\\/|[^/])*)/|"((?:\\"|[^"])*)")`)
	insightsLimit  = regexp.MustCompile(`\|\s*limit\s+(\d+)`)
)

// eventRows builds FromEvents Insights rows from the events of the query's
// groups in its time range, newest first. Callers hold l.mu.
func (l *Logs) eventRows(sq StartedQuery, res QueryResult) [][]ResultField {
	type cond struct {
		not bool
		re  *regexp.Regexp
	}
	var conds []cond
	for _, m := range insightsFilter.FindAllStringSubmatch(sq.QueryString, -1) {
		expr := m[2]
		if m[3] != "" || expr == "" {
			expr = regexp.QuoteMeta(strings.ReplaceAll(m[3], `\"`, `"`))
		}
		re, err := regexp.Compile(strings.ReplaceAll(expr, `\/`, `/`))
		if err != nil {
			continue
		}
		conds = append(conds, cond{m[1] != "", re})
	}
	limit := 1000
	if m := insightsLimit.FindStringSubmatch(sq.QueryString); m != nil {
		limit, _ = strconv.Atoi(m[1])
	}
	type hit struct {
		g *LogGroup
		e storedEvent
	}
	var hits []hit
	for _, id := range sq.LogGroups {
		g, err := l.resolveGroup(id, sq.Region, sq.LogGroupsParam, true)
		if err != nil {
			continue
		}
		for _, e := range l.events[g.ARN()] {
			if e.ts.Before(sq.Start) || e.ts.After(sq.End) {
				continue
			}
			ok := true
			for _, c := range conds {
				ok = ok && c.re.MatchString(e.msg) != c.not
			}
			if ok {
				hits = append(hits, hit{g, e})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if !hits[i].e.ts.Equal(hits[j].e.ts) {
			return hits[i].e.ts.After(hits[j].e.ts)
		}
		return hits[i].e.seq > hits[j].e.seq
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	rows := make([][]ResultField, 0, len(hits))
	for _, h := range hits {
		msg := l.maskLocked(h.g.ARN())(h.e.msg)
		if res.MessageLimit > 0 && len(msg) > res.MessageLimit {
			msg = msg[:res.MessageLimit]
		}
		rows = append(rows, Row(
			"@timestamp", h.e.ts.Format("2006-01-02 15:04:05.000"),
			"@message", msg,
			"@logStream", h.e.stream,
			"@log", h.g.AccountID+":"+h.g.Name,
			"@ptr", recordPointer(h.g.ARN(), h.e.seq),
		))
	}
	return rows
}
