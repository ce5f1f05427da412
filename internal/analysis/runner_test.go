package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// memProvider is an in-memory provider.Provider: fn decides the answer of
// each query; every query is logged.
type memProvider struct {
	mu      sync.Mutex
	fn      func(ctx context.Context, query string, w provider.Window) ([]provider.Point, error)
	queries []string
	windows []provider.Window
}

func (p *memProvider) Type() string { return "MEMORY" }

func (p *memProvider) Query(ctx context.Context, q string, w provider.Window) ([]provider.Point, error) {
	p.mu.Lock()
	p.queries = append(p.queries, q)
	p.windows = append(p.windows, w)
	p.mu.Unlock()
	return p.fn(ctx, q, w)
}

func (p *memProvider) log() ([]string, []provider.Window) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.queries...), append([]provider.Window(nil), p.windows...)
}

func points(w provider.Window, vals ...float64) []provider.Point {
	out := make([]provider.Point, len(vals))
	for i, v := range vals {
		out[i] = provider.Point{Time: w.Start.Add(time.Duration(i) * time.Millisecond), Value: v}
	}
	return out
}

func constant(vals ...float64) func(context.Context, string, provider.Window) ([]provider.Point, error) {
	return func(_ context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		return points(w, vals...), nil
	}
}

func ptr(f float64) *float64 { return &f }

func ms(n int) config.Duration { return config.Duration(time.Duration(n) * time.Millisecond) }

// harness runs a Runner and collects what it reports.
type harness struct {
	r           *Runner
	mu          sync.Mutex
	events      []string
	checkpoints int
	lastJSON    []byte
}

func newHarness(t *testing.T, o *config.AnalysisStageOptions, providers map[string]provider.Provider) *harness {
	t.Helper()
	h := &harness{}
	h.r = &Runner{
		Options:   o,
		App:       "web",
		Namespace: "prod",
		Progress:  &state.Analysis{},
		Providers: func(name string) (provider.Provider, error) {
			if p, ok := providers[name]; ok {
				return p, nil
			}
			return nil, fmt.Errorf("not configured in .pipe/config.yaml")
		},
		Emitf: func(f string, a ...any) {
			h.mu.Lock()
			h.events = append(h.events, fmt.Sprintf(f, a...))
			h.mu.Unlock()
		},
		Warnf: func(f string, a ...any) {
			h.mu.Lock()
			h.events = append(h.events, "WARN "+fmt.Sprintf(f, a...))
			h.mu.Unlock()
		},
	}
	h.r.Checkpoint = func() error {
		// Called with the runner's lock held: the record must encode.
		b, err := json.Marshal(h.r.Progress)
		if err != nil {
			t.Errorf("the progress does not encode: %v", err)
		}
		h.checkpoints++
		h.lastJSON = b
		return nil
	}
	return h
}

func (h *harness) run(t *testing.T) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	err := h.r.Run(context.Background())
	took := time.Since(start)
	t.Logf("error: %v\nevents:\n%s", err, h.eventsText())
	return err, took
}

func (h *harness) eventsText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.events, "\n")
}

func ticksOf(p *state.Analysis, name string) []state.AnalysisTick {
	var out []state.AnalysisTick
	for _, t := range p.Ticks {
		if t.Analyzer == name {
			out = append(out, t)
		}
	}
	return out
}

func threshold(max float64, interval, limit int) config.TemplatableAnalysisMetrics {
	return config.TemplatableAnalysisMetrics{AnalysisMetrics: config.AnalysisMetrics{
		Strategy: config.AnalysisStrategyThreshold, Provider: "prom", Query: `sum(rate(errors{app="{{ .App.Name }}"}[1m]))`,
		Expected: &config.AnalysisExpected{Max: ptr(max)}, Interval: ms(interval), FailureLimit: limit}}
}

