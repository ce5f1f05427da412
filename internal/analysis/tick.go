package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gitops-pipe/pipe/internal/analysis/httpcheck"
	"github.com/gitops-pipe/pipe/internal/analysis/judge"
	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// NoPrevious is the reason of a PREVIOUS tick with nothing to compare.
const NoPrevious = "no previous successful deployment with this analysis: nothing to compare"

// tickMetric runs one check of a metric at now (offset at of the
// analysis) and fills t. The error is the provider's (t is then ERROR or
// NO_DATA by the caller).
func (r *Runner) tickMetric(ctx context.Context, z *analyzer, t *state.AnalysisTick, now time.Time, at time.Duration) error {
	w := provider.Window{Start: now.Add(-z.interval), End: now} // recorded as t.Wall (see state.Analysis.Window)
	m := z.metric
	switch m.Strategy {
	case config.AnalysisStrategyThreshold:
		vals, err := query(ctx, z.prov, z.query, w)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			r.noData(z, t, provider.ErrNoData.Error())
			return nil
		}
		apply(r, z, t, vals, nil, judge.Threshold(vals, *m.Expected))
		return nil
	case config.AnalysisStrategyPrevious:
		if r.prev == nil {
			t.Verdict, t.Reason = state.VerdictPass, NoPrevious
			return nil
		}
		cw := previousWindow(r.prev, z, at)
		if !r.prev.StartedAt.IsZero() {
			t.ControlEnd = state.Millis(cw.End.Sub(r.prev.StartedAt))
		}
		vals, err := query(ctx, z.prov, z.query, w)
		if err != nil {
			return err
		}
		prev, err := query(ctx, z.prov, z.query, cw)
		if err != nil {
			return fmt.Errorf("the previous deployment's window %s to %s: %w", cw.Start.UTC().Format(time.RFC3339), cw.End.UTC().Format(time.RFC3339), err)
		}
		return r.compare(z, t, vals, prev)
	default: // the canary strategies
		vals, err := query(ctx, z.prov, z.query, w)
		if err != nil {
			return fmt.Errorf("the canary query: %w", err)
		}
		ctrl, err := query(ctx, z.prov, z.control, w)
		if err != nil {
			return fmt.Errorf("the %s query: %w", z.ctrlName, err)
		}
		return r.compare(z, t, vals, ctrl)
	}
}

// compare judges a comparing strategy.
func (r *Runner) compare(z *analyzer, t *state.AnalysisTick, vals, ctrl []float64) error {
	switch {
	case len(vals) == 0 && len(ctrl) == 0:
		r.noData(z, t, fmt.Sprintf("neither the %s nor the %s query returned data", experimentName(z), z.ctrlName))
		return nil
	case len(vals) == 0:
		r.noData(z, t, fmt.Sprintf("the %s query returned no data", experimentName(z)))
		return nil
	case len(ctrl) == 0:
		// An absent control series is how Prometheus and Datadog report a
		// counter that never counted (a baseline without a single 5xx): an
		// experiment leaving 0 against it fails by the zero-baseline rule.
		if v := judge.Compare(vals, make([]float64, len(vals)), z.metric.Deviation, z.ctrlName); v.Rule == judge.RuleZeroBaseline {
			apply(r, z, t, vals, nil, v)
			t.Reason = fmt.Sprintf("the %s query returned no data (no series, read as 0 at every point): %s", z.ctrlName, v.Reason)
			return nil
		}
		r.noData(z, t, fmt.Sprintf("the %s query returned no data", z.ctrlName))
		return nil
	}
	apply(r, z, t, vals, ctrl, judge.Compare(vals, ctrl, z.metric.Deviation, z.ctrlName))
	return nil
}

func experimentName(z *analyzer) string {
	if z.metric.Strategy == config.AnalysisStrategyPrevious {
		return "current"
	}
	return "canary"
}

// apply records a judge's verdict in t.
func apply(r *Runner, z *analyzer, t *state.AnalysisTick, vals, ctrl []float64, v judge.Verdict) {
	sv := v.Values
	if sv.N == 0 {
		sv = judge.Summarize(vals)
	}
	t.Values = values(sv)
	if ctrl != nil {
		cv := judge.Summarize(ctrl)
		if v.Control != nil && v.Control.N > 0 {
			cv = *v.Control
		}
		t.Control = values(cv)
	}
	if !math.IsNaN(v.PValue) && !math.IsInf(v.PValue, 0) {
		t.PValue = state.Float(v.PValue)
	}
	switch {
	case v.NoData:
		r.noData(z, t, v.Reason)
	case v.Pass:
		t.Verdict, t.Reason = state.VerdictPass, v.Reason
	default:
		t.Verdict, t.Reason = state.VerdictFail, v.Reason
	}
}

func values(s judge.Summary) *state.AnalysisValues {
	return &state.AnalysisValues{N: s.N, Min: state.Float(s.Min), Max: state.Float(s.Max), Mean: state.Float(s.Mean),
		Median: state.Float(s.Median), Last: state.Float(s.Last)}
}

// query runs q over w and returns the values; no points is (nil, nil).
func query(ctx context.Context, p provider.Provider, q string, w provider.Window) ([]float64, error) {
	pts, err := p.Query(ctx, q, w)
	if err != nil {
		if errors.Is(err, provider.ErrNoData) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]float64, len(pts))
	for i, pt := range pts {
		out[i] = pt.Value
	}
	return out, nil
}

// previousWindow is the window of the previous deployment's analysis at
// the same offset: z's interval up to the time of the tick it recorded at
// that offset, else up to its start plus the offset (its older ticks are
// no longer kept in full, or it was not recorded).
func previousWindow(prev *state.Analysis, z *analyzer, at time.Duration) provider.Window {
	end := prev.StartedAt.Add(at)
	for i := range prev.Ticks {
		t := &prev.Ticks[i]
		if t.Analyzer == z.name() && t.At.Std() == at {
			if tt := prev.TickTime(t); !tt.IsZero() {
				end = tt
			}
			break
		}
	}
	return provider.Window{Start: end.Add(-z.interval), End: end}
}

// tickHTTP runs one HTTP check and fills t; the error is the transport's.
func (r *Runner) tickHTTP(ctx context.Context, z *analyzer, t *state.AnalysisTick) error {
	client := r.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := httpcheck.Check(ctx, client, *z.check)
	if err != nil {
		return err
	}
	t.Code = res.Code
	switch {
	case res.NoData:
		r.noData(z, t, res.Reason)
	case res.Pass:
		t.Verdict, t.Reason = state.VerdictPass, res.Reason
		if t.Reason == "" {
			t.Reason = fmt.Sprintf("status %d in %s", res.Code, res.Duration.Round(time.Millisecond))
		}
	default:
		t.Verdict, t.Reason = state.VerdictFail, res.Reason
	}
	return nil
}
