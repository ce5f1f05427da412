// Package analysis runs ANALYSIS stages: every metric query and HTTP check
// of the stage ticks at its interval, concurrently, for the stage's
// duration; the stage fails as soon as one of them failed more than its
// failureLimit. Progress is recorded in a state.Analysis after every tick,
// so that a resumed deployment continues where the killed one stopped.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/state"
)

// DefaultTimeout bounds a query or HTTP check that sets no timeout.
const DefaultTimeout = 30 * time.Second

// Analyzer kinds (state.AnalysisAnalyzer.Kind).
const (
	KindMetrics = "METRICS"
	KindHTTP    = "HTTP"
)

// Runner runs one ANALYSIS stage. Options and Progress are required; the
// rest is what the configured analyzers need.
type Runner struct {
	// Options are the stage's `with`.
	Options *config.AnalysisStageOptions
	// Templates is the spec of the repository's AnalysisTemplate (nil
	// when there is none).
	Templates *config.AnalysisTemplateSpec
	// Providers returns the analysis provider of .pipe/config.yaml named
	// name; nil when no provider is configured.
	Providers func(name string) (provider.Provider, error)
	// HTTPClient sends the HTTP checks (nil: http.DefaultClient).
	HTTPClient *http.Client
	// App and Namespace are the query templates' {{ .App.Name }} and
	// {{ .K8s.Namespace }}.
	App       string
	Namespace string
	// VariantVersions are the query templates' {{ .Variant.Version }}, by
	// variant (canary, primary, baseline): what each runs, as the
	// deployment's platform stages recorded it.
	VariantVersions map[string]string
	// Previous returns the analysis of the same stage in the last
	// successful deployment (nil, nil when there is none); called once,
	// when a metric uses the PREVIOUS strategy.
	Previous func(ctx context.Context) (*state.Analysis, error)
	// Progress is the stage's record of the analysis: empty for a new
	// stage, what was checkpointed for a resumed one. The runner fills it.
	Progress *state.Analysis
	// Checkpoint writes Progress (the stage's record); called after every
	// tick, never concurrently.
	Checkpoint func() error
	// Emitf and Warnf report progress (one line per tick at most); called
	// one at a time.
	Emitf, Warnf func(format string, args ...any)
	// Now is the clock (default time.Now); it must follow real time, as
	// the ticks and the end of the analysis are timers.
	Now func() time.Time

	mu       sync.Mutex
	warnedCP bool
	prev     *state.Analysis // the previous deployment's, for PREVIOUS
}

// analyzer is one metric query or HTTP check, resolved and rendered.
type analyzer struct {
	rec          state.AnalysisAnalyzer
	interval     time.Duration
	timeout      time.Duration
	failureLimit int
	skipOnNoData bool
	// metrics
	metric   *config.AnalysisMetrics
	prov     provider.Provider
	query    string // THRESHOLD, PREVIOUS, and the canary's
	control  string // the baseline's or primary's
	ctrlName string // "baseline", "primary", "previous deployment"
	// http
	check *config.AnalysisHTTP

	failures int
	last     string // the reason of the last failure
}

func (z *analyzer) name() string { return z.rec.Name }

// title is "metrics[0] error-rate" (the label when there is one).
func (z *analyzer) title() string {
	if z.rec.Label == "" {
		return z.rec.Name
	}
	return z.rec.Name + " " + z.rec.Label
}

