package judge

import (
	"math"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func f64(v float64) *float64 { return &v }

func TestThreshold(t *testing.T) {
	max005 := config.AnalysisExpected{Max: f64(0.05)}
	min099 := config.AnalysisExpected{Min: f64(0.99)}
	band := config.AnalysisExpected{Min: f64(0), Max: f64(0.05)}
	twelve := []float64{0.01, 0.02, 0.12, 0.03, 0.04, 0.01, 0.31, 0.02, 0.01, 0.03, 0.02, 0.01}
	cases := []struct {
		name   string
		values []float64
		exp    config.AnalysisExpected
		pass   bool
		noData bool
		rule   string
		reason string
	}{
		{"within", []float64{0.01, 0.02, 0.031}, max005, true, false, RuleThreshold,
			"all 3 points within x <= 0.05 (min 0.01, max 0.031, last 0.031)"},
		{"bounds included", []float64{0, 0.05, 0.05}, band, true, false, RuleThreshold,
			"all 3 points within 0 <= x <= 0.05 (min 0, max 0.05, last 0.05)"},
		{"one point", []float64{0.01}, max005, true, false, RuleThreshold,
			"all 1 point within x <= 0.05 (min 0.01, max 0.01, last 0.01)"},
		{"two above", twelve, max005, false, false, RuleThreshold,
			"2 of 12 points above max 0.05 (first 0.12 at point 3, worst 0.31 at point 7)"},
		{"one above", []float64{0.01, 0.02, 0.03, 0.04, 0.01, 0.02, 0.31, 0.02, 0.01, 0.03, 0.02, 0.01}, max005, false, false, RuleThreshold,
			"1 of 12 points above max 0.05 (0.31 at point 7)"},
		{"first is worst", []float64{0.5, 0.02, 0.07}, max005, false, false, RuleThreshold,
			"2 of 3 points above max 0.05 (first and worst 0.5 at point 1)"},
		{"below min", []float64{0.999, 0.95, 1}, min099, false, false, RuleThreshold,
			"1 of 3 points below min 0.99 (0.95 at point 2)"},
		{"both bounds", []float64{0.02, -0.5, 0.09, -0.1, 0.2}, band, false, false, RuleThreshold,
			"2 of 5 points above max 0.05 (first 0.09 at point 3, worst 0.2 at point 5) and 2 of 5 points below min 0 (first and worst -0.5 at point 2)"},
		{"just above bound keeps digits", []float64{0.0500001}, max005, false, false, RuleThreshold,
			"1 of 1 points above max 0.05 (0.0500001 at point 1)"},
		{"no data", nil, max005, false, true, RuleNoData,
			"the query returned no data points to judge against x <= 0.05"},
		{"NaN", []float64{0.01, math.NaN(), 0.02}, max005, false, false, RuleInvalidValue,
			"1 of 3 points are not finite numbers (first NaN at point 2): the query produced no usable measurement (often a division by zero); fix the query, the check fails rather than guess"},
		{"Inf", []float64{math.Inf(1), 0.01, math.Inf(-1)}, max005, false, false, RuleInvalidValue,
			"2 of 3 points are not finite numbers (first +Inf at point 1): the query produced no usable measurement (often a division by zero); fix the query, the check fails rather than guess"},
		{"no bound", []float64{1}, config.AnalysisExpected{}, false, false, RuleInvalidConfig,
			"the expected range has no bound: set `expected.min`, `expected.max` or both"},
		{"empty range", []float64{1}, config.AnalysisExpected{Min: f64(2), Max: f64(1)}, false, false, RuleInvalidConfig,
			"the expected range is empty (min 2 > max 1): fix `expected` so that min <= max"},
		{"NaN bound", []float64{1}, config.AnalysisExpected{Max: f64(math.NaN())}, false, false, RuleInvalidConfig,
			"the expected range x <= NaN has a bound that is not a finite number: use finite numbers for `expected.min` and `expected.max`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Threshold(c.values, c.exp)
			if v.Pass != c.pass || v.NoData != c.noData || v.Rule != c.rule || v.Reason != c.reason {
				t.Errorf("got pass=%v noData=%v rule=%q\n reason %q\nwant pass=%v noData=%v rule=%q\n reason %q",
					v.Pass, v.NoData, v.Rule, v.Reason, c.pass, c.noData, c.rule, c.reason)
			}
			if !math.IsNaN(v.PValue) {
				t.Errorf("PValue = %v, want NaN for a threshold", v.PValue)
			}
			if v.Control != nil {
				t.Errorf("Control = %+v, want nil for a threshold", v.Control)
			}
			if v.Values.N != len(c.values) {
				t.Errorf("Values.N = %d, want %d", v.Values.N, len(c.values))
			}
		})
	}
}

func TestThresholdSummary(t *testing.T) {
	v := Threshold([]float64{0.01, 0.02, 0.12, 0.03}, config.AnalysisExpected{Max: f64(0.05)})
	want := Summary{N: 4, Min: 0.01, Max: 0.12, Mean: 0.045, Median: 0.025, Last: 0.03}
	if !near(v.Values, want) {
		t.Errorf("Values = %+v, want %+v", v.Values, want)
	}
}

func near(a, b Summary) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) <= 1e-12*math.Max(1, math.Abs(y)) }
	return a.N == b.N && a.NonFinite == b.NonFinite && eq(a.Min, b.Min) && eq(a.Max, b.Max) &&
		eq(a.Mean, b.Mean) && eq(a.Median, b.Median) && eq(a.Last, b.Last)
}
