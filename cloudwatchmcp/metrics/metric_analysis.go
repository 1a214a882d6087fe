package metrics

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// The analysis behind analyze_metric (awslabs' MetricAnalyzer and
// MetricDataDecomposer): publishing period, density, seasonality, trend and
// summary statistics of one series.

// seasonality is awslabs' Seasonality enum, in seconds.
type seasonality int

const (
	seasonNone           seasonality = 0
	seasonFifteenMinutes seasonality = 900
	seasonOneHour        seasonality = 3600
	seasonSixHours       seasonality = 21600
	seasonOneDay         seasonality = 86400
	seasonOneWeek        seasonality = 604800
)

var seasonalities = []seasonality{seasonNone, seasonFifteenMinutes, seasonOneHour, seasonSixHours, seasonOneDay, seasonOneWeek}

func (s seasonality) String() string {
	switch s {
	case seasonFifteenMinutes:
		return "FIFTEEN_MINUTES"
	case seasonOneHour:
		return "ONE_HOUR"
	case seasonSixHours:
		return "SIX_HOURS"
	case seasonOneDay:
		return "ONE_DAY"
	case seasonOneWeek:
		return "ONE_WEEK"
	}
	return "NONE"
}

// seasonalityFromSeconds picks the nearest enum value and accepts it only
// within 10% of that value.
func seasonalityFromSeconds(sec float64) seasonality {
	best := seasonNone
	bestDiff := math.Inf(1)
	for _, s := range seasonalities {
		if d := math.Abs(sec - float64(s)); d < bestDiff {
			best, bestDiff = s, d
		}
	}
	if bestDiff < 0.1*float64(best) {
		return best
	}
	return seasonNone
}

const (
	trendPositive = "positive"
	trendNegative = "negative"
	trendNone     = "none"
)

type metricStatisticsSummary struct {
	Min                    float64  `json:"min"`
	Max                    float64  `json:"max"`
	StdDeviation           float64  `json:"std_deviation"`
	CoefficientOfVariation *float64 `json:"coefficient_of_variation"`
	Median                 float64  `json:"median"`
}

type metricDataQuality struct {
	TotalPoints             int      `json:"total_points"`
	DensityRatio            *float64 `json:"density_ratio"`
	PublishingPeriodSeconds *float64 `json:"publishing_period_seconds"`
}

// metricAnalysis is the analyzer's outcome; Message alone is set when the
// data could not be analyzed.
type metricAnalysis struct {
	DataPointsFound int
	Seasonality     seasonality
	Trend           string
	Statistics      metricStatisticsSummary
	DataQuality     metricDataQuality
	Message         string
	Analyzed        bool
}

const (
	msgNoData       = "No metric data available for analysis"
	msgInsufficient = "Insufficient valid data points for analysis"
	msgAnalyzed     = "Metric analysis completed successfully"
)

// analyzeSeries analyzes timestamps (epoch ms) and values of equal length.
func analyzeSeries(ts []int64, vals []float64) metricAnalysis {
	if len(ts) == 0 || len(vals) == 0 {
		return metricAnalysis{Message: msgNoData}
	}
	n := min(len(ts), len(vals))
	type pt struct {
		t int64
		v float64
	}
	valid := make([]pt, 0, n)
	for i := 0; i < n; i++ {
		if v := vals[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			valid = append(valid, pt{ts[i], v})
		}
	}
	if len(valid) < 2 {
		return metricAnalysis{Message: msgInsufficient}
	}
	sort.SliceStable(valid, func(i, j int) bool { return valid[i].t < valid[j].t })
	vts := make([]int64, len(valid))
	vv := make([]float64, len(valid))
	for i, p := range valid {
		vts[i], vv[i] = p.t, p.v
	}

	res := metricAnalysis{DataPointsFound: n, Trend: trendNone, Message: msgAnalyzed, Analyzed: true}
	res.DataQuality.TotalPoints = len(vv)
	pub, ok := publishingPeriod(vts)
	if ok {
		res.DataQuality.PublishingPeriodSeconds = &pub
		if d, ok := densityRatio(vts, pub); ok {
			res.DataQuality.DensityRatio = &d
			if d > 0.5 {
				res.Seasonality, res.Trend = decompose(vts, vv, pub)
			}
		}
	}
	res.Statistics = summarize(vv)
	return res
}

// publishingPeriod is the most common gap between consecutive timestamps
// (ties: the first gap seen), in seconds, snapped to the nearest valid
// CloudWatch period when within 10%.
func publishingPeriod(ts []int64) (float64, bool) {
	if len(ts) < 2 {
		return 0, false
	}
	counts := map[int64]int{}
	var mode int64
	best := 0
	for i := 1; i < len(ts); i++ {
		g := ts[i] - ts[i-1]
		counts[g]++
		if c := counts[g]; c > best {
			best, mode = c, g
		}
	}
	return snapPeriod(float64(mode) / 1000), true
}

