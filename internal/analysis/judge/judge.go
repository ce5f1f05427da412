// Package judge decides whether the metric values of one ANALYSIS tick pass:
// Threshold for the THRESHOLD strategy, Compare for PREVIOUS, CANARY_BASELINE
// and CANARY_PRIMARY. Judges are pure functions of the values; every Verdict
// carries a one-line Reason with the numbers it was decided on. The rules are
// documented in docs/analysis-judges.md.
package judge

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Rules name what decided a verdict.
const (
	// RuleThreshold: values against the expected range (THRESHOLD).
	RuleThreshold = "threshold"
	// RuleMannWhitney: a Mann-Whitney U test of experiment against control.
	RuleMannWhitney = "mann-whitney"
	// RuleZeroBaseline: the control is 0 at every point and the experiment
	// leaves 0 in the failing direction.
	RuleZeroBaseline = "zero-baseline"
	// RuleIdentical: experiment and control hold the same values.
	RuleIdentical = "identical"
	// RuleNoData: a sample was empty; the runner applies skipOnNoData.
	RuleNoData = "no-data"
	// RuleInvalidValue: a value is NaN or infinite.
	RuleInvalidValue = "invalid-value"
	// RuleInvalidConfig: the expected range or the deviation cannot be used.
	RuleInvalidConfig = "invalid-config"
)

// Alpha is the significance level of the comparing strategies: a deviation
// fails when its p-value is below Alpha.
const Alpha = 0.05

// Verdict is the judgement of one analysis tick.
type Verdict struct {
	Pass bool `json:"pass"`
	// NoData is true when a sample was empty: the runner applies
	// skipOnNoData. Pass is false then.
	NoData bool `json:"noData,omitempty"`
	// Rule names what decided the verdict (the Rule* constants).
	Rule string `json:"rule"`
	// Reason is one line for people: the values, the bound or p-value, the
	// rule.
	Reason string `json:"reason"`
	// PValue is the p-value of the test that decided the verdict; NaN when no
	// statistical test decided it. It is written as null in JSON.
	PValue float64 `json:"pValue"`
	// Values summarises the experiment (or the only) sample.
	Values Summary `json:"values"`
	// Control summarises the control sample; nil for THRESHOLD.
	Control *Summary `json:"control,omitempty"`
}

type verdictJSON struct {
	Pass    bool     `json:"pass"`
	NoData  bool     `json:"noData,omitempty"`
	Rule    string   `json:"rule"`
	Reason  string   `json:"reason"`
	PValue  *float64 `json:"pValue"`
	Values  Summary  `json:"values"`
	Control *Summary `json:"control,omitempty"`
}

// MarshalJSON writes PValue as null when it is NaN (JSON has no NaN).
func (v Verdict) MarshalJSON() ([]byte, error) {
	j := verdictJSON{Pass: v.Pass, NoData: v.NoData, Rule: v.Rule, Reason: v.Reason, Values: v.Values, Control: v.Control}
	if !math.IsNaN(v.PValue) && !math.IsInf(v.PValue, 0) {
		p := v.PValue
		j.PValue = &p
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes: a null or missing pValue is
// NaN.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var j verdictJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*v = Verdict{Pass: j.Pass, NoData: j.NoData, Rule: j.Rule, Reason: j.Reason, PValue: math.NaN(), Values: j.Values, Control: j.Control}
	if j.PValue != nil {
		v.PValue = *j.PValue
	}
	return nil
}

// Summary describes a sample for the record. N counts every value; the
// statistics cover the finite ones (NonFinite counts the NaN and ±Inf values
// left out, so that the summary always encodes as JSON). With no finite value
// the statistics are 0.
type Summary struct {
	N         int     `json:"n"`
	NonFinite int     `json:"nonFinite,omitempty"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Mean      float64 `json:"mean"`
	Median    float64 `json:"median"`
	// Last is the last finite value, in the order given (time order).
	Last float64 `json:"last"`
}

// Summarize describes v.
func Summarize(v []float64) Summary {
	s := Summary{N: len(v)}
	finite := make([]float64, 0, len(v))
	for _, f := range v {
		if isFinite(f) {
			finite = append(finite, f)
		} else {
			s.NonFinite++
		}
	}
	if len(finite) == 0 {
		return s
	}
	s.Last = finite[len(finite)-1]
	sum := 0.0
	for _, f := range finite {
		sum += f
	}
	// Sum of large values may overflow; the mean of finite values is finite.
	s.Mean = sum / float64(len(finite))
	if math.IsInf(s.Mean, 0) {
		s.Mean = 0
		for _, f := range finite {
			s.Mean += f / float64(len(finite))
		}
	}
	slices.Sort(finite)
	s.Min, s.Max = finite[0], finite[len(finite)-1]
	m := len(finite) / 2
	if len(finite)%2 == 1 {
		s.Median = finite[m]
	} else {
		s.Median = finite[m-1]/2 + finite[m]/2
	}
	return s
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// num formats a value for a reason: 4 significant digits.
func num(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

// numNear formats v so that it reads differently from ref when it differs
// from it: 4 significant digits, or all the digits needed when 4 would hide
// the difference (0.050001 against a bound of 0.05).
func numNear(v, ref float64) string {
	s := num(v)
	if v != ref && s == num(ref) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return s
}

// exact formats a configured number as written.
func exact(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// pval formats a p-value.
func pval(p float64) string { return strconv.FormatFloat(p, 'g', 4, 64) }

// points renders "1 point" or "n points".
func points(n int) string {
	if n == 1 {
		return "1 point"
	}
	return strconv.Itoa(n) + " points"
}

// firstNonFinite returns how many values of v are NaN or ±Inf, and the first
// one with its 1-based position.
func firstNonFinite(v []float64) (count, pos int, first float64) {
	for i, f := range v {
		if !isFinite(f) {
			if count == 0 {
				pos, first = i+1, f
			}
			count++
		}
	}
	return count, pos, first
}
