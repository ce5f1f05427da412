package notify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

func types(evs []Event) []Type {
	out := make([]Type, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// A pipeline's record through its life: each transition gives its events
// once, stages before the deployment's own.
func TestTransitions(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	rec := &state.Record{ID: "d1", App: "web", Status: state.StatusRunning, Strategy: state.Strategy("PIPELINE"), StrategyReason: "image changed",
		Target: state.Commit{Hash: "abc123", Subject: "bump"}, Trigger: state.Trigger{Actor: "alice", CIRunURL: "https://ci/run/1"},
		Stages: []state.Stage{
			{ID: "s1", Name: "K8S_CANARY_ROLLOUT", Status: state.StageNotStarted},
			{ID: "s2", Name: "WAIT_APPROVAL", Status: state.StageNotStarted},
			{ID: "s3", Name: "ANALYSIS", Status: state.StageNotStarted},
			{ID: "r", Name: "ROLLBACK", Status: state.StageNotStarted},
		}}
	app := App{Name: "web", Kind: "KubernetesApp"}
	c := Context{CommitURL: func(h string) string { return "https://github.com/o/r/commit/" + h }}
	step := func(prev *state.Record, mutate func(*state.Record)) (*state.Record, []Type, []Event) {
		next := rec.Clone()
		if prev != nil {
			next = prev.Clone()
		}
		mutate(next)
		next.UpdatedAt = next.UpdatedAt.Add(time.Minute)
		evs := Transitions(prev, next, app, c)
		return next, types(evs), evs
	}
	check := func(got, want []Type) {
		t.Helper()
		if !(len(got) == 0 && len(want) == 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	}
	r0, got, evs := step(nil, func(r *state.Record) { r.UpdatedAt = t0 })
	check(got, []Type{DeploymentTriggered, DeploymentPlanned, DeploymentStarted})
	if evs[1].Summary != "PIPELINE: image changed" || evs[0].Actor != "alice" || evs[0].CIRunURL != "https://ci/run/1" ||
		evs[0].Deployment.Commit.URL != "https://github.com/o/r/commit/abc123" {
		t.Errorf("%+v", evs[1])
	}
	r1, got, _ := step(r0, func(r *state.Record) { r.Stages[0].Status, r.Stages[0].StartedAt = state.StageRunning, t0 })
	check(got, []Type{StageStarted})
	r2, got, _ := step(r1, func(r *state.Record) {
		r.Stages[0].Status, r.Stages[0].EndedAt = state.StageSucceeded, t0.Add(90*time.Second)
		r.Stages[1].Status = state.StageRunning
		r.Stages[1].Metadata = map[string]string{"waitingSince": t0.Format(time.RFC3339)}
	})
	check(got, []Type{StageSucceeded, DeploymentWaitApproval, StageStarted})
	// Paused (exit 4), then resumed before the approvals came: nothing.
	r2, got, _ = step(r2, func(r *state.Record) { r.Status = state.StatusWaitingApproval })
	check(got, nil)
	r2, got, _ = step(r2, func(r *state.Record) { r.Status = state.StatusRunning })
	check(got, nil)
	// Written again unchanged (a renewal, a poll): nothing.
	_, got, _ = step(r2, func(*state.Record) {})
	check(got, nil)
	r3, got, evs := step(r2, func(r *state.Record) {
		r.Status = state.StatusRunning
		r.Stages[1].Status = state.StageSucceeded
		r.Stages[1].Metadata["approvals"] = "bob"
		r.Stages[2].Status = state.StageRunning
	})
	check(got, []Type{DeploymentApproved, StageSucceeded, StageStarted})
	if evs[0].Actor != "bob" {
		t.Errorf("approved by %q", evs[0].Actor)
	}
	r4, got, evs := step(r3, func(r *state.Record) {
		r.Stages[2].Status, r.Stages[2].Reason = state.StageFailed, "metric error_rate failed"
		r.Stages[2].Analysis = &state.Analysis{Verdict: "FAIL", Reason: "error_rate: 3 failures",
			Analyzers: []state.AnalysisAnalyzer{{Name: "metrics[0]", Label: "error_rate", Expected: "x <= 0.05", FailureLimit: 3, Failures: 3}},
			Ticks:     []state.AnalysisTick{{Analyzer: "metrics[0]", Verdict: "FAIL", Reason: "0.07 > 0.05", Values: &state.AnalysisValues{N: 10, Last: 0.07, Mean: 0.06}}}}
		r.Status, r.Reason = state.StatusRollingBack, "stage s3 (ANALYSIS) failed"
		r.Stages[3].Status = state.StageRunning
	})
	check(got, []Type{StageFailed, AnalysisFailed, StageStarted, DeploymentRollingBack})
	if a := evs[1].Analysis; a == nil || a.Metric != "error_rate" || a.Threshold != "x <= 0.05" || a.Reason != "0.07 > 0.05" || !strings.HasPrefix(a.Value, "0.07") {
		t.Errorf("analysis %+v", evs[1].Analysis)
	}
	_, got, evs = step(r4, func(r *state.Record) {
		r.Stages[3].Status = state.StageSucceeded
		r.Status, r.Reason = state.StatusFailed, "stage s3 (ANALYSIS) failed; rolled back"
	})
	check(got, []Type{StageSucceeded, DeploymentFailed})
	f := evs[1]
	if f.Summary != "stage s3 (ANALYSIS) failed; rolled back" || len(f.Deployment.Stages) != 4 || f.Deployment.Stages[0].Duration != 90*time.Second {
		t.Errorf("%+v", f.Deployment)
	}
	for _, e := range evs {
		if e.Group != GroupOf(e.Type) {
			t.Errorf("%s in group %s", e.Type, e.Group)
		}
	}
}

func TestTransitionsCancelled(t *testing.T) {
	prev := &state.Record{ID: "d", Status: state.StatusRunning}
	rec := prev.Clone()
	rec.Status, rec.Reason = state.StatusCancelled, "cancelled by carol: bad metrics"
	evs := Transitions(prev, rec, App{Name: "web"}, Context{})
	if len(evs) != 1 || evs[0].Type != DeploymentCancelled || evs[0].Actor != "carol" {
		t.Errorf("%+v", evs)
	}
}
