package judge

import (
	"fmt"
	"math"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Threshold passes when every value is within exp (bounds included).
//
// The reason names, for each bound broken, how many points broke it, the
// first one and the worst one, e.g. "2 of 12 points above max 0.05 (first
// 0.12 at point 3, worst 0.31 at point 7)". Points count from 1 in the order
// given (time order).
//
// No values is a NoData verdict. A NaN or infinite value fails the verdict
// (rule invalid-value): the provider returned something that is not a
// measurement, and guessing either way could ship a bad release. A range
// without bounds or with min > max fails too (rule invalid-config); the
// configuration validation normally rejects both before a stage runs.
func Threshold(values []float64, exp config.AnalysisExpected) Verdict {
	v := Verdict{Rule: RuleThreshold, PValue: math.NaN(), Values: Summarize(values)}
	switch {
	case exp.Min == nil && exp.Max == nil:
		v.Rule = RuleInvalidConfig
		v.Reason = "the expected range has no bound: set `expected.min`, `expected.max` or both"
		return v
	case exp.Min != nil && exp.Max != nil && *exp.Min > *exp.Max:
		v.Rule = RuleInvalidConfig
		v.Reason = fmt.Sprintf("the expected range is empty (min %s > max %s): fix `expected` so that min <= max", exact(*exp.Min), exact(*exp.Max))
		return v
	case exp.Min != nil && !isFinite(*exp.Min), exp.Max != nil && !isFinite(*exp.Max):
		v.Rule = RuleInvalidConfig
		v.Reason = fmt.Sprintf("the expected range %s has a bound that is not a finite number: use finite numbers for `expected.min` and `expected.max`", exp.String())
		return v
	}
	if len(values) == 0 {
		v.Rule = RuleNoData
		v.NoData = true
		v.Reason = fmt.Sprintf("the query returned no data points to judge against %s", exp.String())
		return v
	}
	if n, pos, first := firstNonFinite(values); n > 0 {
		v.Rule = RuleInvalidValue
		v.Reason = fmt.Sprintf("%d of %d points are not finite numbers (first %v at point %d): the query produced no usable measurement (often a division by zero); fix the query, the check fails rather than guess",
			n, len(values), first, pos)
		return v
	}

	var above, below breach
	for i, f := range values {
		if exp.Max != nil && f > *exp.Max {
			above.add(i, f > values[above.worst])
		}
		if exp.Min != nil && f < *exp.Min {
			below.add(i, f < values[below.worst])
		}
	}
	if above.count == 0 && below.count == 0 {
		v.Pass = true
		s := v.Values
		v.Reason = fmt.Sprintf("all %s within %s (min %s, max %s, last %s)", points(len(values)), exp.String(), num(s.Min), num(s.Max), num(s.Last))
		return v
	}
	var parts []string
	if above.count > 0 {
		parts = append(parts, above.describe(values, "above max", *exp.Max))
	}
	if below.count > 0 {
		parts = append(parts, below.describe(values, "below min", *exp.Min))
	}
	v.Reason = strings.Join(parts, " and ")
	return v
}

// breach collects the points beyond one bound.
type breach struct {
	count, first, worst int
}

// add records point i; worse says whether it is beyond the worst so far.
func (b *breach) add(i int, worse bool) {
	if b.count == 0 {
		b.first, b.worst = i, i
	} else if worse {
		b.worst = i
	}
	b.count++
}

func (b *breach) describe(values []float64, what string, bound float64) string {
	head := fmt.Sprintf("%d of %d points %s %s", b.count, len(values), what, exact(bound))
	if b.count == 1 {
		return fmt.Sprintf("%s (%s at point %d)", head, numNear(values[b.first], bound), b.first+1)
	}
	if b.first == b.worst {
		return fmt.Sprintf("%s (first and worst %s at point %d)", head, numNear(values[b.first], bound), b.first+1)
	}
	return fmt.Sprintf("%s (first %s at point %d, worst %s at point %d)", head,
		numNear(values[b.first], bound), b.first+1, numNear(values[b.worst], bound), b.worst+1)
}