func TestThresholdPasses(t *testing.T) {
	prov := &memProvider{fn: constant(0.01, 0.02, 0.03)}
	o := &config.AnalysisStageOptions{Duration: ms(130), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 0)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	err, _ := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	p := h.r.Progress
	ticks := ticksOf(p, "metrics[0]")
	if len(ticks) < 1 || len(ticks) > 6 {
		t.Fatalf("%d ticks, want up to 6 (every 20ms for 130ms)", len(ticks))
	}
	if p.Verdict != state.VerdictPass || p.Elapsed != p.Duration || p.Analyzers[0].Passed != len(ticks) {
		t.Errorf("verdict %s, elapsed %v of %v, passed %d", p.Verdict, p.Elapsed.Std(), p.Duration.Std(), p.Analyzers[0].Passed)
	}
	for i, tk := range ticks {
		if tk.Verdict != state.VerdictPass || tk.Values == nil || tk.Values.N != 3 || float64(tk.Values.Max) != 0.03 {
			t.Errorf("tick %d: %+v", i, tk)
		}
		start, end, ok := p.Window(&tk)
		if got := end.Sub(start); !ok || got != 20*time.Millisecond {
			t.Errorf("tick %d window %s (%v), want the interval", i, got, ok)
		}
		if w := tk.Wall.Std(); w < tk.At.Std() || !end.Equal(p.StartedAt.Add(w)) || p.StartedAt.Truncate(time.Millisecond) != p.StartedAt {
			t.Errorf("tick %d ran %s after the start %s (at %s), window end %s", i, w, p.StartedAt, tk.At.Std(), end)
		}
		// Ticks are one interval apart (a stalled machine may skip some).
		if at := tk.At.Std(); at%(20*time.Millisecond) != 0 || at <= 0 || at >= 130*time.Millisecond || (i > 0 && at <= ticks[i-1].At.Std()) {
			t.Errorf("tick %d at %s", i, at)
		}
	}
	if q := p.Analyzers[0].Query; q != `sum(rate(errors{app="web"}[1m]))` {
		t.Errorf("rendered query %q", q)
	}
	if h.checkpoints < len(ticks)+1 {
		t.Errorf("%d checkpoints for %d ticks: every tick is checkpointed", h.checkpoints, len(ticks))
	}
	if ev := h.eventsText(); !strings.Contains(ev, "metrics[0]: PASS") || !strings.Contains(ev, "the analysis passed") {
		t.Errorf("events:\n%s", ev)
	}
}

func TestThresholdFailsAfterFailureLimit(t *testing.T) {
	prov := &memProvider{fn: constant(0.01, 0.31)}
	m := threshold(0.05, 20, 2)
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	err, took := h.run(t)
	if err == nil {
		t.Fatal("no error")
	}
	if took > 20*time.Second {
		t.Errorf("took %s: the stage must fail as soon as the limit is exceeded", took)
	}
	for _, want := range []string{"metrics[0] (THRESHOLD, provider prom): failed 3 times (failureLimit 2)", "0.31", "0.05"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	p := h.r.Progress
	ticks := ticksOf(p, "metrics[0]")
	if len(ticks) != 3 {
		t.Fatalf("%d ticks, want 3", len(ticks))
	}
	for i, tk := range ticks {
		if tk.Verdict != state.VerdictFail || tk.Failures != i+1 {
			t.Errorf("tick %d: %s, failures %d", i, tk.Verdict, tk.Failures)
		}
	}
	if p.Verdict != state.VerdictFail || p.Reason != err.Error() || p.Analyzers[0].Failed != 3 || p.Analyzers[0].Failures != 3 {
		t.Errorf("record: %s %q, analyzer %+v", p.Verdict, p.Reason, p.Analyzers[0])
	}
	if !strings.Contains(h.eventsText(), "WARN metrics[0]: FAIL") {
		t.Errorf("events:\n%s", h.eventsText())
	}
}

func TestFailuresWithinTheLimitPass(t *testing.T) {
	var n atomic.Int32
	prov := &memProvider{fn: func(_ context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		if n.Add(1) <= 2 {
			return points(w, 1), nil // the first two ticks fail
		}
		return points(w, 0), nil
	}}
	o := &config.AnalysisStageOptions{Duration: ms(150), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 2)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	if err, _ := h.run(t); err != nil {
		t.Fatal(err)
	}
	if z := h.r.Progress.Analyzers[0]; z.Failed != 2 || z.Failures != 2 || z.Passed == 0 {
		t.Errorf("analyzer %+v", z)
	}
}

func TestProviderErrorCountsAsFailure(t *testing.T) {
	prov := &memProvider{fn: func(context.Context, string, provider.Window) ([]provider.Point, error) {
		return nil, errors.New("query prometheus: dial tcp 10.0.0.1:9090: connection refused")
	}}
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 0)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "failed 1 time (failureLimit 0): error: query prometheus: dial tcp 10.0.0.1:9090: connection refused") {
		t.Fatalf("err = %v", err)
	}
	if tk := ticksOf(h.r.Progress, "metrics[0]"); len(tk) != 1 || tk[0].Verdict != state.VerdictError || h.r.Progress.Analyzers[0].Errors != 1 {
		t.Errorf("ticks %+v", tk)
	}
}