func snapPeriod(sec float64) float64 {
	cands := []float64{1, 5, 10, 30}
	k := math.Round(sec / 60)
	k = math.Max(1, math.Min(3600, k))
	cands = append(cands, 60*k)
	best := cands[0]
	for _, c := range cands {
		if math.Abs(sec-c) < math.Abs(sec-best) {
			best = c
		}
	}
	if math.Abs(sec-best) <= 0.1*best {
		return best
	}
	return sec
}

// densityRatio is the share of points that fall within the span a gap-free
// series of the same length would cover.
func densityRatio(ts []int64, periodSec float64) (float64, bool) {
	if periodSec <= 0 || len(ts) == 0 {
		return 0, false
	}
	perfectEnd := float64(ts[0]) + periodSec*1000*float64(len(ts)-1)
	c := 0
	for _, t := range ts {
		if float64(t) <= perfectEnd {
			c++
		}
	}
	return float64(c) / float64(len(ts)), true
}

func summarize(v []float64) metricStatisticsSummary {
	mean, std := stat.PopMeanStdDev(v, nil)
	s := metricStatisticsSummary{Min: floats.Min(v), Max: floats.Max(v), StdDeviation: std}
	if math.Abs(mean) > 1e-10 {
		cv := std / math.Abs(mean)
		s.CoefficientOfVariation = &cv
	}
	sorted := append([]float64(nil), v...)
	sort.Float64s(sorted)
	s.Median = quantileLinear(sorted, 0.5)
	return s
}

// quantileLinear is numpy's default ("linear", Hyndman-Fan type 7)
// quantile of sorted data. gonum's stat.Quantile offers Empirical and
// LinInterp (type 4), which give different winsorisation bounds and medians
// than the numpy-based original.
func quantileLinear(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// seasonCandidates are the periods tried, shortest first.
var seasonCandidates = []seasonality{seasonFifteenMinutes, seasonOneHour, seasonSixHours, seasonOneDay, seasonOneWeek}

const (
	seasonStrengthThreshold = 0.6
	// seasonTieTolerance: a longer candidate must beat the shortest good
	// one by more than this to be chosen (see seasonStrength).
	seasonTieTolerance = 0.05
	// maxDecomposePoints bounds the interpolated grid (a 1 s period over
	// two weeks is 1.2M points).
	maxDecomposePoints = 1 << 21
)

// decompose finds the seasonality and trend of a series already known to be
// dense enough.
func decompose(ts []int64, vals []float64, periodSec float64) (seasonality, string) {
	periodMs := int64(math.Round(periodSec * 1000))
	if periodMs <= 0 || (ts[len(ts)-1]-ts[0])/periodMs+1 > maxDecomposePoints {
		return seasonNone, trendNone
	}
	x := winsorize(interpolateGrid(ts, vals, periodMs))

	best := seasonNone
	bestStrength := 0.0
	strengths := map[seasonality]float64{}
	for _, c := range seasonCandidates {
		dpp := float64(c) / periodSec
		if float64(len(x)) < 2*dpp {
			continue
		}
		w := int(dpp)
		if w < 2 {
			continue // a season of fewer than two points carries no shape
		}
		s := seasonStrength(x, w, true)
		strengths[c] = s
		if s > bestStrength {
			best, bestStrength = c, s
		}
	}
	if bestStrength <= seasonStrengthThreshold {
		return seasonNone, trendOf(x)
	}
	// Any multiple of the true season fits at least as well; prefer the
	// shortest candidate that is as good as the best.
	for _, c := range seasonCandidates {
		if s, ok := strengths[c]; ok && s > seasonStrengthThreshold && s >= bestStrength-seasonTieTolerance {
			best = c
			break
		}
	}
	w := int(float64(best) / periodSec)
	truncated, pattern := seasonalPattern(x, w)
	deseason := make([]float64, len(truncated))
	for i := range truncated {
		deseason[i] = truncated[i] - pattern[i]
	}
	return best, trendOf(deseason)
}

// interpolateGrid resamples onto t0, t0+p, ... < t_last+p, linearly, with
// the end values held beyond the data (np.interp semantics).
func interpolateGrid(ts []int64, vals []float64, periodMs int64) []float64 {
	var out []float64
	j := 0
	last := ts[len(ts)-1]
	for t := ts[0]; t < last+periodMs; t += periodMs {
		for j+1 < len(ts) && ts[j+1] <= t {
			j++
		}
		switch {
		case t >= last:
			out = append(out, vals[len(vals)-1])
		case ts[j] == t:
			out = append(out, vals[j])
		default:
			t0, t1 := float64(ts[j]), float64(ts[j+1])
			f := (float64(t) - t0) / (t1 - t0)
			out = append(out, vals[j]+f*(vals[j+1]-vals[j]))
		}
	}
	return out
}

// winsorize clips to the 0.1% and 99.9% quantiles.
func winsorize(x []float64) []float64 {
	sorted := append([]float64(nil), x...)
	sort.Float64s(sorted)
	lo, hi := quantileLinear(sorted, 0.001), quantileLinear(sorted, 0.999)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Min(math.Max(v, lo), hi)
	}
	return out
}

