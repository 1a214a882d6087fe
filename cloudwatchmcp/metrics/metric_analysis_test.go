package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// synth returns n points every step seconds from a fixed epoch, valued by f
// plus Gaussian noise of the given standard deviation (fixed seed).
func synth(n int, step int64, noise float64, f func(sec float64) float64) ([]int64, []float64) {
	r := rand.New(rand.NewPCG(7, 11))
	t0 := int64(1_700_000_000_000)
	ts := make([]int64, n)
	vs := make([]float64, n)
	for i := range ts {
		ts[i] = t0 + int64(i)*step*1000
		vs[i] = f(float64(i)*float64(step)) + noise*r.NormFloat64()
	}
	return ts, vs
}

const twoWeeksOfMinutes = 20160

func sine(period, amp float64) func(float64) float64 {
	return func(s float64) float64 { return 50 + amp*math.Sin(2*math.Pi*s/period) }
}

func TestAnalyzeDetectsSeasonality(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period float64
		want   seasonality
	}{
		{"fifteen minutes", 900, seasonFifteenMinutes},
		{"hourly", 3600, seasonOneHour},
		{"six hours", 21600, seasonSixHours},
		{"daily", 86400, seasonOneDay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := synth(twoWeeksOfMinutes, 60, 2, sine(tc.period, 10))
			a := analyzeSeries(ts, vs)
			if !a.Analyzed || a.Seasonality != tc.want || a.Trend != trendNone {
				t.Fatalf("got %s / %s (%s), want %s / none", a.Seasonality, a.Trend, a.Message, tc.want)
			}
			if *a.DataQuality.PublishingPeriodSeconds != 60 || *a.DataQuality.DensityRatio != 1 || a.DataQuality.TotalPoints != twoWeeksOfMinutes {
				t.Fatalf("data quality %+v", a.DataQuality)
			}
		})
	}
	// Weekday/weekend traffic with a daily cycle is weekly.
	ts, vs := synth(twoWeeksOfMinutes, 60, 2, func(s float64) float64 {
		v := sine(86400, 5)(s)
		if math.Mod(s, 604800) >= 5*86400 {
			v -= 30
		}
		return v
	})
	if a := analyzeSeries(ts, vs); a.Seasonality != seasonOneWeek {
		t.Fatalf("weekly pattern: got %s", a.Seasonality)
	}
}

// awslabs compares raw strengths, so on a noisy daily series the two-cycle
// weekly fit wins; the degrees-of-freedom adjustment restores ONE_DAY.
func TestAnalyzeSeasonStrengthBiasFixed(t *testing.T) {
	ts, vs := synth(twoWeeksOfMinutes, 60, 2, sine(86400, 10))
	x := winsorize(interpolateGrid(ts, vs, 60_000))
	rawDay, rawWeek := seasonStrength(x, 1440, false), seasonStrength(x, 10080, false)
	if rawWeek <= rawDay {
		t.Fatalf("expected the awslabs criterion to prefer the week (day %.4f, week %.4f)", rawDay, rawWeek)
	}
	adjDay, adjWeek := seasonStrength(x, 1440, true), seasonStrength(x, 10080, true)
	if adjDay < 0.6 || math.Abs(adjDay-adjWeek) > seasonTieTolerance {
		t.Fatalf("adjusted strengths day %.4f week %.4f", adjDay, adjWeek)
	}
}