func TestNoData(t *testing.T) {
	noData := func(context.Context, string, provider.Window) ([]provider.Point, error) {
		return nil, fmt.Errorf("prometheus: %w", provider.ErrNoData)
	}
	empty := func(context.Context, string, provider.Window) ([]provider.Point, error) { return nil, nil }
	for name, fn := range map[string]func(context.Context, string, provider.Window) ([]provider.Point, error){"ErrNoData": noData, "empty": empty} {
		t.Run(name+"/skipOnNoData", func(t *testing.T) {
			m := threshold(0.05, 20, 0)
			m.SkipOnNoData = true
			o := &config.AnalysisStageOptions{Duration: ms(110), Metrics: []config.TemplatableAnalysisMetrics{m}}
			h := newHarness(t, o, map[string]provider.Provider{"prom": &memProvider{fn: fn}})
			if err, _ := h.run(t); err != nil {
				t.Fatal(err)
			}
			ticks := ticksOf(h.r.Progress, "metrics[0]")
			if len(ticks) == 0 {
				t.Fatal("no tick recorded")
			}
			for _, tk := range ticks {
				if tk.Verdict != state.VerdictSkipped || !strings.HasPrefix(tk.Reason, "skipped: no data") || tk.Failures != 0 {
					t.Errorf("tick %+v", tk)
				}
			}
		})
		t.Run(name+"/fails", func(t *testing.T) {
			o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 0)}}
			h := newHarness(t, o, map[string]provider.Provider{"prom": &memProvider{fn: fn}})
			err, _ := h.run(t)
			if err == nil || !strings.Contains(err.Error(), "no data") || !strings.Contains(err.Error(), "skipOnNoData") {
				t.Fatalf("err = %v", err)
			}
			if tk := ticksOf(h.r.Progress, "metrics[0]"); len(tk) != 1 || tk[0].Verdict != state.VerdictNoData {
				t.Errorf("ticks %+v", tk)
			}
		})
	}
}

func TestDeadlineAtTheEndIsIgnored(t *testing.T) {
	prov := &memProvider{fn: func(ctx context.Context, _ string, _ provider.Window) ([]provider.Point, error) {
		<-ctx.Done() // a slow backend: the analysis ends while it runs
		return nil, fmt.Errorf("query: %w", ctx.Err())
	}}
	m := threshold(0.05, 60, 0)
	m.Timeout = config.Duration(time.Minute)
	o := &config.AnalysisStageOptions{Duration: ms(100), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	if err, _ := h.run(t); err != nil {
		t.Fatalf("a check cut by the end of the analysis must not fail it: %v", err)
	}
	if n := len(h.r.Progress.Ticks); n != 0 {
		t.Errorf("%d ticks recorded: the cut check is ignored", n)
	}
	if !strings.Contains(h.eventsText(), "the analysis ended while the check ran") {
		t.Errorf("events:\n%s", h.eventsText())
	}
}

func TestQueryTimeoutIsAFailure(t *testing.T) {
	prov := &memProvider{fn: func(ctx context.Context, _ string, _ provider.Window) ([]provider.Point, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("query: %w", ctx.Err())
	}}
	m := threshold(0.05, 20, 0)
	m.Timeout = ms(10)
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "no answer within 10ms (timeout)") {
		t.Fatalf("err = %v", err)
	}
}

func TestResumeContinuesWithTheRemainingDuration(t *testing.T) {
	prov := &memProvider{fn: constant(0.01)}
	o := &config.AnalysisStageOptions{Duration: config.Duration(10 * time.Second), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 50, 1)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	started := time.Now().Add(-time.Hour)
	// A killed run checked for 9.9s of 10s and saw one failure.
	h.r.Progress = &state.Analysis{StartedAt: started, Duration: state.Millis(10 * time.Second), Elapsed: state.Millis(9900 * time.Millisecond),
		Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Kind: KindMetrics, Strategy: "THRESHOLD", Failed: 1, Passed: 3, Failures: 1}},
		Ticks: []state.AnalysisTick{{Analyzer: "metrics[0]", At: state.Millis(9850 * time.Millisecond), Verdict: state.VerdictFail,
			Reason: "value 0.9 outside x <= 0.05", Failures: 1}}}
	err, took := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if took > 5*time.Second {
		t.Errorf("took %s: a resumed analysis runs only the remaining 100ms", took)
	}
	p := h.r.Progress
	if !p.StartedAt.Equal(started) || p.Verdict != state.VerdictPass {
		t.Errorf("startedAt %s, verdict %s", p.StartedAt, p.Verdict)
	}
	ticks := ticksOf(p, "metrics[0]")
	// The tick after the last recorded one (9.85s) is at 9.9s: it was in
	// flight when the run was killed (Elapsed already said 9.9s).
	if len(ticks) < 2 || ticks[1].At.Std() != 9900*time.Millisecond {
		t.Fatalf("ticks %+v: the next tick is the one after the last recorded", ticks)
	}
	if z := p.Analyzers[0]; z.Failures != 1 || z.Failed != 1 || z.Passed != 3+len(ticks)-1 || ticks[1].Failures != 1 {
		t.Errorf("counts not carried over: %+v, tick %+v", z, ticks[1])
	}
	if !strings.Contains(h.eventsText(), "resuming the analysis: 10s of 10s done, failures so far: metrics[0] 1 of 1 tolerated") {
		t.Errorf("events:\n%s", h.eventsText())
	}
}