// seasonalPattern truncates x to whole cycles of w points and returns it
// with the per-phase means tiled over it.
func seasonalPattern(x []float64, w int) (truncated, pattern []float64) {
	cycles := len(x) / w
	truncated = x[:cycles*w]
	means := make([]float64, w)
	for i, v := range truncated {
		means[i%w] += v
	}
	for j := range means {
		means[j] /= float64(cycles)
	}
	pattern = make([]float64, len(truncated))
	for i := range pattern {
		pattern[i] = means[i%w]
	}
	return truncated, pattern
}

// centeredRollingMean is pandas' rolling(w, center=True, min_periods=1)
// mean: index i averages [i-w/2, i-w/2+w-1] clipped to the data.
func centeredRollingMean(x []float64, w int) []float64 {
	prefix := make([]float64, len(x)+1)
	for i, v := range x {
		prefix[i+1] = prefix[i] + v
	}
	out := make([]float64, len(x))
	for i := range x {
		lo := max(i-w/2, 0)
		hi := min(i-w/2+w-1, len(x)-1)
		out[i] = (prefix[hi+1] - prefix[lo]) / float64(hi-lo+1)
	}
	return out
}

// seasonStrength is 1 - var(remainder)/var(detrended), floored at 0, for a
// season of w points. awslabs compares this raw ratio across candidates,
// but a season of w points fitted on m points spends w degrees of freedom:
// with only two cycles (one week in a two-week window) the fitted pattern
// absorbs half the noise, so the longest candidate wins on any noisy
// series. adjusted=true scales the remainder variance by m/(m-w), the
// unbiased estimate, which removes that bias.
func seasonStrength(x []float64, w int, adjusted bool) float64 {
	truncated, pattern := seasonalPattern(x, w)
	trend := centeredRollingMean(truncated, w)
	detrended := make([]float64, len(truncated))
	remainder := make([]float64, len(truncated))
	for i := range truncated {
		detrended[i] = truncated[i] - trend[i]
		remainder[i] = detrended[i] - pattern[i]
	}
	vd := stat.PopVariance(detrended, nil)
	if vd <= 1e-10 {
		return 0
	}
	vr := stat.PopVariance(remainder, nil)
	if m := len(truncated); adjusted && m > w {
		vr *= float64(m) / float64(m-w)
	}
	return math.Max(0, 1-vr/vd)
}

// trendOf fits y = a + b·x by OLS on x = i/(n-1) and calls the trend
// positive or negative when the slope's two-sided t-test gives p < 0.05.
func trendOf(y []float64) string {
	p, slope := trendPValue(y)
	if math.IsNaN(p) || p >= 0.05 {
		return trendNone
	}
	if slope > 0 {
		return trendPositive
	}
	return trendNegative
}

// trendPValue returns the two-sided p-value of the OLS slope and the slope
// itself; NaN when there is nothing to fit.
func trendPValue(y []float64) (p, slope float64) {
	clean := make([]float64, 0, len(y))
	for _, v := range y {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			clean = append(clean, v)
		}
	}
	n := len(clean)
	if n <= 2 || stat.PopStdDev(clean, nil) < 1e-10 {
		return math.NaN(), 0
	}
	x := make([]float64, n)
	maxIdx := float64(n - 1)
	for i := range x {
		x[i] = float64(i) / (maxIdx + 1e-10)
	}
	alpha, beta := stat.LinearRegression(x, clean, nil, false)
	xMean := stat.Mean(x, nil)
	var ssr, sxx float64
	for i := range x {
		r := clean[i] - (alpha + beta*x[i])
		ssr += r * r
		sxx += (x[i] - xMean) * (x[i] - xMean)
	}
	df := float64(n - 2)
	se := math.Sqrt(ssr / df / sxx)
	if se == 0 {
		if beta == 0 {
			return math.NaN(), 0
		}
		return 0, beta
	}
	t := math.Abs(beta / se)
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(t), beta
}