// Run runs the analysis until its duration has elapsed (nil) or an
// analyzer failed more than its failureLimit (an error naming it, its
// values and the bound or p-value that failed it). A cancelled ctx stops
// it with ctx's cause; the progress so far stays recorded.
func (r *Runner) Run(ctx context.Context) error {
	if r.Options == nil {
		return errors.New("the ANALYSIS stage has no options (`with`): set with.duration and the metrics or https checks")
	}
	if r.Progress == nil {
		return errors.New("internal error: the ANALYSIS stage has no record to write its progress to")
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	o := r.Options
	if len(o.Logs) > 0 {
		return errors.New("log analysis is not supported by pipe; remove with.logs from the ANALYSIS stage (query logs as metrics, e.g. a Prometheus or Datadog count of error lines, under with.metrics)")
	}
	duration := o.Duration.Std()
	if duration <= 0 {
		return errors.New("the ANALYSIS stage has no duration: set with.duration (e.g. \"10m\")")
	}
	analyzers, err := r.build(ctx)
	if err != nil {
		return err
	}
	p := r.Progress
	resumed := p.Elapsed > 0 || len(p.Ticks) > 0
	if p.StartedAt.IsZero() {
		p.StartedAt = r.Now().UTC().Truncate(time.Millisecond) // the ticks' times are whole milliseconds after it
	}
	if r.prev != nil {
		p.PreviousStartedAt = r.prev.StartedAt
	}
	p.Duration = state.Millis(duration)
	p.Verdict, p.Reason = "", ""
	// Keep the counts of a resumed analysis; refresh the descriptions.
	for _, z := range analyzers {
		if old := p.Analyzer(z.name()); old != nil {
			counts := *old
			z.rec.Passed, z.rec.Failed, z.rec.NoData, z.rec.Skipped, z.rec.Errors = counts.Passed, counts.Failed, counts.NoData, counts.Skipped, counts.Errors
			z.rec.Failures, z.rec.Dropped, z.rec.History = counts.Failures, counts.Dropped, counts.History
			z.failures = counts.Failures
			if t := p.LastTick(z.name()); t != nil && t.Failures > 0 {
				z.failures = t.Failures
				z.rec.Failures = t.Failures
			}
			if t := lastFailure(p, z.name()); t != nil {
				z.last = describeFailure(t)
			}
		}
	}
	p.Analyzers = p.Analyzers[:0]
	for _, z := range analyzers {
		p.Analyzers = append(p.Analyzers, z.rec)
	}
	elapsed0 := min(p.Elapsed.Std(), duration)
	for _, z := range analyzers {
		if z.failures > z.failureLimit {
			return r.fail(z)
		}
	}
	if resumed {
		r.emitf("resuming the analysis: %s of %s done%s", elapsed0.Round(time.Second), duration, failureSummary(analyzers))
	} else {
		r.emitf("analysing for %s: %s", duration, describeAll(analyzers))
	}
	if err := r.checkpoint(); err != nil {
		return err
	}
	if elapsed0 >= duration {
		return r.pass()
	}
	start := r.Now()
	end := start.Add(duration - elapsed0)
	// runCtx ends when the duration has elapsed; failCtx when an analyzer failed.
	runCtx, cancelRun := context.WithDeadline(ctx, end)
	defer cancelRun()
	failCtx, cancelFail := context.WithCancelCause(runCtx)
	defer cancelFail(nil)
	var wg sync.WaitGroup
	var failedMu sync.Mutex
	var failed *analyzer
	for _, z := range analyzers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.loop(ctx, runCtx, failCtx, z, start, elapsed0, duration) {
				failedMu.Lock()
				if failed == nil {
					failed = z
				}
				failedMu.Unlock()
				cancelFail(errAnalysisFailed)
			}
		}()
	}
	if len(analyzers) == 0 {
		<-runCtx.Done() // nothing to check: the stage only waits
	}
	wg.Wait()
	if failed != nil {
		return r.fail(failed)
	}
	if ctx.Err() != nil {
		r.mu.Lock()
		r.Progress.Elapsed = state.Millis(min(elapsed0+r.Now().Sub(start), duration))
		r.mu.Unlock()
		_ = r.checkpoint()
		return context.Cause(ctx)
	}
	return r.pass()
}

var errAnalysisFailed = errors.New("another analyzer failed")

