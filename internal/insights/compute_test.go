package insights

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

// fakeHistory is a commit graph in memory.
type fakeHistory struct {
	head    string
	parents map[string][]string
	when    map[string]time.Time
	files   map[string][]string
}

func (h *fakeHistory) Head() string { return h.head }

// CommitNode names each commit's tree after the commit ("t"+c), so that
// DiffTrees can answer with what the commit changed.
func (h *fakeHistory) CommitNode(c string) ([]string, time.Time, string, error) {
	w, ok := h.when[c]
	if !ok {
		return nil, time.Time{}, "", fmt.Errorf("commit %s: %w", c, source.ErrMissingObject)
	}
	return h.parents[c], w, "t" + c, nil
}
func (h *fakeHistory) DiffTrees(_, b string) ([]string, error) {
	return h.files[strings.TrimPrefix(b, "t")], nil
}

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

func at(d time.Duration) time.Time { return t0.Add(d) }

// linear makes the history c1..cn, commit i at t0+(i-1)h changing files[i-1].
func linear(files ...string) *fakeHistory {
	h := &fakeHistory{parents: map[string][]string{}, when: map[string]time.Time{}, files: map[string][]string{}}
	prev := ""
	for i, f := range files {
		c := fmt.Sprintf("c%d", i+1)
		h.when[c] = at(time.Duration(i) * time.Hour)
		h.files[c] = []string{f}
		if prev != "" {
			h.parents[c] = []string{prev}
		}
		prev, h.head = c, c
	}
	return h
}

func rec(status state.DeploymentStatus, target string, started, ended time.Duration, rolledBack bool) *state.Record {
	r := &state.Record{Status: status, Target: state.Commit{Hash: target}, StartedAt: at(started), EndedAt: at(ended)}
	if status == state.StatusFailed {
		st := state.StageFailed
		if rolledBack {
			st = state.StageSucceeded
		}
		r.Stages = []state.Stage{{Name: "ROLLBACK", Status: st, StartedAt: at(ended - time.Minute), EndedAt: at(ended)}}
	}
	return r
}

const h = time.Hour

