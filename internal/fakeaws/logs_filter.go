package fakeaws

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"
)

// FilterLogEvents (JSON 1.1): the events of one log group, optionally of
// some streams, in a time range, matching a filter pattern (see
// filterpattern.go), oldest first (or newest first with startFromHead
// false), paged by limit (default and most 10,000) and by AWS's 1 MB page
// size. A nextToken holds the position in a snapshot taken at the first
// page, so paging is stable while events keep arriving: later events show
// in the next listing, never twice or out of order in this one.

func init() {
	Register(func(f *Fake) {
		f.Handle("logs", "FilterLogEvents", func(r *Request) (any, error) { return LogsOf(r.Fake()).filterLogEvents(r) })
	})
}

// filterPageBytes is AWS's page size for FilterLogEvents: events (message
// bytes plus 26 each, as PutLogEvents counts them) up to 1 MB.
const filterPageBytes = 1 << 20

// startFromTailSince is the oldest startTime AWS accepts with startFromHead
// false.
var startFromTailSince = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (l *Logs) filterLogEvents(r *Request) (any, error) {
	name, ident := r.String("logGroupName"), r.String("logGroupIdentifier")
	switch {
	case name != "" && ident != "":
		return nil, invalidParam("LogGroupName and LogGroupIdentifier are mutually exclusive. Only one of these parameters can be passed.")
	case name == "" && ident == "":
		return nil, invalidParam("Either LogGroupName or LogGroupIdentifier must be specified.")
	}
	streams, prefix := r.Strings("logStreamNames"), r.String("logStreamNamePrefix")
	if len(streams) > 0 && prefix != "" {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive. Only one of these parameters can be passed.")
	}
	if len(streams) > 100 {
		return nil, invalidParam("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	start, hasStart := r.Int("startTime")
	end, hasEnd := r.Int("endTime")
	if start < 0 || end < 0 {
		return nil, invalidParam("1 validation error detected: startTime and endTime must be at least 0")
	}
	if hasStart && hasEnd && end < start {
		return nil, invalidParam("endTime (%d) must not be before startTime (%d)", end, start)
	}
	fromHead := true
	if b, ok := r.Input["startFromHead"].(bool); ok {
		fromHead = b
	}
	if !fromHead && time.UnixMilli(start).Before(startFromTailSince) {
		return nil, invalidParam("startFromHead false requires a startTime on or after %s", startFromTailSince.Format(time.RFC3339))
	}
	pattern := r.String("filterPattern")
	fp, err := compileFilterPattern(pattern)
	if err != nil {
		return nil, invalidParam("Invalid filter pattern %q: %v", pattern, err)
	}
	unmask := r.Bool("unmask")

	l.mu.Lock()
	defer l.mu.Unlock()
	limit, perr := l.pageLimit(r, "limit", 10000, 10000)
	if perr != nil {
		return nil, perr
	}
	id, param := ident, "logGroupIdentifier"
	if name != "" {
		id, param = name, "logGroupName"
	}
	g, gerr := l.resolveGroup(id, r.Region, param, param == "logGroupIdentifier")
	if gerr != nil {
		return nil, gerr
	}
	if e := readable(r, g, "FilterLogEvents"); e != nil {
		return nil, e
	}
	show, uerr := l.unmasker(r, g, unmask)
	if uerr != nil {
		return nil, uerr
	}
	arn := g.ARN()

	// The listing binds a token to this query; the cursor holds the
	// snapshot bound (highest sequence number seen at the first page) and
	// the offset into the sorted matches.
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%q\x00%s\x00%s\x00%d,%v\x00%d,%v\x00%v\x00%v", arn, streams, prefix, pattern, start, hasStart, end, hasEnd, fromHead, unmask)
	listing := fmt.Sprintf("FilterLogEvents/%x", h.Sum64())
	snapshot, offset := l.eventSeq, int64(0)
	if tok := r.String("nextToken"); tok != "" {
		cur, ok := decodeCursorToken(tok, listing, 2)
		if !ok {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		snapshot, offset = cur[0], cur[1]
	}

	var match []storedEvent
	for _, e := range l.events[arn] {
		if e.seq > snapshot {
			continue
		}
		if hasStart && e.ts.UnixMilli() < start || hasEnd && e.ts.UnixMilli() > end {
			continue
		}
		if len(streams) > 0 && !slices.Contains(streams, e.stream) || !strings.HasPrefix(e.stream, prefix) {
			continue
		}
		if fp.matches(e.msg) {
			match = append(match, e)
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		a, b := match[i], match[j]
		if !a.ts.Equal(b.ts) {
			return a.ts.Before(b.ts) == fromHead
		}
		return (a.seq < b.seq) == fromHead
	})
	if offset > int64(len(match)) {
		offset = int64(len(match))
	}
	events := []any{}
	bytes, i := 0, int(offset)
	for ; i < len(match) && len(events) < limit; i++ {
		e := match[i]
		msg := show(e.msg)
		if bytes+len(msg)+26 > filterPageBytes && len(events) > 0 {
			break
		}
		bytes += len(msg) + 26
		events = append(events, map[string]any{
			"eventId":       e.id(),
			"logStreamName": e.stream,
			"message":       msg,
			"timestamp":     e.ts.UnixMilli(),
			"ingestionTime": e.ingest.UnixMilli(),
		})
	}
	res := map[string]any{"events": events, "searchedLogStreams": []any{}}
	if i < len(match) {
		res["nextToken"] = encodeCursorToken(listing, snapshot, int64(i))
	}
	return res, nil
}