func TestResumeKeepsTheFailureCount(t *testing.T) {
	prov := &memProvider{fn: constant(0.5)}
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 1)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	h.r.Progress = &state.Analysis{StartedAt: time.Now().Add(-time.Minute), Elapsed: state.Millis(30 * time.Second),
		Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Kind: KindMetrics, Failed: 1, Failures: 1}},
		Ticks:     []state.AnalysisTick{{Analyzer: "metrics[0]", At: state.Millis(30 * time.Second), Verdict: state.VerdictFail, Failures: 1}}}
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "failed 2 times (failureLimit 1)") {
		t.Fatalf("err = %v: the failure before the kill counts", err)
	}
	// Already over the limit when resumed: fails at once.
	h2 := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	h2.r.Progress = h.r.Progress.Clone()
	err, _ = h2.run(t)
	if err == nil || !strings.Contains(err.Error(), "failed 2 times") {
		t.Fatalf("err = %v", err)
	}
	if len(ticksOf(h2.r.Progress, "metrics[0]")) != 2 {
		t.Errorf("no new tick expected: %+v", h2.r.Progress.Ticks)
	}
}

func TestOneFailingAnalyzerStopsTheOthers(t *testing.T) {
	slowStarted, cancelled := make(chan struct{}), make(chan struct{})
	slow := &memProvider{fn: func(ctx context.Context, _ string, _ provider.Window) ([]provider.Point, error) {
		close(slowStarted)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}}
	failing := &memProvider{fn: func(ctx context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		select { // fail once the slow one is querying
		case <-slowStarted:
		case <-time.After(10 * time.Second):
		}
		return points(w, 1), nil
	}}
	ms0 := threshold(0.05, 20, 0)
	ms1 := threshold(0.05, 20, 0)
	ms1.Provider = "slow"
	ms1.Timeout = config.Duration(time.Hour)
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Hour), Metrics: []config.TemplatableAnalysisMetrics{ms0, ms1}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": failing, "slow": slow})
	err, took := h.run(t)
	if err == nil || !strings.HasPrefix(err.Error(), "metrics[0]") {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-cancelled:
	default:
		t.Error("the other analyzer's query was not cancelled")
	}
	if took > 30*time.Second {
		t.Errorf("took %s", took)
	}
	if n := len(ticksOf(h.r.Progress, "metrics[1]")); n != 0 {
		t.Errorf("the cancelled query was recorded (%d ticks)", n)
	}
}

func TestNothingToCheckWaitsTheDuration(t *testing.T) {
	h := newHarness(t, &config.AnalysisStageOptions{Duration: ms(80)}, nil)
	err, took := h.run(t)
	if err != nil || took < 80*time.Millisecond {
		t.Fatalf("err %v after %s: an analysis without checks waits its duration", err, took)
	}
	if h.r.Progress.Verdict != state.VerdictPass || !strings.Contains(h.eventsText(), "nothing is checked") {
		t.Errorf("verdict %q, events:\n%s", h.r.Progress.Verdict, h.eventsText())
	}
}

func TestCancelStopsWithTheCause(t *testing.T) {
	prov := &memProvider{fn: constant(0)}
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Hour), Metrics: []config.TemplatableAnalysisMetrics{threshold(0.05, 20, 0)}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(70 * time.Millisecond); cancel(errors.New("SIGTERM")) }()
	err := h.r.Run(ctx)
	if err == nil || err.Error() != "SIGTERM" {
		t.Fatalf("err = %v", err)
	}
	p := h.r.Progress
	if p.Verdict != "" || p.Elapsed.Std() <= 0 || p.Elapsed.Std() >= time.Hour {
		t.Errorf("verdict %q, elapsed %s: the progress is kept for a resume", p.Verdict, p.Elapsed.Std())
	}
}

// variantProvider answers the canary query with canary and any other with control.
func variantProvider(canary, control []float64) *memProvider {
	return &memProvider{fn: func(_ context.Context, q string, w provider.Window) ([]provider.Point, error) {
		if strings.Contains(q, `variant="canary"`) {
			return points(w, canary...), nil
		}
		return points(w, control...), nil
	}}
}

func canaryMetric(strategy string, limit int) config.TemplatableAnalysisMetrics {
	return config.TemplatableAnalysisMetrics{AnalysisMetrics: config.AnalysisMetrics{
		Strategy: strategy, Provider: "prom", Deviation: config.AnalysisDeviationHigh,
		Query:      `sum(rate(errors{app="{{ .App.Name }}",variant="{{ .Variant.Name }}",pod=~"{{ .VariantCustomArgs.pod }}"}[1m]))`,
		CanaryArgs: map[string]string{"pod": "web-canary-.*"}, BaselineArgs: map[string]string{"pod": "web-baseline-.*"},
		PrimaryArgs: map[string]string{"pod": "web-[a-f0-9]+-.*"}, Interval: ms(20), FailureLimit: limit}}
}

