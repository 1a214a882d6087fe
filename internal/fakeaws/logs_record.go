package fakeaws

import (
	"encoding/json"
	"strconv"
)

// GetLogRecord (JSON 1.1): the whole event behind an Insights @ptr, as a
// map of fields: @timestamp and @ingestionTime (epoch milliseconds),
// @message, @logStream, @log ("account:group"), and for a JSON message
// its fields flattened with dots (a.b, list.0), all masked unless the call
// unmasks and its caller may (AllowUnmask).

func init() {
	Register(func(f *Fake) {
		f.Handle("logs", "GetLogRecord", func(r *Request) (any, error) { return LogsOf(r.Fake()).getLogRecord(r) })
	})
}

func (l *Logs) getLogRecord(r *Request) (any, error) {
	ptr := r.String("logRecordPointer")
	if ptr == "" {
		return nil, invalidParam("1 validation error detected: Value null at 'logRecordPointer' failed to satisfy constraint: Member must not be null")
	}
	arn, seq, ok := parseRecordPointer(ptr)
	if !ok {
		return nil, invalidParam("The specified logRecordPointer is not valid.")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var g *LogGroup
	for i := range l.groups {
		if l.groups[i].ARN() == arn {
			g = &l.groups[i]
		}
	}
	if g == nil || g.Region != r.Region {
		return nil, invalidParam("The specified logRecordPointer is not valid.")
	}
	if e := readable(r, g, "GetLogRecord"); e != nil {
		return nil, e
	}
	show, uerr := l.unmasker(r, g, r.Bool("unmask"))
	if uerr != nil {
		return nil, uerr
	}
	for _, e := range l.events[arn] {
		if e.seq != seq {
			continue
		}
		msg := show(e.msg)
		rec := map[string]any{
			"@timestamp":     strconv.FormatInt(e.ts.UnixMilli(), 10),
			"@ingestionTime": strconv.FormatInt(e.ingest.UnixMilli(), 10),
			"@message":       msg,
			"@logStream":     e.stream,
			"@log":           g.AccountID + ":" + g.Name,
		}
		if doc, ok := jsonMessage(msg); ok {
			flattenJSON("", doc, rec)
		}
		return map[string]any{"logRecord": rec}, nil
	}
	return nil, Errorf("ResourceNotFoundException", "The log record the logRecordPointer points to no longer exists.")
}

// flattenJSON adds the leaves of v to out under dotted keys, as Insights
// discovers the fields of a JSON log event.
func flattenJSON(prefix string, v any, out map[string]any) {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flattenJSON(key(k), e, out)
		}
	case []any:
		for i, e := range x {
			flattenJSON(key(strconv.Itoa(i)), e, out)
		}
	case nil:
		out[prefix] = "null"
	case string:
		out[prefix] = x
	case json.Number:
		out[prefix] = x.String()
	case bool:
		out[prefix] = strconv.FormatBool(x)
	}
}
