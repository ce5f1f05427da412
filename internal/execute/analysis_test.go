package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// constProvider answers every query with the same values.
type constProvider struct{ vals []float64 }

func (constProvider) Type() string { return "MEMORY" }

func (p constProvider) Query(_ context.Context, _ string, w provider.Window) ([]provider.Point, error) {
	out := make([]provider.Point, len(p.vals))
	for i, v := range p.vals {
		out[i] = provider.Point{Time: w.Start.Add(time.Duration(i) * time.Millisecond), Value: v}
	}
	return out, nil
}

func analysisApp(t *testing.T, duration time.Duration, strategy string) *config.App {
	max := 0.05
	m := config.TemplatableAnalysisMetrics{AnalysisMetrics: config.AnalysisMetrics{Strategy: strategy, Provider: "prom",
		Query: `sum(rate(errors{app="{{ .App.Name }}",namespace="{{ .K8s.Namespace }}"}[1m]))`, Expected: &config.AnalysisExpected{Max: &max},
		Interval: config.Duration(20 * time.Millisecond), FailureLimit: 1, Deviation: config.AnalysisDeviationEither}}
	return pipelineApp(t,
		k8s(config.StageK8sCanaryRollout),
		config.PipelineStage{ID: "analysis", Name: config.StageAnalysis, With: &config.AnalysisStageOptions{Duration: config.Duration(duration), Metrics: []config.TemplatableAnalysisMetrics{m}}},
		k8s(config.StageK8sPrimaryRollout))
}

func providers(vals ...float64) func(string) (provider.Provider, error) {
	return func(name string) (provider.Provider, error) {
		if name != "prom" {
			return nil, fmt.Errorf("not configured")
		}
		return constProvider{vals}, nil
	}
}

func TestAnalysisFailureRollsBack(t *testing.T) {
	app := analysisApp(t, time.Minute, config.AnalysisStrategyThreshold)
	d := newDeployment(app, planOf(app, true, nil))
	d.Analysis = AnalysisEnv{Providers: providers(0.01, 0.3), Namespace: "prod"}
	store, pf := &memStore{}, &fakePlatform{}
	e, events := newEngine(store, pf)
	err := e.Run(context.Background(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Status != state.StatusFailed || !f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if got := fmt.Sprint(store.statuses()); got != "[RUNNING ROLLING_BACK FAILED]" {
		t.Errorf("statuses %s", got)
	}
	if got := strings.Join(pf.ran, ","); got != "stage-0" {
		t.Errorf("ran %s: the primary rollout must not run after a failed analysis", got)
	}
	rec := store.current
	if got := stageStatuses(rec); got != "stage-0=SUCCEEDED analysis=FAILED stage-2=NOT_STARTED Rollback=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
	want := "stage analysis (ANALYSIS) failed: metrics[0] (THRESHOLD, provider prom): failed 2 times (failureLimit 1): "
	if !strings.HasPrefix(rec.Reason, want) || !strings.Contains(rec.Reason, "0.3") || !strings.HasSuffix(rec.Reason, "; rolled back") {
		t.Errorf("reason %q", rec.Reason)
	}
	a := rec.Stages[1].Analysis
	if a == nil || len(a.Ticks) != 2 || a.Verdict != state.VerdictFail || a.Analyzers[0].Failures != 2 {
		t.Fatalf("analysis record %+v", a)
	}
	if q := a.Analyzers[0].Query; q != `sum(rate(errors{app="web",namespace="prod"}[1m]))` {
		t.Errorf("query %q", q)
	}
	// Each tick was checkpointed while the stage ran.
	seen := map[int]bool{}
	for _, v := range store.versions {
		if s := v.Stages[1]; s.Status == state.StageRunning && s.Analysis != nil {
			seen[len(s.Analysis.Ticks)] = true
		}
	}
	if !seen[1] {
		t.Errorf("the first tick was not checkpointed (versions with %v ticks)", seen)
	}
	found := false
	for _, ev := range *events {
		if ev.StageID == "analysis" && ev.Warning && strings.HasPrefix(ev.Message, "metrics[0]: FAIL") {
			found = true
		}
	}
	if !found {
		t.Errorf("no tick event in %v", *events)
	}
}

func TestAnalysisPassesAndResumes(t *testing.T) {
	app := analysisApp(t, 10*time.Second, config.AnalysisStrategyThreshold)
	d := newDeployment(app, planOf(app, true, nil))
	d.Analysis = AnalysisEnv{Providers: providers(0.01)}
	// A killed run: the canary rolled out, 9.9s of the 10s analysis are done.
	d.Record.Stages[0].Status = state.StageSucceeded
	d.Record.Stages[1].Status = state.StageRunning
	d.Record.Stages[1].StartedAt = time.Now().Add(-time.Hour)
	d.Record.Stages[1].Analysis = &state.Analysis{StartedAt: time.Now().Add(-time.Hour), Elapsed: state.Millis(9900 * time.Millisecond),
		Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Kind: "METRICS", Passed: 495}}}
	store, pf := &memStore{}, &fakePlatform{}
	e, _ := newEngine(store, pf)
	start := time.Now()
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s: the resumed analysis only runs what remains", took)
	}
	rec := store.current
	if got := stageStatuses(rec); got != "stage-0=SUCCEEDED analysis=SUCCEEDED stage-2=SUCCEEDED Rollback=NOT_STARTED" {
		t.Errorf("stages %s", got)
	}
	a := rec.Stages[1].Analysis
	if a.Verdict != state.VerdictPass || a.Analyzers[0].Passed < 496 || a.Elapsed != a.Duration {
		t.Errorf("analysis %+v", a)
	}
}

func TestAnalysisPreviousIsLookedUpByStage(t *testing.T) {
	app := analysisApp(t, 70*time.Millisecond, config.AnalysisStrategyPrevious)
	d := newDeployment(app, planOf(app, false, nil))
	var asked []string
	d.Analysis = AnalysisEnv{Providers: providers(0.01), Previous: func(_ context.Context, id string) (*state.Analysis, error) {
		asked = append(asked, id)
		return nil, nil
	}}
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "analysis" {
		t.Errorf("previous asked for %v", asked)
	}
	if tk := store.current.Stages[1].Analysis.Ticks; len(tk) == 0 || !strings.Contains(tk[0].Reason, "no previous successful deployment") {
		t.Errorf("ticks %+v", tk)
	}
}

func TestAnalysisWithoutProvidersFailsClearly(t *testing.T) {
	app := analysisApp(t, time.Minute, config.AnalysisStrategyThreshold)
	d := newDeployment(app, planOf(app, false, nil))
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{})
	if err := e.Run(context.Background(), d); err == nil || !strings.Contains(store.current.Reason, "no analysis provider is configured: add it to analysisProviders in .pipe/config.yaml") {
		t.Fatalf("err %v, reason %q", err, store.current.Reason)
	}
}
