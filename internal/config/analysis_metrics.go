package config

import (
	"strconv"
	"strings"
)

// Analysis strategies and deviations (PipeCD's names).
const (
	AnalysisStrategyThreshold      = "THRESHOLD"
	AnalysisStrategyPrevious       = "PREVIOUS"
	AnalysisStrategyCanaryBaseline = "CANARY_BASELINE"
	AnalysisStrategyCanaryPrimary  = "CANARY_PRIMARY"

	AnalysisDeviationEither = "EITHER"
	AnalysisDeviationHigh   = "HIGH"
	AnalysisDeviationLow    = "LOW"
)

var (
	analysisStrategies = []string{AnalysisStrategyThreshold, AnalysisStrategyPrevious, AnalysisStrategyCanaryBaseline, AnalysisStrategyCanaryPrimary}
	analysisDeviations = []string{AnalysisDeviationEither, AnalysisDeviationHigh, AnalysisDeviationLow}
)

// AnalysisMetrics is a metric query judged by a strategy.
type AnalysisMetrics struct {
	// How the result is judged: THRESHOLD (against expected), PREVIOUS (against
	// the last deployment), CANARY_BASELINE or CANARY_PRIMARY (canary against the other variant).
	Strategy string `json:"strategy,omitempty" jsonschema:"default=THRESHOLD,enum=THRESHOLD,enum=PREVIOUS,enum=CANARY_BASELINE,enum=CANARY_PRIMARY"`
	// The analysis provider of .pipe/config.yaml to query.
	Provider string `json:"provider"`
	// The query, a Go template ({{ .App.Name }}, {{ .K8s.Namespace }}, {{ .VariantCustomArgs.KEY }}, ...).
	Query string `json:"query"`
	// The accepted range of the result; required for THRESHOLD.
	Expected *AnalysisExpected `json:"expected,omitempty"`
	// How often the query runs.
	Interval Duration `json:"interval"`
	// Failed checks tolerated before the stage fails.
	FailureLimit int `json:"failureLimit,omitempty"`
	// Count a query that returns no data as a success.
	SkipOnNoData bool `json:"skipOnNoData,omitempty"`
	// How long a query may take.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=30s"`
	// Which deviation fails a comparing strategy: EITHER, HIGH or LOW.
	Deviation string `json:"deviation,omitempty" jsonschema:"default=EITHER,enum=EITHER,enum=HIGH,enum=LOW"`
	// Arguments of the canary query, referred to as {{ .VariantCustomArgs.KEY }}.
	CanaryArgs map[string]string `json:"canaryArgs,omitempty"`
	// Arguments of the baseline query, referred to as {{ .VariantCustomArgs.KEY }}.
	BaselineArgs map[string]string `json:"baselineArgs,omitempty"`
	// Arguments of the primary query, referred to as {{ .VariantCustomArgs.KEY }}.
	PrimaryArgs map[string]string `json:"primaryArgs,omitempty"`
}

// unknownFieldHint explains near misses of the metric fields.
func (*AnalysisMetrics) unknownFieldHint(key string) string {
	switch key {
	case "threshold", "max", "min":
		return "the accepted range goes under `expected: {min: ..., max: ...}`"
	case "args", "variantArgs":
		return "arguments are per variant: canaryArgs, baselineArgs, primaryArgs"
	}
	return ""
}

// Validate implements validatable.
func (m *AnalysisMetrics) Validate(c *Checker, path string) {
	checkProvider(c, path+".provider", m.Provider)
	if strings.TrimSpace(m.Query) == "" {
		c.Errorf(path+".query", "", "missing `query`")
	}
	checkCommon(c, path, m.Interval, m.FailureLimit, m.Timeout)
	if !containsString(analysisStrategies, m.Strategy) {
		c.Errorf(path+".strategy", enumHint(m.Strategy, analysisStrategies), "unknown analysis strategy %q", m.Strategy)
	}
	if !containsString(analysisDeviations, m.Deviation) {
		c.Errorf(path+".deviation", enumHint(m.Deviation, analysisDeviations), "unknown deviation %q", m.Deviation)
	}
	if m.Strategy == AnalysisStrategyThreshold {
		if c.Has(path+".deviation") && containsString(analysisDeviations, m.Deviation) {
			c.Warnf(path+".deviation", "deviation applies to PREVIOUS, CANARY_BASELINE and CANARY_PRIMARY", "deviation is ignored by the THRESHOLD strategy")
		}
		if m.Expected == nil {
			c.Errorf(path+".expected", "add `expected: {max: ...}` (and/or min)", "the THRESHOLD strategy needs `expected`")
		}
	}
	if m.Expected != nil {
		m.Expected.check(c, path+".expected")
	}
}

// AnalysisExpected is the accepted range of a metric; a bound left out is open.
type AnalysisExpected struct {
	// The result fails below this value.
	Min *float64 `json:"min,omitempty"`
	// The result fails above this value.
	Max *float64 `json:"max,omitempty"`
}

func (e *AnalysisExpected) check(c *Checker, path string) {
	switch {
	case e.Min == nil && e.Max == nil:
		c.Errorf(path, "set `min`, `max` or both", "the expected range has no bound")
	case e.Min != nil && e.Max != nil && *e.Min > *e.Max:
		c.Errorf(path+".min", "min must not be greater than max", "the expected range is empty: min %s > max %s",
			strconv.FormatFloat(*e.Min, 'g', -1, 64), strconv.FormatFloat(*e.Max, 'g', -1, 64))
	}
}

// InRange reports whether v is within the range (bounds included).
func (e *AnalysisExpected) InRange(v float64) bool {
	return (e.Min == nil || *e.Min <= v) && (e.Max == nil || v <= *e.Max)
}

// String renders the range as "min <= x <= max".
func (e *AnalysisExpected) String() string {
	var b strings.Builder
	if e.Min != nil {
		b.WriteString(strconv.FormatFloat(*e.Min, 'g', -1, 64) + " <= ")
	}
	b.WriteString("x")
	if e.Max != nil {
		b.WriteString(" <= " + strconv.FormatFloat(*e.Max, 'g', -1, 64))
	}
	return b.String()
}

// TemplatableAnalysisMetrics is a metric query, inline or from a template.
type TemplatableAnalysisMetrics struct {
	AnalysisMetrics
	// Use a template of the .pipe/ AnalysisTemplate instead of the inline fields.
	Template AnalysisTemplateRef `json:"template,omitempty"`
}

// Validate implements validatable.
func (m *TemplatableAnalysisMetrics) Validate(c *Checker, path string) {
	inline := []string{"strategy", "provider", "query", "expected", "interval", "failureLimit", "skipOnNoData", "timeout", "deviation", "canaryArgs", "baselineArgs", "primaryArgs"}
	if checkTemplateRef(c, path, "metrics", m.Template, inline) {
		return
	}
	m.AnalysisMetrics.Validate(c, path)
}
