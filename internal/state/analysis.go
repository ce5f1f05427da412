package state

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Verdicts of an analysis tick (AnalysisTick.Verdict) and of an analysis
// as a whole (Analysis.Verdict: PASS or FAIL).
const (
	VerdictPass    = "PASS"
	VerdictFail    = "FAIL"
	VerdictNoData  = "NO_DATA"
	VerdictSkipped = "SKIPPED"
	VerdictError   = "ERROR"
)

// MaxAnalysisTicks is how many ticks of one analyzer a record keeps in
// full; older ones are dropped from Ticks and only counted in their
// AnalysisAnalyzer (records live in git notes: they stay small).
const MaxAnalysisTicks = 200

// Analysis is the progress and outcome of an ANALYSIS stage: what each
// analyzer checked at each tick. It is checkpointed after every tick, so a
// resumed deployment continues with the remaining duration and the failure
// counts so far.
type Analysis struct {
	// StartedAt is when the analysis first started (wall clock); the
	// PREVIOUS strategy of a later deployment queries the same windows
	// relative to it.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Duration is the configured duration; Elapsed how much of it has run
	// (analysis time: the time a killed job was down does not count).
	Duration Millis `json:"durationMs,omitempty"`
	Elapsed  Millis `json:"elapsedMs,omitempty"`
	// Analyzers are the metrics and HTTP checks, in configuration order.
	Analyzers []AnalysisAnalyzer `json:"analyzers,omitempty"`
	// Ticks are the checks so far, in time order (at most
	// MaxAnalysisTicks per analyzer).
	Ticks []AnalysisTick `json:"ticks,omitempty"`
	// Verdict is PASS or FAIL once the analysis ended; Reason says why it
	// failed.
	Verdict string `json:"verdict,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// AnalysisAnalyzer is one metric query or HTTP check of an analysis and
// its counts.
type AnalysisAnalyzer struct {
	// Name is "metrics[0]", "https[1]"...; Label a short description (the
	// template name, or the query / URL clipped).
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Kind is METRICS or HTTP.
	Kind string `json:"kind"`
	// Strategy of a metric (THRESHOLD, PREVIOUS, CANARY_BASELINE,
	// CANARY_PRIMARY); Provider its analysis provider.
	Strategy string `json:"strategy,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Query is the rendered query (the canary's for the canary
	// strategies), ControlQuery the baseline's or primary's; for an HTTP
	// check Query is "METHOD URL".
	Query        string `json:"query,omitempty"`
	ControlQuery string `json:"controlQuery,omitempty"`
	// Expected is the accepted range of THRESHOLD ("x <= 0.05").
	Expected     string `json:"expected,omitempty"`
	Interval     Millis `json:"intervalMs,omitempty"`
	FailureLimit int    `json:"failureLimit,omitempty"`
	// Counts of ticks by verdict, and Failures: the ticks that count
	// against FailureLimit (FAIL, NO_DATA, ERROR).
	Passed   int `json:"passed,omitempty"`
	Failed   int `json:"failed,omitempty"`
	NoData   int `json:"noData,omitempty"`
	Skipped  int `json:"skipped,omitempty"`
	Errors   int `json:"errors,omitempty"`
	Failures int `json:"failures,omitempty"`
	// Dropped counts this analyzer's oldest ticks dropped from Ticks.
	Dropped int `json:"dropped,omitempty"`
}

// AnalysisTick is one check of one analyzer.
type AnalysisTick struct {
	Time     time.Time `json:"time"`
	Analyzer string    `json:"analyzer"`
	// At is the tick's offset in the analysis (analysis time).
	At Millis `json:"atMs"`
	// WindowStart and WindowEnd are the range the query covered (metrics).
	WindowStart time.Time `json:"windowStart,omitzero"`
	WindowEnd   time.Time `json:"windowEnd,omitzero"`
	// ControlStart and ControlEnd are the previous deployment's window
	// (PREVIOUS), when it differs from the tick's.
	ControlStart time.Time `json:"controlStart,omitzero"`
	ControlEnd   time.Time `json:"controlEnd,omitzero"`
	// Values summarises the points judged (the canary's for the canary
	// strategies); Control those of the baseline, primary or previous
	// deployment.
	Values  *AnalysisValues `json:"values,omitempty"`
	Control *AnalysisValues `json:"control,omitempty"`
	// Code is the status code of an HTTP check.
	Code int `json:"code,omitempty"`
	// Verdict is PASS, FAIL, NO_DATA, SKIPPED or ERROR.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// PValue is the p-value of a comparing strategy's test, when one ran.
	PValue Float `json:"pValue,omitempty"`
	// Failures is the analyzer's failure count after this tick.
	Failures int `json:"failures,omitempty"`
}

