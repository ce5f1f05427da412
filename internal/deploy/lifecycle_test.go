package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// recordStore is a Store over a list of records.
type recordStore struct {
	recs    []*state.Record
	updated []string
}

func (s *recordStore) LastSuccessful(context.Context, string) (*state.Record, error) {
	return nil, state.ErrNotFound
}
func (s *recordStore) History(context.Context, string, int) ([]*state.Record, error) {
	out := make([]*state.Record, len(s.recs))
	for i, r := range s.recs {
		out[len(s.recs)-1-i] = r
	}
	return out, nil
}
func (s *recordStore) Begin(_ context.Context, r *state.Record) error {
	s.recs = append(s.recs, r)
	return nil
}
func (s *recordStore) Update(_ context.Context, r *state.Record) error {
	s.updated = append(s.updated, r.ID+"="+string(r.Status))
	return nil
}
func (s *recordStore) Lock(context.Context, string, state.LockRequest) (*state.Lock, error) {
	return &state.Lock{}, nil
}
func (s *recordStore) Renew(context.Context, *state.Lock) error  { return nil }
func (s *recordStore) Unlock(context.Context, *state.Lock) error { return nil }
func (s *recordStore) Get(_ context.Context, _, id string) (*state.Record, error) {
	for _, r := range s.recs {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, state.ErrNotFound
}
func (s *recordStore) Running(context.Context, string) ([]*state.Record, error) {
	var out []*state.Record
	for _, r := range s.recs {
		if !r.Status.IsTerminal() {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestCheckPaused(t *testing.T) {
	st := &recordStore{recs: []*state.Record{{ID: "A", App: "web", Status: state.StatusRunning, Target: state.Commit{Hash: "abcdef0123"}}}}
	if err := checkPaused(context.Background(), st, "web"); err != nil {
		t.Errorf("a running deployment is the lock's business: %v", err)
	}
	st.recs = append(st.recs, &state.Record{ID: "B", App: "web", Status: state.StatusWaitingApproval, Target: state.Commit{Hash: "1234567890"}})
	err := checkPaused(context.Background(), st, "web")
	if !errors.Is(err, ErrPaused) || !strings.Contains(err.Error(), "deployment B of web (1234567) is waiting for approval") {
		t.Errorf("err = %v", err)
	}
}

func TestSupersedeAbandoned(t *testing.T) {
	old := &state.Record{ID: "OLD", App: "web", Status: state.StatusRunning,
		Stages: []state.Stage{{ID: "s0", Status: state.StageSucceeded}, {ID: "s1", Status: state.StageRunning}}}
	paused := &state.Record{ID: "P", App: "web", Status: state.StatusWaitingApproval}
	cur := &state.Record{ID: "NEW", App: "web", Status: state.StatusRunning}
	st := &recordStore{recs: []*state.Record{old, paused, cur}}
	e := &Env{Now: time.Now}
	var msgs []string
	e.supersede(context.Background(), st, cur, func(f string, args ...any) { msgs = append(msgs, f) })
	if old.Status != state.StatusCancelled || !strings.Contains(old.Reason, "superseded by deployment NEW") || old.Stages[1].Status != state.StageCancelled {
		t.Errorf("old: %s %q %s", old.Status, old.Reason, old.Stages[1].Status)
	}
	if paused.Status != state.StatusWaitingApproval || cur.Status != state.StatusRunning {
		t.Errorf("paused %s, current %s", paused.Status, cur.Status)
	}
	if strings.Join(st.updated, ",") != "OLD=CANCELLED" || len(msgs) != 1 {
		t.Errorf("updated %v, messages %v", st.updated, msgs)
	}
}

func TestSameStages(t *testing.T) {
	p := &plan.Plan{Stages: []plan.Stage{{ID: "stage-0", Name: "K8S_CANARY_ROLLOUT"}, {ID: "Rollback", Name: plan.StageRollback}}}
	rec := &state.Record{Stages: []state.Stage{{ID: "stage-0", Name: "K8S_CANARY_ROLLOUT"}, {ID: "Rollback", Name: "ROLLBACK"}}}
	if err := sameStages(p, rec); err != nil {
		t.Error(err)
	}
	rec.Stages[0].Name = "K8S_PRIMARY_ROLLOUT"
	if err := sameStages(p, rec); err == nil || !strings.Contains(err.Error(), "the pipeline changed since it started") {
		t.Errorf("err = %v", err)
	}
	rec.Stages = rec.Stages[:1]
	if err := sameStages(p, rec); err == nil {
		t.Error("no error for a different number of stages")
	}
}

func TestRedactor(t *testing.T) {
	r := redactor([]string{"hunter2", "tok-123456"}, []string{"GITHUB_TOKEN=ghp_abcdef", "HOME=/root", "DB_PASSWORD=pw-9876"}, nil,
		func(s string) string { return strings.ReplaceAll(s, "extra", "[x]") })
	got := r.Mask("hunter2 tok-123456 ghp_abcdef /root pw-9876 extra")
	if got != "*** *** *** /root *** [x]" {
		t.Errorf("got %q", got)
	}
}

// PREVIOUS compares with the latest successful deployment that passed the
// same analysis stage, passing over later deployments without it (a quick
// sync) and failed ones.
func TestPreviousAnalysisSkipsDeploymentsWithoutIt(t *testing.T) {
	passed := &state.Analysis{StartedAt: time.Unix(100, 0), Verdict: state.VerdictPass}
	store := &recordStore{recs: []*state.Record{
		{ID: "1", Status: state.StatusSucceeded, Stages: []state.Stage{{ID: "stage-1", Name: "ANALYSIS", Analysis: passed}}},
		{ID: "2", Status: state.StatusFailed, Stages: []state.Stage{{ID: "stage-1", Name: "ANALYSIS", Analysis: &state.Analysis{StartedAt: time.Unix(200, 0), Verdict: state.VerdictFail}}}},
		{ID: "3", Status: state.StatusSucceeded, Stages: []state.Stage{{ID: "stage-0", Name: "K8S_SYNC"}}},
	}}
	e := &Env{Records: store, Now: time.Now}
	got, err := e.previousAnalysis("web")(context.Background(), "stage-1")
	if err != nil || got != passed {
		t.Fatalf("got %+v, %v; want the analysis of deployment 1", got, err)
	}
	if got, err := e.previousAnalysis("web")(context.Background(), "stage-9"); err != nil || got != nil {
		t.Errorf("an unknown stage: %+v, %v", got, err)
	}
}
