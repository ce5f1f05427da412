package judge

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/analysis/stats"
	"github.com/gitops-pipe/pipe/internal/config"
)

// Compare judges experiment (the canary, or the current deployment for
// PREVIOUS) against control (baseline, primary, or the previous deployment)
// with a Mann-Whitney U test at level Alpha. deviation is
// config.AnalysisDeviationEither, High or Low ("" means EITHER): HIGH fails
// only when the experiment is significantly higher, LOW only when it is
// significantly lower, EITHER on both (two-sided). controlName names the
// control in reasons ("baseline", "primary", "previous deployment"); the
// experiment is called "current deployment" when controlName mentions
// "previous", "canary" otherwise (CompareNamed chooses both names).
//
// The rules, in order:
//   - an unknown deviation fails (invalid-config);
//   - an empty sample gives a NoData verdict (no-data) naming the sample;
//   - a NaN or infinite value fails (invalid-value);
//   - both samples holding the same values passes (identical);
//   - a control that is exactly 0 at every point fails when the experiment
//     leaves 0 in the failing direction: above 0 for HIGH, below 0 for LOW,
//     either for EITHER (zero-baseline);
//   - otherwise the Mann-Whitney U test decides (mann-whitney).
func Compare(experiment, control []float64, deviation, controlName string) Verdict {
	return CompareNamed(experiment, control, deviation, experimentNameFor(controlName), controlName)
}

func experimentNameFor(controlName string) string {
	if strings.Contains(strings.ToLower(controlName), "previous") {
		return "current deployment"
	}
	return "canary"
}

// CompareNamed is Compare with the name of the experiment chosen by the
// caller. Empty names become "experiment" and "control".
func CompareNamed(experiment, control []float64, deviation, experimentName, controlName string) Verdict {
	if experimentName == "" {
		experimentName = "experiment"
	}
	if controlName == "" {
		controlName = "control"
	}
	cs := Summarize(control)
	v := Verdict{Rule: RuleMannWhitney, PValue: math.NaN(), Values: Summarize(experiment), Control: &cs}
	exp, ctl := experimentName, controlName

	if deviation == "" {
		deviation = config.AnalysisDeviationEither
	}
	var alt stats.Alternative
	switch deviation {
	case config.AnalysisDeviationEither:
		alt = stats.TwoSided
	case config.AnalysisDeviationHigh:
		alt = stats.Greater
	case config.AnalysisDeviationLow:
		alt = stats.Less
	default:
		v.Rule = RuleInvalidConfig
		v.Reason = fmt.Sprintf("unknown deviation %q: set `deviation` to %s, %s or %s", deviation,
			config.AnalysisDeviationEither, config.AnalysisDeviationHigh, config.AnalysisDeviationLow)
		return v
	}

	switch {
	case len(experiment) == 0 && len(control) == 0:
		v.Rule, v.NoData = RuleNoData, true
		v.Reason = fmt.Sprintf("neither the %s nor the %s query returned data points", exp, ctl)
		return v
	case len(experiment) == 0:
		v.Rule, v.NoData = RuleNoData, true
		v.Reason = fmt.Sprintf("the %s query returned no data points (the %s query returned %s)", exp, ctl, points(len(control)))
		return v
	case len(control) == 0:
		v.Rule, v.NoData = RuleNoData, true
		v.Reason = fmt.Sprintf("the %s query returned no data points (the %s query returned %s)", ctl, exp, points(len(experiment)))
		return v
	}

	var bad []string
	for _, s := range []struct {
		name string
		v    []float64
	}{{exp, experiment}, {ctl, control}} {
		if n, pos, first := firstNonFinite(s.v); n > 0 {
			bad = append(bad, fmt.Sprintf("%d of %d %s points are not finite numbers (first %v at point %d)", n, len(s.v), s.name, first, pos))
		}
	}
	if len(bad) > 0 {
		v.Rule = RuleInvalidValue
		v.Reason = strings.Join(bad, " and ") + ": the query produced no usable measurement (often a division by zero); fix the query, the check fails rather than guess"
		return v
	}

	if c, ok := constant(experiment); ok {
		if d, ok := constant(control); ok && c == d {
			if c == 0 {
				c = 0 // print -0 as 0
			}
			v.Pass, v.Rule = true, RuleIdentical
			v.Reason = fmt.Sprintf("%s and %s are both %s at every point (%d and %d points)", exp, ctl, num(c), len(experiment), len(control))
			return v
		}
	}
	if sameValues(experiment, control) {
		v.Pass, v.Rule = true, RuleIdentical
		v.Reason = fmt.Sprintf("%s and %s hold the same %d values (median %s)", exp, ctl, len(experiment), num(v.Values.Median))
		return v
	}

	res, err := stats.MannWhitneyU(experiment, control, alt)
	if err != nil {
		// Unreachable after the checks above; fail rather than pass.
		v.Reason = fmt.Sprintf("the Mann-Whitney U test of %s against %s failed: %v", exp, ctl, err)
		return v
	}

	if zero, ok := constant(control); ok && zero == 0 {
		if reason, fail := zeroBaseline(experiment, deviation, exp, ctl, res.P); fail {
			v.Rule = RuleZeroBaseline
			v.Reason = reason
			return v
		}
	}

	v.PValue = res.P
	method := "normal approximation"
	if res.Exact {
		method = "exact"
	}
	sides := "one-sided"
	if alt == stats.TwoSided {
		sides = "two-sided"
	}
	test := fmt.Sprintf("Mann-Whitney U p=%s", pval(res.P))
	detail := fmt.Sprintf("(%s, %s, deviation %s); %s median %s (n=%d) vs %s median %s (n=%d)",
		sides, method, deviation, exp, num(v.Values.Median), len(experiment), ctl, num(cs.Median), len(control))
	if res.P < Alpha {
		dir := "higher"
		switch {
		case alt == stats.Less:
			dir = "lower"
		case alt == stats.TwoSided && res.U < float64(res.NX)*float64(res.NY)/2:
			dir = "lower"
		}
		v.Reason = fmt.Sprintf("%s is significantly %s than %s: %s < %s %s", exp, dir, ctl, test, num(Alpha), detail)
		return v
	}
	v.Pass = true
	var head string
	switch alt {
	case stats.Greater:
		head = fmt.Sprintf("%s is not significantly higher than %s", exp, ctl)
	case stats.Less:
		head = fmt.Sprintf("%s is not significantly lower than %s", exp, ctl)
	default:
		head = fmt.Sprintf("%s does not differ significantly from %s", exp, ctl)
	}
	v.Reason = fmt.Sprintf("%s: %s >= %s %s", head, test, num(Alpha), detail)
	if stats.MinExactP(len(experiment), len(control), alt) >= Alpha {
		v.Reason += fmt.Sprintf("; note: with %d and %d points no result can reach p < %s, use a longer window or a finer step",
			len(experiment), len(control), num(Alpha))
	}
	return v
}