func TestCanaryBaseline(t *testing.T) {
	same := []float64{0.01, 0.02, 0.015, 0.01, 0.012, 0.02, 0.011, 0.018, 0.016, 0.013}
	t.Run("pass", func(t *testing.T) {
		o := &config.AnalysisStageOptions{Duration: ms(110), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryBaseline, 0)}}
		prov := variantProvider(same, same)
		h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
		if err, _ := h.run(t); err != nil {
			t.Fatal(err)
		}
		z := h.r.Progress.Analyzers[0]
		if z.Query != `sum(rate(errors{app="web",variant="canary",pod=~"web-canary-.*"}[1m]))` ||
			z.ControlQuery != `sum(rate(errors{app="web",variant="baseline",pod=~"web-baseline-.*"}[1m]))` {
			t.Errorf("queries %q / %q", z.Query, z.ControlQuery)
		}
		tk := ticksOf(h.r.Progress, "metrics[0]")
		if len(tk) == 0 || tk[0].Verdict != state.VerdictPass || tk[0].Control == nil || tk[0].Control.N != len(same) {
			t.Errorf("ticks %+v", tk)
		}
		qs, ws := prov.log()
		if len(qs) < 2 || ws[0] != ws[1] {
			t.Errorf("canary and baseline must be queried over the same window: %v", ws)
		}
	})
	t.Run("fail", func(t *testing.T) {
		canary := []float64{0.31, 0.29, 0.33, 0.3, 0.32, 0.28, 0.31, 0.3, 0.34, 0.29}
		control := []float64{0.01, 0.012, 0.009, 0.011, 0.01, 0.013, 0.008, 0.01, 0.011, 0.012}
		o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryBaseline, 1)}}
		h := newHarness(t, o, map[string]provider.Provider{"prom": variantProvider(canary, control)})
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "metrics[0] (CANARY_BASELINE, provider prom): failed 2 times (failureLimit 1): ") ||
			!strings.Contains(err.Error(), "baseline") {
			t.Fatalf("err = %v", err)
		}
		tk := ticksOf(h.r.Progress, "metrics[0]")
		if tk[0].Verdict != state.VerdictFail || tk[0].PValue <= 0 || tk[0].PValue >= 0.05 {
			t.Errorf("tick %+v: a Mann-Whitney p-value below 0.05 is recorded", tk[0])
		}
	})
	t.Run("all-zero baseline", func(t *testing.T) {
		canary := []float64{0, 0.2, 0, 0.4, 0.3, 0.1, 0.2, 0.5, 0.2, 0.3}
		zeros := make([]float64, 10)
		o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryBaseline, 0)}}
		h := newHarness(t, o, map[string]provider.Provider{"prom": variantProvider(canary, zeros)})
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "baseline") {
			t.Fatalf("a canary erroring against an error-free baseline must fail: %v", err)
		}
		// Both at zero: no deviation.
		o2 := &config.AnalysisStageOptions{Duration: ms(90), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryBaseline, 0)}}
		h2 := newHarness(t, o2, map[string]provider.Provider{"prom": variantProvider(zeros, zeros)})
		if err, _ := h2.run(t); err != nil {
			t.Fatalf("zero against zero: %v", err)
		}
	})
	t.Run("primary", func(t *testing.T) {
		o := &config.AnalysisStageOptions{Duration: ms(90), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryPrimary, 0)}}
		h := newHarness(t, o, map[string]provider.Provider{"prom": variantProvider(same, same)})
		if err, _ := h.run(t); err != nil {
			t.Fatal(err)
		}
		if q := h.r.Progress.Analyzers[0].ControlQuery; !strings.Contains(q, `variant="primary",pod=~"web-[a-f0-9]+-.*"`) {
			t.Errorf("primary query %q", q)
		}
	})
	t.Run("baseline without data", func(t *testing.T) {
		o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{canaryMetric(config.AnalysisStrategyCanaryBaseline, 0)}}
		h := newHarness(t, o, map[string]provider.Provider{"prom": variantProvider(same, nil)})
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "the baseline query returned no data") {
			t.Fatalf("err = %v", err)
		}
	})
}

func previousMetric() config.TemplatableAnalysisMetrics {
	return config.TemplatableAnalysisMetrics{AnalysisMetrics: config.AnalysisMetrics{
		Strategy: config.AnalysisStrategyPrevious, Provider: "prom", Deviation: config.AnalysisDeviationHigh,
		Query: `histogram_quantile(0.99, latency{app="{{ .App.Name }}"})`, Interval: ms(20)}}
}

func TestPreviousWithoutAPreviousDeploymentPasses(t *testing.T) {
	prov := &memProvider{fn: constant(1)}
	o := &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{previousMetric()}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	calls := 0
	h.r.Previous = func(context.Context) (*state.Analysis, error) { calls++; return nil, nil }
	if err, _ := h.run(t); err != nil {
		t.Fatal(err)
	}
	tk := ticksOf(h.r.Progress, "metrics[0]")
	if calls != 1 || len(tk) == 0 || tk[0].Verdict != state.VerdictPass || tk[0].Reason != NoPrevious {
		t.Errorf("previous looked up %d times, ticks %+v", calls, tk)
	}
}