func TestAnalyzeTrend(t *testing.T) {
	ts, vs := synth(twoWeeksOfMinutes, 60, 5, func(s float64) float64 { return 100 + s/3600 })
	a := analyzeSeries(ts, vs)
	if a.Trend != trendPositive || a.Seasonality != seasonNone {
		t.Fatalf("rising line: %s / %s", a.Trend, a.Seasonality)
	}
	if p, _ := trendPValue(vs); p > 1e-12 {
		t.Fatalf("p-value of a clear linear trend = %g", p)
	}
	ts, vs = synth(twoWeeksOfMinutes, 60, 5, func(s float64) float64 { return 100 - s/3600 })
	if a := analyzeSeries(ts, vs); a.Trend != trendNegative {
		t.Fatalf("falling line: %s", a.Trend)
	}
	// Flat noise: no trend, no seasonality.
	ts, vs = synth(twoWeeksOfMinutes, 60, 5, func(float64) float64 { return 100 })
	a = analyzeSeries(ts, vs)
	if a.Trend != trendNone || a.Seasonality != seasonNone {
		t.Fatalf("flat noise: %s / %s", a.Trend, a.Seasonality)
	}
	if p, _ := trendPValue(vs); p < 0.05 {
		t.Fatalf("flat noise p-value %g", p)
	}
	// Seasonal with a trend: the trend is tested on the deseasonalised data.
	ts, vs = synth(twoWeeksOfMinutes, 60, 2, func(s float64) float64 { return sine(86400, 10)(s) + s/86400 })
	if a := analyzeSeries(ts, vs); a.Seasonality != seasonOneDay || a.Trend != trendPositive {
		t.Fatalf("seasonal + trend: %s / %s", a.Seasonality, a.Trend)
	}
}

func TestAnalyzeTrendPValueKnownAnswer(t *testing.T) {
	// y = 1,2,3,5,4: slope 0.9 per step, t = 3.576 with 3 df, two-sided
	// p = 0.0373861 (closed form of Student's t with 3 df).
	p, slope := trendPValue([]float64{1, 2, 3, 5, 4})
	if math.Abs(p-0.03738607346849854) > 1e-9 || slope <= 0 {
		t.Fatalf("p = %.10f slope %v", p, slope)
	}
	if trendOf([]float64{1, 2, 3, 5, 4}) != trendPositive {
		t.Fatal("p < 0.05 must be a trend")
	}
	if trendOf([]float64{1, 2}) != trendNone || trendOf([]float64{3, 3, 3, 3}) != trendNone {
		t.Fatal("too short or constant must be none")
	}
	if trendOf([]float64{4, 3, math.NaN(), 2, 1, math.Inf(1)}) != trendNegative {
		t.Fatal("NaN/Inf are dropped before the fit")
	}
}

func TestAnalyzeEdgeCases(t *testing.T) {
	if a := analyzeSeries(nil, nil); a.Analyzed || a.Message != msgNoData {
		t.Fatalf("%+v", a)
	}
	if a := analyzeSeries([]int64{1, 2, 3}, []float64{1, math.NaN(), math.Inf(-1)}); a.Analyzed || a.Message != msgInsufficient {
		t.Fatalf("%+v", a)
	}
	// NaN values count as found but not as valid points.
	a := analyzeSeries([]int64{0, 60000, 120000, 180000}, []float64{2, math.NaN(), 4, 6})
	if !a.Analyzed || a.DataPointsFound != 4 || a.DataQuality.TotalPoints != 3 || a.Statistics.Median != 4 || a.Statistics.Min != 2 || a.Statistics.Max != 6 {
		t.Fatalf("%+v", a)
	}
	if math.Abs(a.Statistics.StdDeviation-math.Sqrt(8.0/3)) > 1e-12 || math.Abs(*a.Statistics.CoefficientOfVariation-math.Sqrt(8.0/3)/4) > 1e-12 {
		t.Fatalf("population std / cv: %+v", a.Statistics)
	}
	// Zero mean: no coefficient of variation; even count: median averages.
	a = analyzeSeries([]int64{0, 60000, 120000, 180000}, []float64{-1, 1, -3, 3})
	if a.Statistics.CoefficientOfVariation != nil || a.Statistics.Median != 0 {
		t.Fatalf("%+v", a.Statistics)
	}
}