// loop ticks z until the analysis ends; it reports whether z failed more
// than its failureLimit.
func (r *Runner) loop(ctx, runCtx, failCtx context.Context, z *analyzer, start time.Time, elapsed0, duration time.Duration) bool {
	// Continue after z's own last recorded tick: a tick in flight when the
	// run was cancelled or killed (Elapsed may be past it) runs at once.
	k := time.Duration(1)
	if t := r.Progress.LastTick(z.name()); t != nil {
		k = t.At.Std()/z.interval + 1
	}
	for failCtx.Err() == nil {
		at := k * z.interval
		if at >= duration {
			<-failCtx.Done()
			return false
		}
		if ctxtime.Sleep(failCtx, start.Add(at-elapsed0).Sub(r.Now())) != nil {
			return false
		}
		tick, ignore := r.tick(failCtx, z, at)
		if ignore {
			if ctx.Err() == nil && runCtx.Err() != nil && context.Cause(failCtx) != errAnalysisFailed {
				r.emitf("%s: the analysis ended while the check ran: this check is not counted", z.title())
			}
			return false
		}
		elapsed := elapsed0 + r.Now().Sub(start)
		if r.record(z, tick, elapsed, duration) {
			return true
		}
		// A check slower than the interval skips the ticks it overran.
		k = max(k+1, elapsed/z.interval+1)
	}
	return false
}

// record counts and records a tick, reports it and checkpoints; it
// reports whether z has now failed more than its failureLimit.
func (r *Runner) record(z *analyzer, t state.AnalysisTick, elapsed, duration time.Duration) bool {
	counts := t.Verdict == state.VerdictFail || t.Verdict == state.VerdictNoData || t.Verdict == state.VerdictError
	r.mu.Lock()
	if counts {
		z.failures++
		z.last = describeFailure(&t)
	}
	t.Failures = z.failures
	p := r.Progress
	p.AddTick(t)
	p.Elapsed = state.Millis(min(max(elapsed, p.Elapsed.Std()), duration))
	line := fmt.Sprintf("%s: %s", z.title(), t.Verdict)
	if t.Reason != "" {
		line += " " + t.Reason
	}
	if counts {
		line += fmt.Sprintf(" (failure %d, failureLimit %d)", z.failures, z.failureLimit)
	}
	if counts {
		r.warnfLocked("%s", line)
	} else {
		r.emitfLocked("%s", line)
	}
	r.checkpointLocked()
	failed := z.failures > z.failureLimit
	r.mu.Unlock()
	return failed
}

// tick runs one check of z at offset at; ignore is set when the check was
// cut short by the end of the analysis or a failure of another analyzer.
func (r *Runner) tick(failCtx context.Context, z *analyzer, at time.Duration) (t state.AnalysisTick, ignore bool) {
	now := r.Now().UTC().Truncate(time.Millisecond) // whole milliseconds after the start
	t = state.AnalysisTick{Analyzer: z.name(), At: state.Millis(at), Wall: state.Millis(now.Sub(r.Progress.StartedAt))}
	qctx, cancel := context.WithTimeout(failCtx, z.timeout)
	defer cancel()
	var err error
	if z.check != nil {
		err = r.tickHTTP(qctx, z, &t)
	} else {
		err = r.tickMetric(qctx, z, &t, now, at)
	}
	if err != nil {
		if failCtx.Err() != nil {
			return t, true // the analysis ended (or another analyzer failed) while the check ran
		}
		if errors.Is(err, provider.ErrNoData) {
			r.noData(z, &t, err.Error())
			return t, false
		}
		t.Verdict, t.Reason = state.VerdictError, err.Error()
		if qctx.Err() == context.DeadlineExceeded {
			t.Reason = fmt.Sprintf("no answer within %s (timeout): %v", z.timeout, err)
		}
	}
	return t, false
}

// noData records a check without data: SKIPPED with skipOnNoData, else
// NO_DATA (a failure).
func (r *Runner) noData(z *analyzer, t *state.AnalysisTick, why string) {
	if z.skipOnNoData {
		t.Verdict, t.Reason = state.VerdictSkipped, "skipped: no data ("+why+"; skipOnNoData)"
		return
	}
	t.Verdict, t.Reason = state.VerdictNoData, why+" (set skipOnNoData to tolerate it)"
}