func TestPreviousComparesTheSameRelativeWindow(t *testing.T) {
	prevStart := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	recorded := provider.Window{Start: prevStart.Add(3 * time.Millisecond), End: prevStart.Add(23 * time.Millisecond)}
	prev := &state.Analysis{StartedAt: prevStart,
		Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Interval: state.Millis(20 * time.Millisecond)}},
		Ticks: []state.AnalysisTick{
			{Analyzer: "metrics[0]", At: state.Millis(20 * time.Millisecond), Wall: state.Millis(23 * time.Millisecond), Verdict: state.VerdictPass}}}
	old := []float64{0.1, 0.11, 0.09, 0.1, 0.12, 0.1, 0.11, 0.1, 0.09, 0.1}
	slow := []float64{0.9, 0.95, 0.91, 0.93, 0.9, 0.92, 0.94, 0.9, 0.96, 0.91}
	prov := &memProvider{fn: func(_ context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		if w.End.Before(time.Now().Add(-time.Hour)) {
			return points(w, old...), nil
		}
		return points(w, slow...), nil
	}}
	m := previousMetric()
	m.FailureLimit = 1
	o := &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
	h.r.Previous = func(context.Context) (*state.Analysis, error) { return prev, nil }
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "metrics[0] (PREVIOUS, provider prom): failed 2 times (failureLimit 1)") ||
		!strings.Contains(err.Error(), "previous deployment") {
		t.Fatalf("err = %v", err)
	}
	tk := ticksOf(h.r.Progress, "metrics[0]")
	if len(tk) != 2 {
		t.Fatalf("ticks %+v", tk)
	}
	p := h.r.Progress
	if !p.PreviousStartedAt.Equal(prevStart) {
		t.Errorf("previousStartedAt %s, want %s", p.PreviousStartedAt, prevStart)
	}
	// The first tick (at 20ms) reuses the window the previous analysis recorded.
	if cs, ce, ok := p.ControlWindow(&tk[0]); !ok || !cs.Equal(recorded.Start) || !ce.Equal(recorded.End) {
		t.Errorf("tick 1 compared with %s..%s, want the recorded %s..%s", cs, ce, recorded.Start, recorded.End)
	}
	// The second (at 40ms) is the previous start + [20ms, 40ms].
	if cs, ce, ok := p.ControlWindow(&tk[1]); !ok || !cs.Equal(prevStart.Add(20*time.Millisecond)) || !ce.Equal(prevStart.Add(40*time.Millisecond)) {
		t.Errorf("tick 2 compared with %s..%s", cs.Sub(prevStart), ce.Sub(prevStart))
	}
	if tk[0].Values == nil || tk[0].Control == nil || float64(tk[0].Control.Median) != 0.1 {
		t.Errorf("values %+v control %+v", tk[0].Values, tk[0].Control)
	}
}

func TestPreviousLookupError(t *testing.T) {
	o := &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{previousMetric()}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": &memProvider{fn: constant(1)}})
	h.r.Previous = func(context.Context) (*state.Analysis, error) {
		return nil, errors.New("fetch refs/notes/pipe: timeout")
	}
	err, _ := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "last successful deployment (for the PREVIOUS strategy): fetch refs/notes/pipe: timeout") {
		t.Fatalf("err = %v", err)
	}
}

