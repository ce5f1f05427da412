package judge

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/analysis/stats"
	"github.com/gitops-pipe/pipe/internal/config"
)

const (
	either = config.AnalysisDeviationEither
	high   = config.AnalysisDeviationHigh
	low    = config.AnalysisDeviationLow
)

func TestCompare(t *testing.T) {
	zeros := make([]float64, 10)
	twoErrors := []float64{0, 0, 0, 0.1, 0, 0, 0.3, 0, 0, 0}
	base := []float64{0.10, 0.12, 0.11, 0.09, 0.13, 0.10, 0.12, 0.11, 0.10, 0.12}
	higher := []float64{0.20, 0.22, 0.19, 0.25, 0.21, 0.23, 0.20, 0.24, 0.22, 0.21}
	lower := []float64{0.02, 0.03, 0.01, 0.02, 0.04, 0.03, 0.02, 0.01, 0.03, 0.02}
	similar := []float64{0.11, 0.10, 0.12, 0.10, 0.11, 0.09, 0.13, 0.12, 0.10, 0.11}
	cases := []struct {
		name       string
		exp, ctl   []float64
		dev, ctlNm string
		pass       bool
		noData     bool
		rule       string
		reason     string   // exact, when set
		contains   []string // substrings, when reason is not set
		wantPValue bool
	}{
		// The zero-baseline guard.
		{name: "zero baseline HIGH", exp: twoErrors, ctl: zeros, dev: high, ctlNm: "baseline", rule: RuleZeroBaseline,
			reason: "baseline is 0 at every point but canary is above 0 at 2 of 10 points (max 0.3): a baseline that is 0 throughout (e.g. error-free) makes any canary value above 0 a regression (the rank test alone gives p=0.08404, too few points to show it)"},
		{name: "zero baseline EITHER", exp: twoErrors, ctl: zeros, dev: either, ctlNm: "baseline", rule: RuleZeroBaseline,
			reason: "baseline is 0 at every point but canary is non-zero at 2 of 10 points (max 0.3): a baseline that is 0 throughout (e.g. error-free) makes any non-zero canary value a regression (the rank test alone gives p=0.1681, too few points to show it)"},
		{name: "zero baseline default deviation", exp: twoErrors, ctl: zeros, dev: "", ctlNm: "primary", rule: RuleZeroBaseline,
			contains: []string{"primary is 0 at every point but canary is non-zero at 2 of 10 points (max 0.3)"}},
		{name: "zero baseline all errors, the test agrees", exp: higher, ctl: zeros, dev: high, ctlNm: "baseline", rule: RuleZeroBaseline,
			contains: []string{"canary is above 0 at 10 of 10 points (max 0.25)", "the rank test agrees: p="}},
		{name: "zero previous deployment", exp: twoErrors, ctl: zeros, dev: high, ctlNm: "previous deployment", rule: RuleZeroBaseline,
			contains: []string{"previous deployment is 0 at every point but current deployment is above 0 at 2 of 10 points"}},
		{name: "zero baseline LOW ignores positive values", exp: twoErrors, ctl: zeros, dev: low, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is not significantly lower than baseline: Mann-Whitney U p=0.9"}},
		{name: "zero baseline LOW with negative values", exp: []float64{0, -0.2, 0, 0, -0.05, 0}, ctl: zeros, dev: low, ctlNm: "baseline", rule: RuleZeroBaseline,
			contains: []string{"baseline is 0 at every point but canary is below 0 at 2 of 6 points (min -0.2)", "any canary value below 0 a regression"}},
		{name: "zero baseline EITHER both signs", exp: []float64{0, -0.1, 0.3, 0}, ctl: zeros, dev: either, ctlNm: "baseline", rule: RuleZeroBaseline,
			contains: []string{"non-zero at 2 of 4 points (min -0.1, max 0.3)"}},
		{name: "zero baseline EITHER negative only", exp: []float64{0, -0.1, 0}, ctl: zeros, dev: either, ctlNm: "baseline", rule: RuleZeroBaseline,
			contains: []string{"non-zero at 1 of 3 points (min -0.1)"}},
		{name: "zero baseline HIGH ignores negative values", exp: []float64{0, -0.1, 0, -0.3, 0}, ctl: zeros, dev: high, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is not significantly higher than baseline"}},
		{name: "negative zero baseline", exp: twoErrors, ctl: []float64{0, math.Copysign(0, -1), 0}, dev: high, ctlNm: "baseline", rule: RuleZeroBaseline,
			contains: []string{"baseline is 0 at every point"}},
		{name: "zero canary against errors is not guarded", exp: zeros, ctl: twoErrors, dev: high, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is not significantly higher than baseline"}},

		// Identical samples.
		{name: "both zero", exp: zeros, ctl: make([]float64, 8), dev: high, ctlNm: "baseline", pass: true, rule: RuleIdentical,
			reason: "canary and baseline are both 0 at every point (10 and 8 points)"},
		{name: "both negative zero", exp: []float64{math.Copysign(0, -1)}, ctl: []float64{0}, dev: either, ctlNm: "baseline", pass: true, rule: RuleIdentical,
			reason: "canary and baseline are both 0 at every point (1 and 1 points)"},
		{name: "same constant", exp: []float64{3, 3, 3}, ctl: []float64{3, 3}, dev: low, ctlNm: "primary", pass: true, rule: RuleIdentical,
			reason: "canary and primary are both 3 at every point (3 and 2 points)"},
		{name: "same values reordered", exp: base, ctl: []float64{0.12, 0.10, 0.11, 0.12, 0.09, 0.13, 0.10, 0.11, 0.10, 0.12}, dev: either, ctlNm: "baseline", pass: true, rule: RuleIdentical,
			reason: "canary and baseline hold the same 10 values (median 0.11)"},
		{name: "different constants", exp: []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, ctl: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, dev: high, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly higher than baseline: Mann-Whitney U p=", "(one-sided, normal approximation, deviation HIGH); canary median 2 (n=10) vs baseline median 1 (n=10)"}},

		// The rank test, each deviation in both directions.
		{name: "HIGH fails on higher", exp: higher, ctl: base, dev: high, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			reason: "canary is significantly higher than baseline: Mann-Whitney U p=8.535e-05 < 0.05 (one-sided, normal approximation, deviation HIGH); canary median 0.215 (n=10) vs baseline median 0.11 (n=10)"},
		{name: "HIGH passes on lower", exp: lower, ctl: base, dev: high, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is not significantly higher than baseline: Mann-Whitney U p=0.9999 >= 0.05 (one-sided"}},
		{name: "LOW fails on lower", exp: lower, ctl: base, dev: low, ctlNm: "primary", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly lower than primary: Mann-Whitney U p=", "< 0.05 (one-sided, normal approximation, deviation LOW); canary median 0.02 (n=10) vs primary median 0.11 (n=10)"}},
		{name: "LOW passes on higher", exp: higher, ctl: base, dev: low, ctlNm: "primary", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is not significantly lower than primary: Mann-Whitney U p=0.9999 >= 0.05"}},
		{name: "EITHER fails on higher", exp: higher, ctl: base, dev: either, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly higher than baseline", "(two-sided, normal approximation, deviation EITHER)"}},
		{name: "EITHER fails on lower", exp: lower, ctl: base, dev: either, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly lower than baseline"}},
		{name: "EITHER passes on similar", exp: similar, ctl: base, dev: either, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary does not differ significantly from baseline: Mann-Whitney U p=", ">= 0.05 (two-sided, normal approximation, deviation EITHER); canary median 0.11 (n=10) vs baseline median 0.11 (n=10)"}},
		{name: "exact small samples", exp: []float64{5.1, 6.3, 7.2, 8.4, 9.9}, ctl: []float64{1.2, 2.5, 3.1, 4.7}, dev: high, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			reason: "canary is significantly higher than baseline: Mann-Whitney U p=0.007937 < 0.05 (one-sided, exact, deviation HIGH); canary median 7.2 (n=5) vs baseline median 2.8 (n=4)"},
		{name: "too few points", exp: []float64{5, 6, 7}, ctl: []float64{1, 2, 3}, dev: either, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			reason: "canary does not differ significantly from baseline: Mann-Whitney U p=0.1 >= 0.05 (two-sided, exact, deviation EITHER); canary median 6 (n=3) vs baseline median 2 (n=3); note: with 3 and 3 points no result can reach p < 0.05, use a longer window or a finer step"},
		{name: "p equal to alpha passes", exp: []float64{5, 6, 7}, ctl: []float64{1, 2, 3}, dev: high, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			reason: "canary is not significantly higher than baseline: Mann-Whitney U p=0.05 >= 0.05 (one-sided, exact, deviation HIGH); canary median 6 (n=3) vs baseline median 2 (n=3); note: with 3 and 3 points no result can reach p < 0.05, use a longer window or a finer step"},
		{name: "ties", exp: []float64{1, 1, 2, 2, 3, 3, 2, 1}, ctl: []float64{1, 2, 2, 3, 1, 2, 3, 3}, dev: either, ctlNm: "baseline", pass: true, rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"(two-sided, normal approximation, deviation EITHER)"}},
		{name: "ties HIGH fails", exp: []float64{3, 3, 4, 4, 4, 3, 4, 4, 3, 4}, ctl: []float64{1, 1, 2, 2, 1, 2, 1, 1, 2, 2}, dev: high, ctlNm: "baseline", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly higher than baseline"}},

		// No data, invalid values, invalid configuration.
		{name: "empty canary", exp: nil, ctl: base, dev: high, ctlNm: "baseline", noData: true, rule: RuleNoData,
			reason: "the canary query returned no data points (the baseline query returned 10 points)"},
		{name: "empty baseline", exp: []float64{1}, ctl: []float64{}, dev: high, ctlNm: "baseline", noData: true, rule: RuleNoData,
			reason: "the baseline query returned no data points (the canary query returned 1 point)"},
		{name: "both empty", exp: nil, ctl: nil, dev: high, ctlNm: "previous deployment", noData: true, rule: RuleNoData,
			reason: "neither the current deployment nor the previous deployment query returned data points"},
		{name: "NaN in baseline", exp: base, ctl: []float64{0.1, math.NaN(), 0.2}, dev: high, ctlNm: "baseline", rule: RuleInvalidValue,
			reason: "1 of 3 baseline points are not finite numbers (first NaN at point 2): the query produced no usable measurement (often a division by zero); fix the query, the check fails rather than guess"},
		{name: "Inf in both", exp: []float64{math.Inf(1), 1}, ctl: []float64{1, math.Inf(-1), math.NaN()}, dev: either, ctlNm: "primary", rule: RuleInvalidValue,
			contains: []string{"1 of 2 canary points are not finite numbers (first +Inf at point 1) and 2 of 3 primary points are not finite numbers (first -Inf at point 2)"}},
		{name: "unknown deviation", exp: base, ctl: base, dev: "high", ctlNm: "baseline", rule: RuleInvalidConfig,
			reason: `unknown deviation "high": set ` + "`deviation`" + ` to EITHER, HIGH or LOW`},
		{name: "no names", exp: higher, ctl: base, dev: high, ctlNm: "", rule: RuleMannWhitney, wantPValue: true,
			contains: []string{"canary is significantly higher than control"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Compare(c.exp, c.ctl, c.dev, c.ctlNm)
			if v.Pass != c.pass || v.NoData != c.noData || v.Rule != c.rule {
				t.Errorf("got pass=%v noData=%v rule=%q, want pass=%v noData=%v rule=%q\nreason: %s",
					v.Pass, v.NoData, v.Rule, c.pass, c.noData, c.rule, v.Reason)
			}
			if c.reason != "" && v.Reason != c.reason {
				t.Errorf("reason\n got %q\nwant %q", v.Reason, c.reason)
			}
			for _, s := range c.contains {
				if !strings.Contains(v.Reason, s) {
					t.Errorf("reason %q\nlacks %q", v.Reason, s)
				}
			}
			if c.wantPValue == math.IsNaN(v.PValue) {
				t.Errorf("PValue = %v, want a p-value: %v", v.PValue, c.wantPValue)
			}
			if v.Control == nil || v.Control.N != len(c.ctl) || v.Values.N != len(c.exp) {
				t.Errorf("summaries %+v / %+v do not match the samples", v.Values, v.Control)
			}
			if again := Compare(c.exp, c.ctl, c.dev, c.ctlNm); again.Reason != v.Reason {
				t.Errorf("reason not deterministic: %q then %q", v.Reason, again.Reason)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Errorf("verdict does not encode: %v", err)
			}
		})
	}
}

// The p-value of a mann-whitney verdict is the one of the stats package for
// the alternative the deviation selects, and the verdict fails exactly when it
// is below Alpha.
func TestCompareMatchesTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alts := map[string]stats.Alternative{either: stats.TwoSided, high: stats.Greater, low: stats.Less}
	for i := 0; i < 300; i++ {
		nx, ny := 2+rng.IntN(20), 2+rng.IntN(20)
		shift := rng.Float64()*2 - 1
		x, y := make([]float64, nx), make([]float64, ny)
		for j := range x {
			x[j] = math.Round((rng.NormFloat64()+shift+5)*10) / 10
		}
		for j := range y {
			y[j] = math.Round((rng.NormFloat64()+5)*10) / 10
		}
		for dev, alt := range alts {
			v := Compare(x, y, dev, "baseline")
			if v.Rule != RuleMannWhitney {
				if v.Rule == RuleIdentical {
					continue
				}
				t.Fatalf("rule %q for %v vs %v: %s", v.Rule, x, y, v.Reason)
			}
			r, err := stats.MannWhitneyU(x, y, alt)
			if err != nil {
				t.Fatal(err)
			}
			if v.PValue != r.P || v.Pass != (r.P >= Alpha) {
				t.Fatalf("%s: verdict pass=%v p=%v, test p=%v", dev, v.Pass, v.PValue, r.P)
			}
		}
	}
}

func TestCompareExperimentNames(t *testing.T) {
	for ctl, want := range map[string]string{
		"baseline": "canary", "primary": "canary", "previous deployment": "current deployment", "Previous": "current deployment",
	} {
		v := Compare(nil, []float64{1}, high, ctl)
		if !strings.HasPrefix(v.Reason, "the "+want+" query") {
			t.Errorf("control %q: reason %q, want the experiment called %q", ctl, v.Reason, want)
		}
	}
	v := CompareNamed([]float64{1}, nil, high, "green", "blue")
	if v.Reason != "the blue query returned no data points (the green query returned 1 point)" {
		t.Errorf("named reason %q", v.Reason)
	}
}

// Bad input never panics and every verdict encodes as JSON.
func TestJudgesNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1}
	gen := func() []float64 {
		n := rng.IntN(12)
		v := make([]float64, n)
		for i := range v {
			if rng.IntN(3) == 0 {
				v[i] = special[rng.IntN(len(special))]
			} else {
				v[i] = rng.NormFloat64()
			}
		}
		return v
	}
	devs := []string{either, high, low, "", "SIDEWAYS"}
	for i := 0; i < 2000; i++ {
		x, y := gen(), gen()
		exp := config.AnalysisExpected{}
		if rng.IntN(2) == 0 {
			exp.Min = f64(special[rng.IntN(len(special))])
		}
		if rng.IntN(2) == 0 {
			exp.Max = f64(rng.NormFloat64())
		}
		for _, v := range []Verdict{Compare(x, y, devs[rng.IntN(len(devs))], "baseline"), Threshold(x, exp)} {
			if v.Reason == "" || v.Rule == "" {
				t.Fatalf("empty reason or rule: %+v", v)
			}
			if v.Pass && v.NoData {
				t.Fatalf("a no-data verdict passes: %+v", v)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("verdict %+v does not encode: %v", v, err)
			}
		}
	}
}