func TestComputeHandWorked(t *testing.T) {
	hist := linear("apps/web/d.yaml", "apps/api/d.yaml", "apps/web/d.yaml", "apps/web/values.yaml", "apps/api/d.yaml", "apps/web/d.yaml")
	web := App{Name: "web", Kind: "KubernetesApp", Dir: "apps/web", Records: []*state.Record{
		rec(state.StatusSucceeded, "c1", 50*time.Minute, 1*h, false),                // first: its own commit, 1h
		rec(state.StatusFailed, "c3", 2*h+30*time.Minute, 2*h+50*time.Minute, true), // incident 20m, rolled back
		rec(state.StatusSucceeded, "c4", 3*h+50*time.Minute, 4*h, false),            // c3 (2h), c4 (1h)
		rec(state.StatusCancelled, "c4", 4*h+50*time.Minute, 5*h, false),
		rec(state.StatusSucceeded, "c6", 5*h+50*time.Minute, 6*h, false), // c6 (1h); c5 is api's
		rec(state.StatusFailed, "c6", 7*h, 7*h+10*time.Minute, false),    // incident from 7h...
		rec(state.StatusSucceeded, "c6", 8*h+50*time.Minute, 9*h, false), // ...to 9h: 2h; no new commit
		{Status: state.StatusRunning, Target: state.Commit{Hash: "c6"}, StartedAt: at(10 * h)},
	}}
	api := App{Name: "api", Dir: "apps/api", Records: []*state.Record{
		rec(state.StatusSucceeded, "c2", h+20*time.Minute, h+30*time.Minute, false), // first: 30m
		rec(state.StatusSucceeded, "c5", 8*24*h, 8*24*h+time.Minute, false),         // after the window
	}}
	r, err := Compute([]App{web, api}, Options{Since: t0, Until: t0.AddDate(0, 0, 7), By: Day, History: hist})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Buckets) != 7 || len(r.Apps) != 2 || r.Apps[0].App != "api" || r.Apps[1].App != "web" {
		t.Fatalf("buckets %d, apps %+v", len(r.Buckets), r.Apps)
	}
	w := r.Apps[1].Metrics
	checkInt(t, "web successful", w.DeploymentFrequency.Successful, 4)
	checkFloat(t, "web per day", w.DeploymentFrequency.PerDay, 4.0/7)
	checkBand(t, "web frequency", w.DeploymentFrequency.Band, BandHigh)
	checkInt(t, "web deploy days", w.DeploymentFrequency.DeployDays, 1)
	checkInt(t, "web series[0]", w.DeploymentFrequency.Series[0], 4)
	c := w.ChangeFailureRate
	checkInt(t, "web completed", c.Completed, 7)
	checkInt(t, "web failed", c.Failed, 2)
	checkInt(t, "web rolled back", c.RolledBack, 1)
	checkInt(t, "web cancelled", c.Cancelled, 1)
	checkFloat(t, "web rate", c.Rate, 2.0/7)
	checkBand(t, "web failure", c.Band, BandLow)
	if c.Series[1] != -1 {
		t.Errorf("rate of an empty bucket = %v, want -1", c.Series[1])
	}
	l := w.LeadTime
	checkInt(t, "web lead count", l.Count, 4)
	checkInt(t, "web lead deployments", l.Deployments, 4)
	checkFloat(t, "web lead median", l.MedianSeconds, 3600)
	checkFloat(t, "web lead p90", l.P90Seconds, 6120) // 1h,1h,1h,2h: 1h + 0.7h
	checkBand(t, "web lead", l.Band, BandElite)
	tr := w.TimeToRestore
	checkInt(t, "web incidents", tr.Incidents, 2)
	checkInt(t, "web restored", tr.Restored, 2)
	checkFloat(t, "web restore median", tr.MedianSeconds, 4200) // 20m and 2h
	checkFloat(t, "web restore p90", tr.P90Seconds, 6600)
	checkBand(t, "web restore", tr.Band, BandHigh)

	a := r.Apps[0].Metrics
	checkInt(t, "api successful", a.DeploymentFrequency.Successful, 1)
	checkFloat(t, "api lead median", a.LeadTime.MedianSeconds, 1800)
	checkBand(t, "api restore", a.TimeToRestore.Band, BandNone)

	o := r.Overall
	checkInt(t, "overall successful", o.DeploymentFrequency.Successful, 5)
	checkInt(t, "overall completed", o.ChangeFailureRate.Completed, 8)
	checkInt(t, "overall lead count", o.LeadTime.Count, 5)
	checkFloat(t, "overall lead median", o.LeadTime.MedianSeconds, 3600) // 30m,1h,1h,1h,2h
	checkInt(t, "overall incidents", o.TimeToRestore.Incidents, 2)
	if len(r.Notes) != 1 || r.Notes[0] != "2 first deployment(s) of an application: only the deployed commit counts for lead time" {
		t.Errorf("notes = %q", r.Notes)
	}
}

// A merge brings its side branch's commits at its own position; a commit
// time after the deployment (clock skew) counts as 0 and is counted.
func TestLeadTimeMergesAndSkew(t *testing.T) {
	hist := &fakeHistory{head: "m", parents: map[string][]string{
		"b": {"a"}, "s1": {"a"}, "s2": {"s1"}, "m": {"b", "s2"},
	}, when: map[string]time.Time{
		"a": at(0), "b": at(h), "s1": at(2 * h), "s2": at(30 * h), "m": at(4 * h),
	}, files: map[string][]string{
		"a": {"web/x"}, "b": {"api/x"}, "s1": {"web/y"}, "s2": {"web/z"}, "m": {"web/y", "web/z"},
	}}
	web := App{Name: "web", Dir: "web", Records: []*state.Record{
		rec(state.StatusSucceeded, "a", 0, h, false),
		rec(state.StatusSucceeded, "m", 4*h, 5*h, false), // s1 (3h), s2 (skewed: 0); not the merge itself
	}}
	r, err := Compute([]App{web}, Options{Since: t0, Until: t0.AddDate(0, 0, 1), By: Day, History: hist})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Overall.LeadTime
	checkInt(t, "count", l.Count, 3) // a (first: 1h), s1, s2
	checkInt(t, "clamped", l.Clamped, 1)
	checkFloat(t, "median", l.MedianSeconds, 3600) // 0, 1h, 3h
}

