package toolkit

import (
	"math"
	"testing"
)

// TestNumericArgsAreExact is the regression test for what FuzzToolArgs
// found: fmt.Sscan read "12abc" as 12 and "0x10" as 16, "NaN" passed as a
// number, and int(1e300) became math.MinInt64, slipping past "> max" checks.
func TestNumericArgsAreExact(t *testing.T) {
	for _, v := range []any{"12abc", "0x10", "1 2", "42.5", 1e300, -1e19, float64(1 << 60), "1e300", math.NaN()} {
		if n, err := (Args{"n": v}).Int("n", 0); err == nil {
			t.Errorf("integer(%#v) = %d, want an error", v, n)
		}
	}
	for v, want := range map[any]int{"12": 12, " 7 ": 7, "42.0": 42, 42.0: 42, "-3": -3, float64(1 << 53): 1 << 53} {
		if n, err := (Args{"n": v}).Int("n", 0); err != nil || n != want {
			t.Errorf("integer(%#v) = %d, %v; want %d", v, n, err, want)
		}
	}
	for _, v := range []any{"NaN", "Inf", "-inf", "1.5x", ""} {
		if f, err := (Args{"n": v}).Number("n", 0); err == nil {
			t.Errorf("number(%#v) = %v, want an error", v, f)
		}
	}
	if f, err := (Args{"n": " 2.5 "}).Number("n", 0); err != nil || f != 2.5 {
		t.Errorf("number(\" 2.5 \") = %v, %v", f, err)
	}
}