// zeroBaseline applies the zero-baseline rule to an experiment judged
// against a control that is 0 at every point. p is the p-value of the rank
// test, quoted in the reason.
func zeroBaseline(experiment []float64, deviation, exp, ctl string, p float64) (string, bool) {
	count := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range experiment {
		off := false
		switch deviation {
		case config.AnalysisDeviationHigh:
			off = f > 0
		case config.AnalysisDeviationLow:
			off = f < 0
		default:
			off = f != 0
		}
		if off {
			count++
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
	}
	if count == 0 {
		return "", false
	}
	var where, extreme, anyValue string
	switch deviation {
	case config.AnalysisDeviationHigh:
		where, extreme = "above 0", "max "+num(hi)
		anyValue = "any " + exp + " value above 0"
	case config.AnalysisDeviationLow:
		where, extreme = "below 0", "min "+num(lo)
		anyValue = "any " + exp + " value below 0"
	default:
		where = "non-zero"
		anyValue = "any non-zero " + exp + " value"
		switch {
		case lo > 0:
			extreme = "max " + num(hi)
		case hi < 0:
			extreme = "min " + num(lo)
		default:
			extreme = "min " + num(lo) + ", max " + num(hi)
		}
	}
	test := fmt.Sprintf("the rank test alone gives p=%s, too few points to show it", pval(p))
	if p < Alpha {
		test = fmt.Sprintf("the rank test agrees: p=%s", pval(p))
	}
	return fmt.Sprintf("%s is 0 at every point but %s is %s at %d of %d points (%s): a %s that is 0 throughout (e.g. error-free) makes %s a regression (%s)",
		ctl, exp, where, count, len(experiment), extreme, ctl, anyValue, test), true
}

// constant reports whether every value of v is the same, and which.
func constant(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	for _, f := range v[1:] {
		if f != v[0] {
			return 0, false
		}
	}
	return v[0], true
}

// sameValues reports whether a and b hold the same values, in any order.
func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}