// A redeployment of an older commit does not make the next deployment
// bring the commits in between again; a deployment of a commit not in the
// clone has no lead time, and says so, without losing the next one's.
func TestLeadTimeRedeployAndMissing(t *testing.T) {
	hist := linear("w/a", "w/b", "w/c", "w/d")
	web := App{Name: "web", Dir: "w", Records: []*state.Record{
		rec(state.StatusSucceeded, "c1", 0, h, false),         // first: 1h
		rec(state.StatusSucceeded, "c3", 2*h, 3*h, false),     // c2 (2h), c3 (1h)
		rec(state.StatusSucceeded, "c1", 3*h, 3*h+1, false),   // back to c1: nothing
		rec(state.StatusSucceeded, "gone", 3*h, 3*h+2, false), // not in the clone
		rec(state.StatusSucceeded, "c4", 3*h+h/2, 4*h, false), // c4 (1h) only
	}}
	r, err := Compute([]App{web}, Options{Since: t0, Until: t0.AddDate(0, 0, 1), By: Day, History: hist})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Overall.LeadTime
	checkInt(t, "count", l.Count, 4)
	checkFloat(t, "median", l.MedianSeconds, 3600)
	checkFloat(t, "p90", l.P90Seconds, 6120) // 1h,1h,1h,2h: 1h + 0.7h
	found := false
	for _, n := range r.Notes {
		found = found || strings.HasPrefix(n, "1 deployment(s) of a commit not in this clone")
	}
	if !found {
		t.Errorf("notes = %q", r.Notes)
	}
}

// A rollback whose SCRIPT_RUN_ROLLBACK failed did not restore the
// service: the failure is not counted as rolled back, and the incident
// lasts to the next success.
func TestRollbackWithAFailedScript(t *testing.T) {
	failed := rec(state.StatusFailed, "c1", h, 2*h, true)
	failed.Stages = append(failed.Stages, state.Stage{Name: "SCRIPT_RUN_ROLLBACK", Status: state.StageFailed, StartedAt: at(2 * h), EndedAt: at(2 * h)})
	web := App{Name: "web", Records: []*state.Record{failed, rec(state.StatusSucceeded, "c1", 4*h, 5*h, false)}}
	r, err := Compute([]App{web}, Options{Since: t0, Until: t0.AddDate(0, 0, 1), By: Day})
	if err != nil {
		t.Fatal(err)
	}
	checkInt(t, "rolled back", r.Overall.ChangeFailureRate.RolledBack, 0)
	checkFloat(t, "restore", r.Overall.TimeToRestore.MedianSeconds, 4*3600) // 1h to 5h
}

// A deployment still running, and an app with no deployment in the
// window, count nothing; bands of metrics with no data are empty.
func TestComputeEmpty(t *testing.T) {
	run := App{Name: "run", Records: []*state.Record{{Status: state.StatusRunning, StartedAt: at(h)}}}
	r, err := Compute([]App{run}, Options{Since: t0, Until: t0.AddDate(0, 1, 0), By: Month})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Apps) != 0 || r.Overall.DeploymentFrequency.Band != BandNone || r.Overall.LeadTime.Band != BandNone || len(r.Buckets) != 2 {
		t.Errorf("%+v", r)
	}
	if _, err := Compute(nil, Options{Since: t0, Until: t0}); err == nil {
		t.Error("an empty window was accepted")
	}
}

func TestBandEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		got  Band
		want Band
	}{
		{"1/day", frequencyBand(1), BandElite}, {"just under 1/day", frequencyBand(0.99), BandHigh},
		{"1/week", frequencyBand(1.0 / 7), BandHigh}, {"1/month", frequencyBand(1.0 / 30), BandMedium}, {"less", frequencyBand(0.03), BandLow},
		{"5%", failureBand(0.05), BandElite}, {"10%", failureBand(0.10), BandHigh}, {"15%", failureBand(0.15), BandMedium}, {"16%", failureBand(0.16), BandLow},
		{"lead 23h59", leadTimeBand(day - 1), BandElite}, {"lead 1d", leadTimeBand(day), BandHigh}, {"lead 1w", leadTimeBand(week), BandMedium}, {"lead 30d", leadTimeBand(30 * day), BandLow},
		{"restore 59m", restoreBand(3599), BandElite}, {"restore 1h", restoreBand(3600), BandHigh}, {"restore 1d", restoreBand(day), BandMedium}, {"restore 1w", restoreBand(week), BandLow},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	// A Wednesday to the next month's 3rd, weekly: Mondays from the one before.
	b, err := buckets(time.Date(2026, 1, 7, 15, 0, 0, 0, time.UTC), time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), Week)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 5 || !b[0].Equal(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) || b[0].Weekday() != time.Monday {
		t.Errorf("%v", b)
	}
	if _, err := ParsePeriod("fortnight"); err == nil {
		t.Error("fortnight accepted")
	}
}

func checkInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func checkFloat(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func checkBand(t *testing.T, what string, got, want Band) {
	t.Helper()
	if got != want {
		t.Errorf("%s band = %q, want %q", what, got, want)
	}
}
