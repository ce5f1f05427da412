package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// A resumed analysis keeps the verdict history of the ticks before it.
func TestResumeKeepsTheHistory(t *testing.T) {
	prov := &memProvider{fn: constant(0.01)}
	o := &config.AnalysisStageOptions{Duration: ms(200), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 50, 1)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	h.r.Progress = &state.Analysis{StartedAt: time.Now().Add(-time.Second), Duration: state.Millis(200 * time.Millisecond), Elapsed: state.Millis(100 * time.Millisecond),
		Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Kind: KindMetrics, Strategy: "THRESHOLD", Passed: 1, Failed: 1, Failures: 1, History: "PF"}},
		Ticks: []state.AnalysisTick{{Analyzer: "metrics[0]", At: state.Millis(50 * time.Millisecond), Verdict: "PASS"},
			{Analyzer: "metrics[0]", At: state.Millis(100 * time.Millisecond), Verdict: "FAIL", Failures: 1}}}
	if err, _ := h.run(t); err != nil {
		t.Fatal(err)
	}
	z := h.r.Progress.Analyzers[0]
	if !strings.HasPrefix(z.History, "PF") || len(z.History) != z.Passed+z.Failed {
		t.Errorf("history %q for %d passed and %d failed ticks", z.History, z.Passed, z.Failed)
	}
}

// A tick in flight when the run was cancelled runs again when the analysis
// is resumed, although the elapsed time recorded is past it.
func TestResumeRunsTheTickInFlight(t *testing.T) {
	started := make(chan struct{}, 10)
	slow := &memProvider{fn: func(ctx context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
		return points(w, 0.01), nil
	}}
	o := &config.AnalysisStageOptions{Duration: config.Duration(10 * time.Second), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 100, 0)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": slow})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { <-started; time.Sleep(50 * time.Millisecond); cancel(errors.New("SIGTERM")) }()
	_ = h.r.Run(ctx)
	p := h.r.Progress
	if len(p.Ticks) != 0 {
		t.Fatalf("the cancelled tick was recorded: %+v", p.Ticks)
	}
	h2 := newHarness(t, o, map[string]provider.Provider{"prom": &memProvider{fn: constant(0.01)}})
	h2.r.Progress = p
	ctx2, cancel2 := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel2()
	_ = h2.r.Run(ctx2)
	if tk := h2.r.Progress.Ticks; len(tk) == 0 || tk[0].At.Std() != 100*time.Millisecond {
		t.Errorf("the tick at 100ms in flight when cancelled did not run on resume: %+v", tk)
	}
}

// An HTTP check's URL is recorded without its query string (tokens go
// there) and a URL that does not parse is never echoed.
func TestHTTPCheckURLIsNotRecordedWithItsQuery(t *testing.T) {
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Hour), HTTPS: []config.TemplatableAnalysisHTTP{{AnalysisHTTP: config.AnalysisHTTP{
		URL: "https://svc.example.com/health?token=s3cr3t-token", ExpectedCode: 200, Interval: config.Duration(time.Hour / 2)}}}}
	r := &Runner{Options: o, Progress: &state.Analysis{}}
	zs, err := r.build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if q := zs[0].rec.Query; strings.Contains(q, "s3cr3t") || !strings.Contains(q, "svc.example.com/health") {
		t.Errorf("recorded %q", q)
	}
	o.HTTPS[0].URL = "http://user:p%zzword@svc.example.com:bad/health"
	if _, err := r.build(context.Background()); err != nil && strings.Contains(err.Error(), "p%zzword") {
		t.Errorf("the password is in the error: %v", err)
	}
}

// A healthy baseline never served a 500, so its error series does not
// exist and the baseline query returns nothing: a canary with errors must
// fail by the zero-baseline rule, even with skipOnNoData.
func TestAbsentBaselineSeriesIsZero(t *testing.T) {
	prov := &memProvider{fn: func(_ context.Context, q string, w provider.Window) ([]provider.Point, error) {
		if strings.Contains(q, `variant="canary"`) {
			return points(w, 0.3, 0.5, 0.4, 0.6, 0.5), nil
		}
		return nil, provider.ErrNoData
	}}
	m := canaryMetric(config.AnalysisStrategyCanaryBaseline, 0)
	m.SkipOnNoData = true
	o := &config.AnalysisStageOptions{Duration: ms(110), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "no series, read as 0") {
		t.Errorf("a canary erring at every point against a baseline without errors: %v", err)
	}
}
