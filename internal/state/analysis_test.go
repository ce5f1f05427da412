package state

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestAnalysisKeepsAtMostMaxTicksPerAnalyzer(t *testing.T) {
	a := &Analysis{Analyzers: []AnalysisAnalyzer{{Name: "metrics[0]"}, {Name: "https[0]"}}}
	for i := 0; i < MaxAnalysisTicks+50; i++ {
		v := VerdictPass
		if i%10 == 0 {
			v = VerdictFail
		}
		a.AddTick(AnalysisTick{Analyzer: "metrics[0]", At: Millis(time.Duration(i) * time.Second), Verdict: v})
		if i < 5 {
			a.AddTick(AnalysisTick{Analyzer: "https[0]", At: Millis(time.Duration(i) * time.Second), Verdict: VerdictSkipped})
		}
	}
	m := a.Analyzer("metrics[0]")
	if m.Passed+m.Failed != MaxAnalysisTicks+50 || m.Failed != (MaxAnalysisTicks+50+9)/10 || m.Dropped != 50 {
		t.Errorf("counts %+v", m)
	}
	// Every tick is a letter of the history, dropped ones included.
	if len(m.History) != MaxAnalysisTicks+50 || !strings.HasPrefix(m.History, "FPPPPPPPPPF") || strings.Count(m.History, "F") != m.Failed {
		t.Errorf("history %q", m.History)
	}
	kept := 0
	for _, tk := range a.Ticks {
		if tk.Analyzer == "metrics[0]" {
			kept++
		}
	}
	if kept != MaxAnalysisTicks {
		t.Errorf("kept %d ticks", kept)
	}
	// The oldest were dropped; the other analyzer's ticks were kept.
	if first := a.Ticks[0]; first.Analyzer != "https[0]" {
		t.Errorf("first tick %+v", first)
	}
	if h := a.Analyzer("https[0]"); h.Skipped != 5 || h.Dropped != 0 || h.History != "SSSSS" {
		t.Errorf("https counts %+v", h)
	}
	if last := a.LastTick("metrics[0]"); last.At.Std() != time.Duration(MaxAnalysisTicks+49)*time.Second {
		t.Errorf("last tick %+v", last)
	}
}

func TestAnalysisJSON(t *testing.T) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	a := &Analysis{StartedAt: start, Duration: Millis(10 * time.Minute), Elapsed: Millis(90500 * time.Millisecond),
		Analyzers: []AnalysisAnalyzer{{Name: "metrics[0]", Kind: "METRICS", Strategy: "THRESHOLD", Interval: Millis(time.Minute), Failures: 1, Failed: 1}},
		Ticks: []AnalysisTick{{Wall: Millis(time.Minute + 5*time.Millisecond), Analyzer: "metrics[0]", At: Millis(time.Minute), Verdict: VerdictFail,
			Values:   &AnalysisValues{N: 3, Min: 0, Max: Float(math.Inf(1)), Mean: Float(math.NaN()), Median: 1, Last: Float(math.Inf(-1))},
			PValue:   0.004,
			Failures: 1}}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"durationMs":600000`, `"elapsedMs":90500`, `"intervalMs":60000`, `"max":"+Inf"`, `"mean":"NaN"`, `"last":"-Inf"`, `"pValue":0.004`, `"wallMs":60005`,
		`"values":{"n":3,"min":0,"max":"+Inf","mean":"NaN","median":1,"last":"-Inf"}`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	if strings.Contains(s, "controlEndMs") || strings.Contains(s, `"reason"`) || strings.Contains(s, "previousStartedAt") {
		t.Errorf("empty fields are omitted: %s", s)
	}
	var back Analysis
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	v := back.Ticks[0].Values
	if back.Elapsed != a.Elapsed || !math.IsInf(float64(v.Max), 1) || !math.IsNaN(float64(v.Mean)) || back.Ticks[0].PValue != 0.004 || !back.StartedAt.Equal(start) {
		t.Errorf("round trip: %+v %+v", back, v)
	}
	// The window queried is the analyzer's interval up to the tick's time.
	if ws, we, ok := back.Window(&back.Ticks[0]); !ok || !ws.Equal(start.Add(5*time.Millisecond)) || !we.Equal(start.Add(time.Minute+5*time.Millisecond)) {
		t.Errorf("window %s..%s (%v)", ws, we, ok)
	}
	if _, _, ok := back.ControlWindow(&back.Ticks[0]); ok {
		t.Error("a THRESHOLD tick has a control window")
	}
	if err := json.Unmarshal([]byte(`{"elapsedMs":"soon"}`), &back); err == nil || !strings.Contains(err.Error(), "milliseconds") {
		t.Errorf("bad elapsedMs: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"ticks":[{"pValue":"low"}]}`), &back); err == nil || !strings.Contains(err.Error(), `"NaN"`) {
		t.Errorf("bad pValue: %v", err)
	}
}

func TestRecordCarriesTheAnalysis(t *testing.T) {
	rec := &Record{SchemaVersion: SchemaVersion, ID: "01J", App: "web", Status: StatusRunning,
		Stages: []Stage{{ID: "analysis", Name: "ANALYSIS", Status: StageRunning, Analysis: &Analysis{Elapsed: Millis(time.Second),
			Ticks: []AnalysisTick{{Analyzer: "metrics[0]", Verdict: VerdictPass, Values: &AnalysisValues{N: 1, Last: 2}}}}}}}
	c := rec.Clone()
	c.Stages[0].Analysis.Ticks[0].Values.Last = 3
	c.Stages[0].Analysis.Elapsed = 0
	if rec.Stages[0].Analysis.Ticks[0].Values.Last != 2 || rec.Stages[0].Analysis.Elapsed == 0 {
		t.Error("Clone shares the analysis")
	}
	line, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	back, ok := decodeRecordJSON(line)
	if !ok || back.Stages[0].Analysis == nil || back.Stages[0].Analysis.Ticks[0].Values.Last != 2 {
		t.Fatalf("decoded %s", line)
	}
	if (&Record{Stages: []Stage{{ID: "x"}}}).Clone().Stages[0].Analysis != nil {
		t.Error("Clone invents an analysis")
	}
}

