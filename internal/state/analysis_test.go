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
	if m.Passed+m.Failed != MaxAnalysisTicks+50 || m.Failed != 25 || m.Dropped != 50 {
		t.Errorf("counts %+v", m)
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
	if h := a.Analyzer("https[0]"); h.Skipped != 5 || h.Dropped != 0 {
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
		Ticks: []AnalysisTick{{Time: start.Add(time.Minute), Analyzer: "metrics[0]", At: Millis(time.Minute), Verdict: VerdictFail,
			Values:   &AnalysisValues{N: 3, Min: 0, Max: Float(math.Inf(1)), Mean: Float(math.NaN()), Median: 1, Last: Float(math.Inf(-1))},
			PValue:   0.004,
			Failures: 1}}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"durationMs":600000`, `"elapsedMs":90500`, `"intervalMs":60000`, `"max":"+Inf"`, `"mean":"NaN"`, `"last":"-Inf"`, `"pValue":0.004`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	if strings.Contains(s, "controlStart") || strings.Contains(s, `"reason"`) {
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