func TestTemplates(t *testing.T) {
	spec := &config.AnalysisTemplateSpec{
		Metrics: map[string]config.AnalysisMetrics{
			"error-rate": {Strategy: config.AnalysisStrategyThreshold, Provider: "prom", Interval: ms(20),
				Query:    `sum(rate(errors{app="{{ .App.Name }}",ns="{{ .K8s.Namespace }}",route="{{ .AppCustomArgs.route }}"}[1m]))`,
				Expected: &config.AnalysisExpected{Max: ptr(0.05)}},
		},
		HTTPS: map[string]config.AnalysisHTTP{
			"health": {URL: "http://{{ .AppCustomArgs.host }}/healthz", Method: "GET", ExpectedCode: 200, Interval: ms(20),
				Headers: []config.AnalysisHTTPHeader{{Key: "X-App", Value: "{{ .App.Name }}"}}},
		},
	}
	ref := func(name string, args map[string]string) config.TemplatableAnalysisMetrics {
		return config.TemplatableAnalysisMetrics{Template: config.AnalysisTemplateRef{Name: name, AppArgs: args}}
	}
	t.Run("rendered", func(t *testing.T) {
		prov := &memProvider{fn: constant(0)}
		o := &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{ref("error-rate", map[string]string{"route": "/api"})}}
		h := newHarness(t, o, map[string]provider.Provider{"prom": prov})
		h.r.Templates = spec
		if err, _ := h.run(t); err != nil {
			t.Fatal(err)
		}
		z := h.r.Progress.Analyzers[0]
		if z.Label != "error-rate" || z.Query != `sum(rate(errors{app="web",ns="prod",route="/api"}[1m]))` {
			t.Errorf("analyzer %+v", z)
		}
		if qs, _ := prov.log(); len(qs) == 0 || qs[0] != z.Query {
			t.Errorf("queried %v", qs)
		}
		if !strings.Contains(h.eventsText(), "metrics[0] error-rate: PASS") {
			t.Errorf("events:\n%s", h.eventsText())
		}
	})
	cases := []struct {
		name string
		o    *config.AnalysisStageOptions
		spec *config.AnalysisTemplateSpec
		want []string
	}{
		{"missing key", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{threshold(1, 20, 0), ref("error-rate", nil)}}, spec,
			[]string{`metrics[1] (template "error-rate" of the AnalysisTemplate): render the query`, `map has no entry for key "route"`, "template.appArgs"}},
		{"unknown template", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{ref("latency", nil)}}, spec,
			[]string{`with.metrics[0] refers to analysis template "latency"`, "it defines: error-rate"}},
		{"no AnalysisTemplate", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{ref("error-rate", nil)}}, nil,
			[]string{"the repository has no AnalysisTemplate", ".pipe/"}},
		{"variant args outside the canary strategies", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{func() config.TemplatableAnalysisMetrics {
			m := threshold(1, 20, 0)
			m.Query = `up{pod="{{ .VariantCustomArgs.pod }}"}`
			return m
		}()}}, nil, []string{"with.metrics[0]: render the query", `no entry for key "pod"`}},
		{"bad template syntax", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{func() config.TemplatableAnalysisMetrics {
			m := threshold(1, 20, 0)
			m.Query = `up{app="{{ .App.Name }"}`
			return m
		}()}}, nil, []string{"with.metrics[0]: render the query"}},
		{"http url key", &config.AnalysisStageOptions{Duration: ms(70), HTTPS: []config.TemplatableAnalysisHTTP{{Template: config.AnalysisTemplateRef{Name: "health"}}}}, spec,
			[]string{`https[0] (template "health" of the AnalysisTemplate): render the url`, `"host"`}},
		{"logs", &config.AnalysisStageOptions{Duration: ms(70), Logs: []config.TemplatableAnalysisLog{{}}}, nil,
			[]string{"log analysis is not supported by pipe"}},
		{"unknown provider", &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{func() config.TemplatableAnalysisMetrics {
			m := threshold(1, 20, 0)
			m.Provider = "datadog"
			return m
		}()}}, nil, []string{`with.metrics[0]: analysis provider "datadog": not configured`}},
		{"interval not shorter than duration", &config.AnalysisStageOptions{Duration: ms(20), Metrics: []config.TemplatableAnalysisMetrics{threshold(1, 20, 0)}}, nil,
			[]string{"with.metrics[0]: its interval 20ms is not shorter than the analysis duration 20ms"}},
		{"no duration", &config.AnalysisStageOptions{Metrics: []config.TemplatableAnalysisMetrics{threshold(1, 20, 0)}}, nil,
			[]string{"set with.duration"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prov := &memProvider{fn: constant(0)}
			h := newHarness(t, c.o, map[string]provider.Provider{"prom": prov})
			h.r.Templates = c.spec
			err, _ := h.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if qs, _ := prov.log(); len(qs) != 0 {
				t.Errorf("queried before the configuration was checked: %v", qs)
			}
		})
	}
	t.Run("no providers configured", func(t *testing.T) {
		h := newHarness(t, &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{threshold(1, 20, 0)}}, nil)
		h.r.Providers = nil
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "add it to analysisProviders in .pipe/config.yaml") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHTTPChecks(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var gotHeader atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader.Store(r.Header.Get("X-App") + " " + r.URL.Path)
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	check := func(limit int) config.TemplatableAnalysisHTTP {
		return config.TemplatableAnalysisHTTP{AnalysisHTTP: config.AnalysisHTTP{URL: srv.URL + "/{{ .App.Name }}/healthz", Method: "GET",
			Headers: []config.AnalysisHTTPHeader{{Key: "X-App", Value: "{{ .App.Name }}-{{ .K8s.Namespace }}"}}, ExpectedCode: 200,
			ExpectedResponse: "ok", ExpectedResponseMatch: config.ResponseMatchExact, Interval: ms(20), FailureLimit: limit}}
	}
	t.Run("pass", func(t *testing.T) {
		h := newHarness(t, &config.AnalysisStageOptions{Duration: ms(90), HTTPS: []config.TemplatableAnalysisHTTP{check(0)}}, nil)
		h.r.HTTPClient = srv.Client()
		if err, _ := h.run(t); err != nil {
			t.Fatal(err)
		}
		tk := ticksOf(h.r.Progress, "https[0]")
		if len(tk) == 0 || tk[0].Verdict != state.VerdictPass || tk[0].Code != 200 {
			t.Errorf("ticks %+v", tk)
		}
		if g, _ := gotHeader.Load().(string); g != "web-prod /web/healthz" {
			t.Errorf("request %q: url and headers are templates", g)
		}
		if z := h.r.Progress.Analyzers[0]; z.Kind != KindHTTP || z.Query != "GET "+srv.URL+"/web/healthz" {
			t.Errorf("analyzer %+v", z)
		}
	})
	t.Run("fail", func(t *testing.T) {
		status.Store(503)
		defer status.Store(200)
		h := newHarness(t, &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), HTTPS: []config.TemplatableAnalysisHTTP{check(1)}}, nil)
		h.r.HTTPClient = srv.Client()
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "https[0] (GET "+srv.URL+"/web/healthz): failed 2 times (failureLimit 1)") || !strings.Contains(err.Error(), "503") {
			t.Fatalf("err = %v", err)
		}
		if tk := ticksOf(h.r.Progress, "https[0]"); len(tk) != 2 || tk[1].Code != 503 || tk[1].Verdict != state.VerdictFail {
			t.Errorf("ticks %+v", tk)
		}
	})
	t.Run("transport error", func(t *testing.T) {
		c := check(0)
		c.URL = "http://probe:s3cr3t-pw@127.0.0.1:1/healthz"
		h := newHarness(t, &config.AnalysisStageOptions{Duration: config.Duration(time.Minute), HTTPS: []config.TemplatableAnalysisHTTP{c}}, nil)
		err, _ := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "failed 1 time (failureLimit 0): error: ") {
			t.Fatalf("err = %v", err)
		}
		b, _ := json.Marshal(h.r.Progress)
		for what, text := range map[string]string{"error": err.Error(), "events": h.eventsText(), "record": string(b)} {
			if strings.Contains(text, "s3cr3t-pw") {
				t.Errorf("the URL's password is in the %s: %s", what, text)
			}
		}
	})
}