// BenchmarkAnalysisRecordEncode encodes a record holding an analysis with
// as many ticks as it keeps, as every checkpoint of an ANALYSIS stage does.
//
//	go test -run '^$' -bench AnalysisRecordEncode -benchmem ./internal/state/
func BenchmarkAnalysisRecordEncode(b *testing.B) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	a := &Analysis{StartedAt: start, Duration: Millis(2 * time.Hour),
		Analyzers: []AnalysisAnalyzer{{Name: "metrics[0]", Kind: "METRICS", Strategy: "THRESHOLD", Provider: "prom",
			Query:    `sum(rate(http_requests_total{variant="canary",code="500"}[5s])) / sum(rate(http_requests_total{variant="canary"}[5s]))`,
			Expected: "x <= 0.05", Interval: Millis(30 * time.Second), FailureLimit: 1}}}
	for i := 1; i <= MaxAnalysisHistory+10; i++ {
		at := time.Duration(i) * 30 * time.Second
		a.AddTick(AnalysisTick{Analyzer: "metrics[0]", At: Millis(at), Wall: Millis(at + 12*time.Millisecond), Verdict: VerdictPass,
			Reason: "all 31 points within x <= 0.05 (min 0.01235, max 0.02541, last 0.01987)",
			Values: &AnalysisValues{N: 31, Min: 0.012345678901, Max: 0.02541234123, Mean: 0.0199912341234, Median: 0.01987123412341, Last: 0.0198712341234}})
		a.Elapsed = Millis(at)
	}
	rec := &Record{SchemaVersion: SchemaVersion, ID: "01J0000000000000000000000R", App: "web", Status: StatusRunning,
		Stages: []Stage{{ID: "analysis", Name: "ANALYSIS", Status: StageRunning, StartedAt: start, Analysis: a}}}
	size := 0
	for b.Loop() {
		line, err := encodeRecord(rec)
		if err != nil {
			b.Fatal(err)
		}
		size = len(line)
	}
	b.ReportMetric(float64(size), "record-bytes")
}

func TestAnalysisHistoryKeepsTheLatestTicks(t *testing.T) {
	a := &Analysis{Analyzers: []AnalysisAnalyzer{{Name: "https[0]"}}}
	verdicts := []string{VerdictPass, VerdictFail, VerdictNoData, VerdictSkipped, VerdictError}
	for i := 0; i < MaxAnalysisHistory+3; i++ {
		a.AddTick(AnalysisTick{Analyzer: "https[0]", At: Millis(time.Duration(i+1) * time.Second), Verdict: verdicts[i%len(verdicts)]})
	}
	z := a.Analyzer("https[0]")
	if len(z.History) != MaxAnalysisHistory {
		t.Fatalf("history of %d letters, want %d", len(z.History), MaxAnalysisHistory)
	}
	// The oldest 3 ticks (P, F, N) fell off; the last is tick MaxAnalysisHistory+2.
	if !strings.HasPrefix(z.History, "SEPFN") || z.History[len(z.History)-1] != "PFNSE"[(MaxAnalysisHistory+2)%5] {
		t.Errorf("history %q...%q", z.History[:5], z.History[len(z.History)-5:])
	}
	if z.Passed+z.Failed+z.NoData+z.Skipped+z.Errors != MaxAnalysisHistory+3 || z.Dropped != MaxAnalysisHistory+3-MaxAnalysisTicks {
		t.Errorf("counts %+v", z)
	}
}

func TestAnalysisTickTimes(t *testing.T) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	a := &Analysis{StartedAt: start, PreviousStartedAt: start.Add(-24 * time.Hour),
		Analyzers: []AnalysisAnalyzer{{Name: "metrics[0]", Kind: "METRICS", Strategy: "PREVIOUS", Interval: Millis(time.Minute)},
			{Name: "https[0]", Kind: "HTTP", Interval: Millis(time.Minute)}}}
	prev := AnalysisTick{Analyzer: "metrics[0]", At: Millis(time.Minute), Wall: Millis(61 * time.Second), ControlEnd: Millis(time.Minute + 7*time.Millisecond)}
	if got := a.TickTime(&prev); !got.Equal(start.Add(61 * time.Second)) {
		t.Errorf("tick time %s", got)
	}
	if cs, ce, ok := a.ControlWindow(&prev); !ok || !ce.Equal(start.Add(-24*time.Hour+time.Minute+7*time.Millisecond)) || ce.Sub(cs) != time.Minute {
		t.Errorf("control window %s..%s (%v)", cs, ce, ok)
	}
	// An HTTP check queries no window; a tick without a time has none.
	if _, _, ok := a.Window(&AnalysisTick{Analyzer: "https[0]", Wall: Millis(time.Minute)}); ok {
		t.Error("an HTTP check has a window")
	}
	if _, _, ok := a.Window(&AnalysisTick{Analyzer: "metrics[0]"}); ok {
		t.Error("a tick without a time has a window")
	}
	if _, _, ok := a.Window(&AnalysisTick{Analyzer: "metrics[9]", Wall: Millis(time.Minute)}); ok {
		t.Error("a tick of an unknown analyzer has a window")
	}
}