// pass records the end of a successful analysis.
func (r *Runner) pass() error {
	r.mu.Lock()
	p := r.Progress
	p.Elapsed = p.Duration
	p.Verdict, p.Reason = state.VerdictPass, ""
	var parts []string
	for _, z := range p.Analyzers {
		parts = append(parts, fmt.Sprintf("%s %d passed", z.Name, z.Passed))
	}
	msg := "the analysis passed"
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	r.emitfLocked("%s", msg)
	r.mu.Unlock()
	return r.checkpoint()
}

// fail records the failure of z and returns the stage's error.
func (r *Runner) fail(z *analyzer) error {
	what := z.rec.Strategy
	if z.check != nil {
		what = z.rec.Query
	} else {
		what += ", provider " + z.rec.Provider
	}
	msg := fmt.Sprintf("%s (%s): failed %d %s (failureLimit %d)", z.title(), what, z.failures, plural(z.failures, "time", "times"), z.failureLimit)
	if z.last != "" {
		msg += ": " + z.last
	}
	r.mu.Lock()
	r.Progress.Verdict, r.Progress.Reason = state.VerdictFail, msg
	r.mu.Unlock()
	if err := r.checkpoint(); err != nil {
		return errors.Join(errors.New(msg), err)
	}
	return errors.New(msg)
}

func (r *Runner) checkpoint() error {
	if r.Checkpoint == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.Checkpoint(); err != nil {
		return fmt.Errorf("record the analysis progress: %w", err)
	}
	return nil
}

// checkpointLocked writes the progress after a tick; a failed write is
// reported once and the analysis goes on (the next tick writes again).
func (r *Runner) checkpointLocked() {
	if r.Checkpoint == nil {
		return
	}
	if err := r.Checkpoint(); err != nil && !r.warnedCP {
		r.warnedCP = true
		r.warnfLocked("could not record the analysis progress (a resumed deployment would repeat these checks): %v", err)
	}
}

func (r *Runner) emitf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitfLocked(format, args...)
}

func (r *Runner) emitfLocked(format string, args ...any) {
	if r.Emitf != nil {
		r.Emitf(format, args...)
	}
}

func (r *Runner) warnfLocked(format string, args ...any) {
	switch {
	case r.Warnf != nil:
		r.Warnf(format, args...)
	case r.Emitf != nil:
		r.Emitf(format, args...)
	}
}

// lastFailure is the latest kept tick of an analyzer that counted as a failure.
func lastFailure(p *state.Analysis, name string) *state.AnalysisTick {
	for i := len(p.Ticks) - 1; i >= 0; i-- {
		t := &p.Ticks[i]
		if t.Analyzer == name && (t.Verdict == state.VerdictFail || t.Verdict == state.VerdictNoData || t.Verdict == state.VerdictError) {
			return t
		}
	}
	return nil
}

func describeFailure(t *state.AnalysisTick) string {
	if t.Verdict == state.VerdictFail {
		return t.Reason
	}
	return strings.ToLower(strings.ReplaceAll(t.Verdict, "_", " ")) + ": " + t.Reason
}

func describeAll(zs []*analyzer) string {
	if len(zs) == 0 {
		return "nothing is checked: the stage only waits"
	}
	parts := make([]string, 0, len(zs))
	for _, z := range zs {
		what := z.rec.Strategy + ", " + z.rec.Provider
		if z.check != nil {
			what = z.rec.Query
		}
		parts = append(parts, fmt.Sprintf("%s (%s) every %s", z.title(), what, z.interval))
	}
	return strings.Join(parts, "; ")
}

func failureSummary(zs []*analyzer) string {
	var parts []string
	for _, z := range zs {
		if z.failures > 0 {
			parts = append(parts, fmt.Sprintf("%s %d of %d tolerated", z.name(), z.failures, z.failureLimit))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return ", no failure so far"
	}
	return ", failures so far: " + strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
