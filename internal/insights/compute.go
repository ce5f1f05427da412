package insights

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

// App is one application: its records and what the report says of it.
type App struct {
	Name   string
	Kind   string
	Labels map[string]string
	// Dir is the application's directory (slash-separated, relative to the
	// repository root): a commit changes the application when it changes
	// a file below it. "" when the application is no longer configured:
	// its deployments then count their target commit only.
	Dir     string
	Records []*state.Record
}

// Options are what a report is computed over.
type Options struct {
	// Since and Until bound the window: deployments completed in
	// [Since, Until), incidents started in it.
	Since, Until time.Time
	By           Period
	// History is the repository's commits; nil leaves lead time out.
	History History
}

// Compute computes the report of apps.
func Compute(apps []App, opts Options) (*Report, error) {
	if !opts.Until.After(opts.Since) {
		return nil, fmt.Errorf("the window is empty: --since %s is not before --until %s", opts.Since.Format(time.RFC3339), opts.Until.Format(time.RFC3339))
	}
	if opts.By == "" {
		opts.By = Week
	}
	r := &Report{SchemaVersion: SchemaVersion, Since: opts.Since.UTC(), Until: opts.Until.UTC(), By: opts.By, Apps: []AppReport{}}
	var err error
	if r.Buckets, err = buckets(opts.Since, opts.Until, opts.By); err != nil {
		return nil, err
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	var lt *leadTimes
	if opts.History != nil {
		lt = newLeadTimes(opts.History, apps)
	}
	all := newAccumulator(r)
	for _, a := range apps {
		acc := newAccumulator(r)
		recs := completed(a.Records)
		var prevs []*state.Record // the app's successful deployments so far
		for _, rec := range recs {
			if inWindow(rec.EndedAt, opts) {
				all.deployment(rec)
				acc.deployment(rec)
				if rec.Status == state.StatusSucceeded && lt != nil {
					ds := lt.of(a, rec, prevs)
					all.leadTimes(rec, ds)
					acc.leadTimes(rec, ds)
				}
			}
			if rec.Status == state.StatusSucceeded {
				prevs = append(prevs, rec)
			}
		}
		for _, in := range incidents(recs, opts) {
			all.incident(in)
			acc.incident(in)
		}
		if acc.completed == 0 && acc.incidents == 0 {
			continue // no deployment in the window
		}
		r.Apps = append(r.Apps, AppReport{App: a.Name, Kind: a.Kind, Labels: a.Labels, Metrics: acc.metrics(opts)})
	}
	r.Overall = all.metrics(opts)
	if lt != nil {
		r.Notes = append(r.Notes, lt.notes()...)
	}
	return r, nil
}

func inWindow(t time.Time, opts Options) bool {
	return !t.Before(opts.Since) && t.Before(opts.Until)
}

// completed is the finished deployments of recs, by end time. A running
// or paused deployment is not counted until it ends.
func completed(recs []*state.Record) []*state.Record {
	out := make([]*state.Record, 0, len(recs))
	for _, r := range recs {
		switch r.Status {
		case state.StatusSucceeded, state.StatusFailed, state.StatusCancelled:
			if !r.EndedAt.IsZero() {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].EndedAt.Before(out[j].EndedAt) })
	return out
}

// rolledBack reports whether a failed deployment was rolled back: every
// rollback stage that ran (ROLLBACK, and SCRIPT_RUN_ROLLBACK after it)
// succeeded; end is when the last of them ended.
func rolledBack(rec *state.Record) (ok bool, end time.Time) {
	ran := false
	for _, s := range rec.Stages {
		if !strings.Contains(s.Name, "ROLLBACK") || s.StartedAt.IsZero() {
			continue
		}
		ran = true
		if s.Status != state.StageSucceeded {
			return false, time.Time{}
		}
		if s.EndedAt.After(end) {
			end = s.EndedAt
		}
	}
	if ran && end.IsZero() {
		end = rec.EndedAt
	}
	return ran, end
}

// incident is a failure of an app's service: from the start of a failed
// deployment to the end of its successful rollback, else to the end of the
// app's next successful deployment (zero End: still open).
type incident struct {
	Start, End time.Time
}

// incidents lists the incidents that started in the window. Failures
// while an incident is open belong to it.
func incidents(recs []*state.Record, opts Options) []incident {
	var out []incident
	var open *incident
	for _, rec := range recs {
		switch rec.Status {
		case state.StatusFailed:
			start := rec.StartedAt
			if start.IsZero() {
				start = rec.EndedAt
			}
			if open == nil {
				out = append(out, incident{Start: start})
				open = &out[len(out)-1]
			}
			if ok, end := rolledBack(rec); ok {
				open.End, open = end, nil
			}
		case state.StatusSucceeded:
			if open != nil {
				open.End, open = rec.EndedAt, nil
			}
		}
	}
	in := out[:0]
	for _, i := range out {
		if inWindow(i.Start, opts) {
			if !i.End.IsZero() && !i.End.Before(opts.Until) {
				i.End = time.Time{} // restored after the window: open in it
			}
			in = append(in, i)
		}
	}
	return in
}

// accumulator adds deployments up into Metrics.
type accumulator struct {
	r                                       *Report
	completed, succeeded, failed, rolled    int
	cancelled, incidents, restored, clamped int
	days                                    map[string]bool
	freq, done, fails                       []int
	lead                                    []float64
	leadBy                                  [][]float64
	leadDeploys                             int
	restore                                 []float64
}

func newAccumulator(r *Report) *accumulator {
	n := len(r.Buckets)
	return &accumulator{r: r, days: map[string]bool{}, freq: make([]int, n), done: make([]int, n), fails: make([]int, n), leadBy: make([][]float64, n)}
}

// bucket is the index of the bucket t falls in.
func (a *accumulator) bucket(t time.Time) int {
	b := a.r.Buckets
	i := sort.Search(len(b), func(i int) bool { return b[i].After(t) }) - 1
	return max(i, 0)
}

func (a *accumulator) deployment(rec *state.Record) {
	b := a.bucket(rec.EndedAt)
	a.completed++
	a.done[b]++
	switch rec.Status {
	case state.StatusSucceeded:
		a.succeeded++
		a.freq[b]++
		a.days[rec.EndedAt.UTC().Format(time.DateOnly)] = true
	case state.StatusFailed:
		a.failed++
		a.fails[b]++
		if ok, _ := rolledBack(rec); ok {
			a.rolled++
		}
	case state.StatusCancelled:
		a.cancelled++
	}
}

func (a *accumulator) leadTimes(rec *state.Record, ds []leadTime) {
	a.leadDeploys++
	b := a.bucket(rec.EndedAt)
	for _, d := range ds {
		s := d.seconds
		if d.clamped {
			a.clamped++
		}
		a.lead = append(a.lead, s)
		a.leadBy[b] = append(a.leadBy[b], s)
	}
}

func (a *accumulator) incident(in incident) {
	a.incidents++
	if !in.End.IsZero() {
		a.restored++
		a.restore = append(a.restore, max(in.End.Sub(in.Start).Seconds(), 0))
	}
}

func (a *accumulator) metrics(opts Options) Metrics {
	var m Metrics
	days := opts.Until.Sub(opts.Since).Hours() / 24
	f := &m.DeploymentFrequency
	f.Successful, f.DeployDays, f.Series = a.succeeded, len(a.days), a.freq
	if days > 0 {
		f.PerDay = float64(a.succeeded) / days
	}
	if a.completed > 0 {
		f.Band = frequencyBand(f.PerDay)
	}
	c := &m.ChangeFailureRate
	c.Completed, c.Failed, c.RolledBack, c.Cancelled = a.completed, a.failed, a.rolled, a.cancelled
	c.Series = make([]float64, len(a.done))
	for i := range a.done {
		c.Series[i] = -1
		if a.done[i] > 0 {
			c.Series[i] = float64(a.fails[i]) / float64(a.done[i])
		}
	}
	if a.completed > 0 {
		c.Rate = float64(a.failed) / float64(a.completed)
		c.Band = failureBand(c.Rate)
	}
	l := &m.LeadTime
	l.Count, l.Deployments, l.Clamped = len(a.lead), a.leadDeploys, a.clamped
	l.Series = make([]float64, len(a.leadBy))
	for i, vs := range a.leadBy {
		l.Series[i] = -1
		if len(vs) > 0 {
			l.Series[i] = quantile(vs, 0.5)
		}
	}
	if len(a.lead) > 0 {
		l.MedianSeconds, l.P90Seconds = quantile(a.lead, 0.5), quantile(a.lead, 0.9)
		l.Band = leadTimeBand(l.MedianSeconds)
	}
	t := &m.TimeToRestore
	t.Incidents, t.Restored, t.Open = a.incidents, a.restored, a.incidents-a.restored
	if len(a.restore) > 0 {
		t.MedianSeconds, t.P90Seconds = quantile(a.restore, 0.5), quantile(a.restore, 0.9)
		t.Band = restoreBand(t.MedianSeconds)
	}
	return m
}

// quantile is the q-quantile of vs (linear interpolation between the
// closest ranks, as numpy's default); vs is sorted in place.
func quantile(vs []float64, q float64) float64 {
	sort.Float64s(vs)
	if len(vs) == 1 {
		return vs[0]
	}
	pos := q * float64(len(vs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(vs)-1)
	return vs[lo] + (vs[hi]-vs[lo])*(pos-float64(lo))
}

// buckets are the starts of the buckets covering [since, until).
func buckets(since, until time.Time, by Period) ([]time.Time, error) {
	start := since.UTC()
	switch by {
	case Day:
		start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	case Week:
		start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7)) // Monday
	case Month:
		start = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		return nil, fmt.Errorf("unknown period %q: use day, week or month", by)
	}
	var out []time.Time
	for t := start; t.Before(until); {
		out = append(out, t)
		switch by {
		case Day:
			t = t.AddDate(0, 0, 1)
		case Week:
			t = t.AddDate(0, 0, 7)
		case Month:
			t = t.AddDate(0, 1, 0)
		}
		if len(out) > 10000 {
			return nil, errors.New("more than 10,000 buckets: use a wider --by or a shorter window")
		}
	}
	return out, nil
}

// ParsePeriod parses --by.
func ParsePeriod(s string) (Period, error) {
	switch p := Period(strings.ToLower(s)); p {
	case Day, Week, Month:
		return p, nil
	}
	return "", fmt.Errorf("unknown period %q: use day, week or month", s)
}