func TestAnalyzePublishingPeriodAndDensity(t *testing.T) {
	for _, tc := range []struct {
		gaps []int64 // ms
		want float64
	}{
		{[]int64{300000, 300000, 600000}, 300},
		{[]int64{61000, 61000, 59000}, 60}, // snapped within 10%
		{[]int64{97000, 97000, 60000}, 97}, // 120 is 19% away: kept raw
		{[]int64{5000, 10000, 10000, 5000}, 10},
		{[]int64{60000, 120000}, 60}, // tie: the first gap seen wins
		{[]int64{1050}, 1},
		{[]int64{3_600_000 * 24}, 86400},
	} {
		ts := []int64{0}
		for _, g := range tc.gaps {
			ts = append(ts, ts[len(ts)-1]+g)
		}
		if got, ok := publishingPeriod(ts); !ok || got != tc.want {
			t.Errorf("gaps %v: %v, want %v", tc.gaps, got, tc.want)
		}
	}
	// Half the second week missing: density below 1; exactly 0.5 skips the
	// decomposition.
	ts, vs := synth(twoWeeksOfMinutes, 60, 2, sine(3600, 10))
	var kts []int64
	var kvs []float64
	for i := range ts {
		if i < twoWeeksOfMinutes/2 || i%2 == 0 {
			kts, kvs = append(kts, ts[i]), append(kvs, vs[i])
		}
	}
	a := analyzeSeries(kts, kvs)
	if d := *a.DataQuality.DensityRatio; d <= 0.5 || d >= 0.9 || a.Seasonality != seasonOneHour {
		t.Fatalf("density %v, seasonality %s", d, a.Seasonality)
	}
	if d, _ := densityRatio([]int64{0, 60000, 300000, 400000}, 60); d != 0.5 {
		t.Fatalf("density %v", d)
	}
	ts, vs = []int64{0, 60000, 300000, 400000}, []float64{1, 2, 3, 4}
	if a := analyzeSeries(ts, vs); a.Seasonality != seasonNone || a.Trend != trendNone {
		t.Fatalf("density 0.5 must not be decomposed: %+v", a)
	}
}

func TestAnalyzeInterpolationAndWinsorize(t *testing.T) {
	got := interpolateGrid([]int64{0, 120000, 150000}, []float64{0, 10, 40}, 60000)
	want := []float64{0, 5, 10, 40} // t=180000 is past the last point: held
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("%v, want %v", got, want)
		}
	}
	x := make([]float64, 2000)
	for i := range x {
		x[i] = float64(i % 10)
	}
	x[100] = 1e9
	w := winsorize(x)
	if w[100] >= 1e9 || w[100] < 9 {
		t.Fatalf("outlier clipped to %v", w[100])
	}
	if quantileLinear([]float64{1, 2, 3, 4}, 0.5) != 2.5 || quantileLinear([]float64{1, 2, 3, 4}, 0.001) != 1.003 {
		t.Fatal("numpy linear quantile")
	}
	rm := centeredRollingMean([]float64{1, 2, 3, 4, 5}, 4)
	// pandas rolling(4, center=True, min_periods=1): windows [0,1],[0,2],[0,3],[1,4],[2,4]
	for i, want := range []float64{1.5, 2, 2.5, 3.5, 4} {
		if rm[i] != want {
			t.Fatalf("rolling mean %v", rm)
		}
	}
}

func TestSeasonalityFromSeconds(t *testing.T) {
	for in, want := range map[float64]seasonality{
		0: seasonNone, 86400: seasonOneDay, 86400 * 1.09: seasonOneDay, 86400 * 1.11: seasonNone,
		3500: seasonOneHour, 900: seasonFifteenMinutes, 604800: seasonOneWeek, 45000: seasonNone, 50: seasonNone,
	} {
		if got := seasonalityFromSeconds(in); got != want {
			t.Errorf("%v -> %s, want %s", in, got, want)
		}
	}
	if seasonOneDay.String() != "ONE_DAY" || seasonNone.String() != "NONE" {
		t.Fatal("names")
	}
}

func TestPyISOTime(t *testing.T) {
	if got := pyISOTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)); got != "2025-01-02T03:04:05+00:00" {
		t.Fatal(got)
	}
	if got := pyISOTime(time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))); got != "2025-01-02T02:04:05.123456+00:00" {
		t.Fatal(got)
	}
}