func TestNaNValuesAreRecorded(t *testing.T) {
	nan := func(_ context.Context, _ string, w provider.Window) ([]provider.Point, error) {
		return []provider.Point{{Time: w.End, Value: 0.01}, {Time: w.End, Value: nanValue()}}, nil
	}
	m := threshold(0.05, 20, 5)
	o := &config.AnalysisStageOptions{Duration: ms(70), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": &memProvider{fn: nan}})
	_, _ = h.run(t) // the verdict is the judge's; the record must encode either way
	if len(h.lastJSON) == 0 || len(h.r.Progress.Ticks) == 0 {
		t.Fatalf("nothing recorded")
	}
	var back state.Analysis
	if err := json.Unmarshal(h.lastJSON, &back); err != nil {
		t.Fatalf("the record does not decode: %v\n%s", err, h.lastJSON)
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func TestRenderReusesTheParsedTemplate(t *testing.T) {
	const text = `up{app="{{ .App.Name }}",env="{{ .AppCustomArgs.env }}"}`
	for _, app := range []string{"web", "api", "web"} {
		got, err := Render("metrics[0]", text, Args{App: AppArgs{Name: app}, AppCustomArgs: map[string]string{"env": "prod"}})
		if want := `up{app="` + app + `",env="prod"}`; err != nil || got != want {
			t.Errorf("Render for %s = %q, %v; want %q", app, got, err, want)
		}
	}
	// The cached template still refuses a missing key, and parse errors are not cached as templates.
	if _, err := Render("metrics[0]", text, Args{App: AppArgs{Name: "web"}}); err == nil || !strings.Contains(err.Error(), `map has no entry for key "env"`) {
		t.Errorf("missing key: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := Render("metrics[1]", `up{{ .App.Name`, Args{}); err == nil {
			t.Errorf("try %d: an unclosed action renders", i)
		}
	}
}

func TestVariantVersionInQueries(t *testing.T) {
	same := []float64{0.01, 0.02, 0.015, 0.01, 0.012}
	m := canaryMetric(config.AnalysisStrategyCanaryPrimary, 0)
	m.Query = `ExecutedVersion={{ .Variant.Version }} variant="{{ .Variant.Name }}"`
	o := &config.AnalysisStageOptions{Duration: ms(60), Metrics: []config.TemplatableAnalysisMetrics{m}}
	h := newHarness(t, o, map[string]provider.Provider{"prom": variantProvider(same, same)})
	h.r.VariantVersions = map[string]string{"canary": "7", "primary": "6"}
	if err, _ := h.run(t); err != nil {
		t.Fatal(err)
	}
	z := h.r.Progress.Analyzers[0]
	if z.Query != `ExecutedVersion=7 variant="canary"` || z.ControlQuery != `ExecutedVersion=6 variant="primary"` {
		t.Errorf("queries %q / %q", z.Query, z.ControlQuery)
	}
}
