package promql

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// Fuzz targets for time and PromQL argument decoding, here because they
// check toolkit's time parsing against this group's wire forms. CI runs
// their seeds; the long runs are in CONTRIBUTING.md, e.g.
//
//	go test ./cloudwatchmcp/promql/ -run '^$' -fuzz '^FuzzParseTime$' -fuzztime 10m

// FuzzParseTime: every accepted time is UTC and survives formatting and
// re-parsing; the argument accessors agree with parseTime; PromQL times are
// unix seconds that read back to the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2025-01-31T12:00:00Z", "2025-01-31T12:00:00.123456789+05:30", "2025-01-31T12:00:00",
		"2025-01-31T12:00", "2025-01-31 12:00:00", "2025-01-31 12:00:00-08:00", "2025-01-31",
		" 2025-01-31T12:00:00Z ", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59",
		"2025-02-30", "2025-13-01", "24:00", "1738324800", "1738324800.5", "-1", "1e11", "NaN",
		"", "Z", "2025-01-31T12:00:00ZZ", "2025-01-31T12:00:00+25:00", "\x00", "２０２５-01-01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := toolkit.ParseTime(s)
		if err != nil {
			mcptest.WantToolErr(t, "parseTime", err)
		} else {
			if tm.Location() != time.UTC {
				t.Fatalf("parseTime(%q) = %v, not UTC", s, tm)
			}
			if y := tm.Year(); y >= 1 && y <= 9999 {
				back, err := toolkit.ParseTime(tm.Format(time.RFC3339Nano))
				if err != nil || !back.Equal(tm) {
					t.Fatalf("round trip of %q: %v -> %v, %v", s, tm, back, err)
				}
			}
		}
		at, given, aerr := toolkit.Args{"t": s}.Time("t")
		switch {
		case s == "":
			if given || aerr != nil {
				t.Fatalf("empty time: given=%v err=%v", given, aerr)
			}
		case (err == nil) != (aerr == nil) || (err == nil && (!given || !at.Equal(tm))):
			t.Fatalf("timeArg(%q) = %v %v %v, parseTime = %v %v", s, at, given, aerr, tm, err)
		case aerr != nil:
			mcptest.WantToolErr(t, "timeArg", aerr)
		}

		wire, pt, ok, perr := promqlTime(toolkit.Args{"t": s}, "t")
		if perr != nil {
			mcptest.WantToolErr(t, "promqlTime", perr)
			return
		}
		if !ok {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("promqlTime(%q) ignored a non-empty value", s)
			}
			return
		}
		f, err := strconv.ParseFloat(wire, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			t.Fatalf("promqlTime(%q) wire value %q is not a number", s, wire)
		}
		if got := time.UnixMilli(int64(math.Round(f * 1e3))); !got.Equal(pt.Truncate(time.Millisecond)) && pt.UnixMilli() != got.UnixMilli() {
			t.Fatalf("promqlTime(%q): wire %q is %v, want %v", s, wire, got, pt)
		}
		// The wire form is itself a valid argument that means the same.
		wire2, _, _, err := promqlTime(toolkit.Args{"t": wire}, "t")
		if pt.Unix() >= 0 && f <= 1e11 && (err != nil || wire2 != wire) {
			t.Fatalf("promqlTime not idempotent: %q -> %q -> %q (%v)", s, wire, wire2, err)
		}
	})
}

// FuzzPromQLParams: PromQL times are normalised unix seconds, steps are
// positive, matchers never empty, and a label name becomes exactly one
// escaped path segment that decodes back to the name.
func FuzzPromQLParams(f *testing.F) {
	f.Add("2025-01-31T12:00:00Z", 1738324800.5, false, "5m", `["up","{job=\"x\"}"]`, "__name__")
	f.Add("1738324800", 0.0, true, "60", `up`, "@resource.service.name")
	f.Add("", -1.0, true, "0", `["", "  "]`, "a/b")
	f.Add("yesterday", math.NaN(), true, "1h30m", `[`, "..")
	f.Add("2025-01-31", 1e12, true, "0s", `[1]`, "%2F")
	f.Add(" 2025-01-31T12:00:00+05:30 ", 1e-9, true, "-5m", `"x"`, "a?b#c d")
	f.Add("1e11", 99999999999.9999, true, "1.5", `[" {a=\"b\"} "]`, ".")
	f.Fuzz(func(t *testing.T, start string, startNum float64, numeric bool, step, match, label string) {
		a := toolkit.Args{"start": start, "end": start, "step": step, "match": match}
		if numeric {
			a["start"], a["end"] = startNum, startNum
		}
		wire, tm, ok, err := promqlTime(a, "start")
		if err != nil {
			mcptest.WantToolErr(t, "promqlTime", err)
		} else if ok {
			f, perr := strconv.ParseFloat(wire, 64)
			if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				t.Fatalf("promqlTime wire value %q", wire)
			}
			if numeric && (f < 0 || f > 1e11) {
				t.Fatalf("unix seconds %v accepted as %q", startNum, wire)
			}
			if math.Abs(f-float64(tm.UnixMilli())/1e3) > 1e-3 {
				t.Fatalf("wire %q does not match %v", wire, tm)
			}
		}
		params := url.Values{}
		if err := promqlRange(a, params, false); err != nil {
			mcptest.WantToolErr(t, "promqlRange", err)
		} else if ok && (params.Get("start") != wire || params.Get("end") != params.Get("start")) {
			t.Fatalf("range params %v, start %q", params, wire)
		}

		if s, err := promqlStep(a, "step"); err != nil {
			mcptest.WantToolErr(t, "promqlStep", err)
		} else if f, perr := strconv.ParseFloat(s, 64); perr == nil {
			if !(f > 0) || math.IsInf(f, 0) {
				t.Fatalf("step %q accepted", s)
			}
		} else if !promqlDurationRE.MatchString(s) || strings.Trim(s, "0msdhwy") == "" {
			t.Fatalf("step %q accepted", s)
		}

		if ms, err := promqlMatchers(a, "match", true); err != nil {
			mcptest.WantToolErr(t, "promqlMatchers", err)
		} else {
			if len(ms) == 0 {
				t.Fatal("required matchers accepted empty")
			}
			for _, m := range ms {
				if m == "" || m != strings.TrimSpace(m) {
					t.Fatalf("matcher %q", m)
				}
			}
		}

		if strings.TrimSpace(label) == "" {
			return // the tool requires a non-blank label_name first
		}
		path, err := promqlLabelPath(label)
		if err != nil {
			mcptest.WantToolErr(t, "promqlLabelPath", err)
			return
		}
		seg, ok := strings.CutPrefix(path, "label/")
		seg, ok2 := strings.CutSuffix(seg, "/values")
		if !ok || !ok2 || seg == "" || strings.ContainsAny(seg, "/?#") || seg == "." || seg == ".." {
			t.Fatalf("label %q -> path %q", label, path)
		}
		if back, err := url.PathUnescape(seg); err != nil || back != label {
			t.Fatalf("label %q -> segment %q -> %q (%v)", label, seg, back, err)
		}
		u, err := url.Parse("https://aps.example/api/v1/" + path)
		if err != nil || u.Path != "/api/v1/label/"+label+"/values" || len(strings.Split(u.EscapedPath(), "/")) != 6 {
			t.Fatalf("label %q -> URL %v (%v)", label, u, err)
		}
	})
}
