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
// full (values, reason) in Analysis.Ticks; older ones are dropped from
// Ticks and only kept as a letter of their analyzer's History and in its
// counts. The record is encoded whole into a git note at every tick: the
// ticks kept in full are most of its size and of the cost of writing it.
const MaxAnalysisTicks = 10

// MaxAnalysisHistory is how many ticks of one analyzer its History keeps
// (one letter each); older ones are only counted.
const MaxAnalysisHistory = 1000

// History letters (AnalysisAnalyzer.History), one per tick: the first
// letter of the verdict.
const (
	HistoryPass    = 'P'
	HistoryFail    = 'F'
	HistoryNoData  = 'N'
	HistorySkipped = 'S'
	HistoryError   = 'E'
)

// Analysis is the progress and outcome of an ANALYSIS stage: what each
// analyzer checked at each tick. It is checkpointed after every tick, so a
// resumed deployment continues with the remaining duration and the failure
// counts so far.
type Analysis struct {
	// StartedAt is when the analysis first started (wall clock, whole
	// milliseconds); the ticks' times are offsets from it, and the
	// PREVIOUS strategy of a later deployment queries the same windows
	// relative to it.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Duration is the configured duration; Elapsed how much of it has run
	// (analysis time: the time a killed job was down does not count).
	Duration Millis `json:"durationMs,omitempty"`
	Elapsed  Millis `json:"elapsedMs,omitempty"`
	// PreviousStartedAt is the StartedAt of the previous deployment's
	// analysis that the PREVIOUS strategy compares with (the ticks'
	// ControlEnd are offsets from it).
	PreviousStartedAt time.Time `json:"previousStartedAt,omitzero"`
	// Analyzers are the metrics and HTTP checks, in configuration order.
	Analyzers []AnalysisAnalyzer `json:"analyzers,omitempty"`
	// Ticks are the latest checks, in time order (at most
	// MaxAnalysisTicks per analyzer; the analyzers' History has them all).
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
	// check Query is "METHOD URL". Ticks do not repeat them.
	Query        string `json:"query,omitempty"`
	ControlQuery string `json:"controlQuery,omitempty"`
	// Expected is the accepted range of THRESHOLD ("x <= 0.05").
	Expected string `json:"expected,omitempty"`
	// Interval is the time between two checks, and the length of the
	// window a metric's check queries (the Interval up to the tick).
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
	// History is the verdict of each tick in time order, one letter each
	// (P pass, F fail, N no data, S skipped, E error), the latest
	// MaxAnalysisHistory of them.
	History string `json:"history,omitempty"`
	// Dropped counts this analyzer's oldest ticks dropped from Ticks
	// (they stay in History and in the counts).
	Dropped int `json:"dropped,omitempty"`
}

// AnalysisTick is one check of one analyzer.
type AnalysisTick struct {
	Analyzer string `json:"analyzer"`
	// At is the tick's offset in the analysis (analysis time).
	At Millis `json:"atMs"`
	// Wall is when the check ran, as an offset from Analysis.StartedAt on
	// the wall clock (it includes the time a killed job was down). A
	// metric's query covered the analyzer's Interval up to then: see
	// Analysis.TickTime and Analysis.Window.
	Wall Millis `json:"wallMs,omitempty"`
	// ControlEnd is the end of the previous deployment's window that a
	// PREVIOUS tick compared with, as an offset from
	// Analysis.PreviousStartedAt; it starts the analyzer's Interval
	// earlier (see Analysis.ControlWindow).
	ControlEnd Millis `json:"controlEndMs,omitempty"`
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

// AnalysisValues summarises a sample. It is written as one JSON object
// {"n", "min", "max", "mean", "median", "last"}, a value that is NaN or
// infinite as the string "NaN", "+Inf" or "-Inf" (see Float).
type AnalysisValues struct {
	N      int   `json:"n"`
	Min    Float `json:"min"`
	Max    Float `json:"max"`
	Mean   Float `json:"mean"`
	Median Float `json:"median"`
	Last   Float `json:"last"`
}

// MarshalJSON implements json.Marshaler: one call per summary rather than
// one per number (encoding/json validates the output of every Marshaler).
func (v AnalysisValues) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(v.N), 10)
	b = append(b, `,"min":`...)
	b = v.Min.append(b)
	b = append(b, `,"max":`...)
	b = v.Max.append(b)
	b = append(b, `,"mean":`...)
	b = v.Mean.append(b)
	b = append(b, `,"median":`...)
	b = v.Median.append(b)
	b = append(b, `,"last":`...)
	b = v.Last.append(b)
	return append(b, '}'), nil
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

// TickTime returns when t ran (the zero time when the analysis has no
// start or t no time).
func (a *Analysis) TickTime(t *AnalysisTick) time.Time {
	if a.StartedAt.IsZero() || t.Wall <= 0 {
		return time.Time{}
	}
	return a.StartedAt.Add(t.Wall.Std())
}

// Window returns the range a metric tick's query covered: its analyzer's
// Interval up to the tick's time (ok is false for an HTTP check, or when
// they are unknown).
func (a *Analysis) Window(t *AnalysisTick) (start, end time.Time, ok bool) {
	end = a.TickTime(t)
	z := a.Analyzer(t.Analyzer)
	if end.IsZero() || z == nil || z.Interval <= 0 || z.Kind == "HTTP" {
		return time.Time{}, time.Time{}, false
	}
	return end.Add(-z.Interval.Std()), end, true
}

// ControlWindow returns the range of the previous deployment that a
// PREVIOUS tick compared with (ok is false when it has none).
func (a *Analysis) ControlWindow(t *AnalysisTick) (start, end time.Time, ok bool) {
	z := a.Analyzer(t.Analyzer)
	if a.PreviousStartedAt.IsZero() || t.ControlEnd <= 0 || z == nil || z.Interval <= 0 {
		return time.Time{}, time.Time{}, false
	}
	end = a.PreviousStartedAt.Add(t.ControlEnd.Std())
	return end.Add(-z.Interval.Std()), end, true
}

// historyLetter is the History letter of a verdict.
func historyLetter(verdict string) byte {
	switch verdict {
	case VerdictPass:
		return HistoryPass
	case VerdictFail:
		return HistoryFail
	case VerdictNoData:
		return HistoryNoData
	case VerdictSkipped:
		return HistorySkipped
	}
	return HistoryError
}

// AddTick appends t, counts it in its analyzer and its History, and drops
// the analyzer's oldest tick when it has more than MaxAnalysisTicks.
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
		h := z.History
		if len(h) >= MaxAnalysisHistory {
			h = h[len(h)-MaxAnalysisHistory+1:]
		}
		z.History = h + string(historyLetter(t.Verdict))
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
	return f.append(nil), nil
}

// append appends f as JSON: a number, or "NaN", "+Inf" or "-Inf".
func (f Float) append(b []byte) []byte {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
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
