package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

func analysisRecord() *state.Record {
	rec := sampleRecord()
	t0 := rec.Stages[1].StartedAt
	reason := "metrics[0] error-rate (CANARY_BASELINE, provider prom): failed 2 times (failureLimit 1): canary is significantly higher than baseline: Mann-Whitney U p=0.004 < 0.05; canary median 0.31 (n=12) vs baseline median 0.01 (n=12)"
	rec.Stages[1].Reason, rec.Stages[1].Metadata = reason, nil
	rec.Reason = "stage analysis (ANALYSIS) failed: " + reason + "; rolled back"
	rec.Stages[1].Analysis = &state.Analysis{StartedAt: t0, Duration: state.Millis(10 * time.Minute), Elapsed: state.Millis(3 * time.Minute),
		Verdict: state.VerdictFail, Reason: reason,
		Analyzers: []state.AnalysisAnalyzer{
			{Name: "metrics[0]", Label: "error-rate", Kind: "METRICS", Strategy: "CANARY_BASELINE", Provider: "prom",
				Query: `sum(rate(http_requests_total{code=~"5..|429",variant="canary"}[1m]))`, FailureLimit: 1, Passed: 1, Failed: 2, Failures: 2},
			{Name: "metrics[1]", Kind: "METRICS", Strategy: "THRESHOLD", Provider: "prom", Query: "up < 1", Expected: "x <= 0.05", Passed: 3},
			{Name: "https[0]", Label: "health", Kind: "HTTP", Query: "GET https://web.example.com/healthz", Expected: "code 200", Passed: 2, Skipped: 1},
			{Name: "https[1]", Kind: "HTTP", Query: "GET https://web.example.com/ready"},
		},
		Ticks: []state.AnalysisTick{
			{Analyzer: "metrics[1]", At: state.Millis(time.Minute), Verdict: state.VerdictPass, Reason: "all 4 points within x <= 0.05",
				Values: &state.AnalysisValues{N: 4, Min: 0, Max: 0.02, Median: 0.01, Last: 0.02}},
			{Analyzer: "https[0]", At: state.Millis(time.Minute), Verdict: state.VerdictPass, Code: 200, Reason: "status 200 in 12ms"},
			{Analyzer: "metrics[0]", At: state.Millis(3 * time.Minute), Verdict: state.VerdictFail, Failures: 2, PValue: 0.004,
				Reason: "canary is significantly higher than baseline: Mann-Whitney U p=0.004 < 0.05",
				Values: &state.AnalysisValues{N: 12, Min: 0.2, Max: 0.4, Median: 0.31, Last: 0.3}, Control: &state.AnalysisValues{N: 12, Max: 0.02, Median: 0.01, Last: 0.01, Mean: state.Float(math.NaN())}},
		}}
	return rec
}

func TestResultCommentShowsTheAnalysis(t *testing.T) {
	rec := analysisRecord()
	body := ResultComment("", ghCtx, rec, rec.UpdatedAt)
	golden(t, "result_analysis.md", body)
	for _, want := range []string{
		"**Analysis** `analysis`: ❌ failed (3m0s of 10m0s)",
		"| `ANALYSIS` | ❌ FAILED | 5m0s | metrics[0] error-rate (CANARY_BASELINE, provider prom): failed 2 times (failureLimit 1): canary is significantly higher than baseline",
		"| `metrics[0]` error-rate `sum(rate(http_requests_total{code=~\"5..\\|429\",variant=\"canary\"}[1m]))` | CANARY_BASELINE (prom) | 1 ✅ · 2 ❌ (2 of failureLimit 1) | median 0.31 (n=12, max 0.4) vs baseline median 0.01 (n=12, max 0.02) (p=0.004) | ❌ FAIL: canary is significantly higher",
		"| `metrics[1]` `up < 1` | THRESHOLD (prom): x &lt;= 0.05 | 3 ✅ | 0 to 0.02 (n=4, last 0.02) | ✅ PASS: all 4 points within x &lt;= 0.05 |",
		"| `https[0]` health `GET https://web.example.com/healthz` | HTTP: code 200 | 2 ✅ · 1 skipped | status 200 | ✅ PASS: status 200 in 12ms |",
		"| `https[1]` `GET https://web.example.com/ready` | HTTP | none |  | ▫️ no check yet |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	checkBalanced(t, "analysis", body)
}

func TestResultCommentWithoutAnalysisIsUnchanged(t *testing.T) {
	rec := sampleRecord()
	rec.Stages[1].Analysis = &state.Analysis{} // started, no analyzer yet
	if body := ResultComment("", ghCtx, rec, rec.UpdatedAt); strings.Contains(body, "**Analysis**") {
		t.Errorf("an analysis without checks is rendered:\n%s", body)
	}
}