// AnalysisValues summarises a sample.
type AnalysisValues struct {
	N      int   `json:"n"`
	Min    Float `json:"min"`
	Max    Float `json:"max"`
	Mean   Float `json:"mean"`
	Median Float `json:"median"`
	Last   Float `json:"last"`
}

// Analyzer returns the analyzer named name (nil when there is none).
func (a *Analysis) Analyzer(name string) *AnalysisAnalyzer {
	for i := range a.Analyzers {
		if a.Analyzers[i].Name == name {
			return &a.Analyzers[i]
		}
	}
	return nil
}

// LastTick returns the latest kept tick of an analyzer (nil when none).
func (a *Analysis) LastTick(analyzer string) *AnalysisTick {
	for i := len(a.Ticks) - 1; i >= 0; i-- {
		if a.Ticks[i].Analyzer == analyzer {
			return &a.Ticks[i]
		}
	}
	return nil
}

// AddTick appends t, counts it in its analyzer, and drops the analyzer's
// oldest tick when it has more than MaxAnalysisTicks.
func (a *Analysis) AddTick(t AnalysisTick) {
	if z := a.Analyzer(t.Analyzer); z != nil {
		switch t.Verdict {
		case VerdictPass:
			z.Passed++
		case VerdictFail:
			z.Failed++
		case VerdictNoData:
			z.NoData++
		case VerdictSkipped:
			z.Skipped++
		case VerdictError:
			z.Errors++
		}
		z.Failures = t.Failures
	}
	a.Ticks = append(a.Ticks, t)
	n, first := 0, -1
	for i := range a.Ticks {
		if a.Ticks[i].Analyzer == t.Analyzer {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n > MaxAnalysisTicks {
		a.Ticks = append(a.Ticks[:first], a.Ticks[first+1:]...)
		if z := a.Analyzer(t.Analyzer); z != nil {
			z.Dropped++
		}
	}
}

// Clone returns a deep copy of a.
func (a *Analysis) Clone() *Analysis {
	if a == nil {
		return nil
	}
	c := *a
	c.Analyzers = append([]AnalysisAnalyzer(nil), a.Analyzers...)
	c.Ticks = make([]AnalysisTick, len(a.Ticks))
	for i, t := range a.Ticks {
		c.Ticks[i] = t
		if t.Values != nil {
			v := *t.Values
			c.Ticks[i].Values = &v
		}
		if t.Control != nil {
			v := *t.Control
			c.Ticks[i].Control = &v
		}
	}
	if a.Ticks == nil {
		c.Ticks = nil
	}
	return &c
}

// Millis is a duration written in JSON as whole milliseconds.
type Millis time.Duration

// Std returns m as a time.Duration.
func (m Millis) Std() time.Duration { return time.Duration(m) }

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Duration(m).Milliseconds(), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("a duration in milliseconds must be a number, got %s", abbreviate(string(b), 40))
	}
	*m = Millis(time.Duration(v * float64(time.Millisecond)))
	return nil
}

// Float is a number that may be NaN or infinite (metrics often are: a
// rate of nothing is NaN); JSON has no such numbers, so they are written
// as the strings "NaN", "+Inf" and "-Inf".
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("a number must be a JSON number, \"NaN\", \"+Inf\" or \"-Inf\", got %s", abbreviate(string(b), 40))
		}
		*f = Float(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("a number must be a JSON number, \"NaN\", \"+Inf\" or \"-Inf\", got %s", abbreviate(string(b), 40))
	}
	*f = Float(v)
	return nil
}
