package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// memStore keeps every written version of the record.
type memStore struct {
	mu       sync.Mutex
	versions []*state.Record
	current  *state.Record
}

func (s *memStore) Update(_ context.Context, rec *state.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Revision++
	s.versions = append(s.versions, rec.Clone())
	s.current = rec.Clone()
	return nil
}

func (s *memStore) Get(_ context.Context, app, id string) (*state.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.ID != id {
		return nil, state.ErrNotFound
	}
	return s.current.Clone(), nil
}

// statuses lists the deployment statuses written, without repeats.
func (s *memStore) statuses() []state.DeploymentStatus {
	var out []state.DeploymentStatus
	for _, v := range s.versions {
		if len(out) == 0 || out[len(out)-1] != v.Status {
			out = append(out, v.Status)
		}
	}
	return out
}

// fakePlatform records the stages it ran; fail makes a stage fail, block
// makes it wait for its context.
type fakePlatform struct {
	mu      sync.Mutex
	ran     []string
	fail    map[string]error
	block   map[string]bool
	started chan string
	rolled  int
	rollErr error
}

func (p *fakePlatform) RunStage(ctx context.Context, st *Stage) error {
	p.mu.Lock()
	p.ran = append(p.ran, st.Plan.ID)
	p.mu.Unlock()
	st.SetMeta("ran", "yes")
	if p.started != nil {
		p.started <- st.Plan.ID
	}
	if p.block[st.Plan.ID] {
		<-ctx.Done()
		return fmt.Errorf("wait for readiness: %w", ctx.Err())
	}
	return p.fail[st.Plan.ID]
}

func (p *fakePlatform) Rollback(ctx context.Context, st *Stage) error {
	p.rolled++
	st.SetMeta("deleted", "Deployment web-canary")
	return p.rollErr
}

func pipelineApp(t *testing.T, stages ...config.PipelineStage) *config.App {
	t.Helper()
	spec := &config.KubernetesApplicationSpec{}
	spec.Name = "web"
	spec.Pipeline = &config.DeploymentPipeline{Stages: stages}
	return &config.App{Name: "web", Kind: config.KindKubernetesApp, Spec: spec}
}

func planOf(app *config.App, autoRollback bool, skip map[int]string) *plan.Plan {
	p := &plan.Plan{AutoRollback: autoRollback, Strategy: plan.StrategyPipeline}
	for i, s := range app.Spec.Generic().Pipeline.Stages {
		id := s.ID
		if id == "" {
			id = fmt.Sprintf("stage-%d", i)
		}
		p.Stages = append(p.Stages, plan.Stage{ID: id, Name: s.Name, Index: i, Timeout: s.Timeout, Skip: skip[i]})
	}
	if autoRollback {
		p.Stages = append(p.Stages, plan.Stage{ID: "Rollback", Name: plan.StageRollback, Index: -1, Predefined: true, Rollback: true})
		for i, s := range app.Spec.Generic().Pipeline.Stages {
			if o, ok := s.With.(*config.ScriptRunStageOptions); ok && o.OnRollback != "" {
				p.Stages = append(p.Stages, plan.Stage{ID: "ScriptRunRollback-" + p.Stages[i].ID, Name: plan.StageScriptRunRollback,
					Index: -1, Predefined: true, Rollback: true, RollbackOf: p.Stages[i].ID})
			}
		}
	}
	return p
}

func newDeployment(app *config.App, p *plan.Plan) *Deployment {
	rec := &state.Record{ID: "D1", App: app.Name, Target: state.Commit{Hash: strings.Repeat("a", 40)},
		Strategy: state.StrategyPipeline, Stages: NewRecordStages(p), Status: state.StatusRunning}
	return &Deployment{App: app, Plan: p, Record: rec}
}

func newEngine(store *memStore, pf Platform) (*Engine, *[]Event) {
	var mu sync.Mutex
	var events []Event
	return &Engine{Store: store, Platform: pf, Now: time.Now, PollInterval: 10 * time.Millisecond,
		Events: func(ev Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }}, &events
}

func k8s(name config.StageName) config.PipelineStage { return config.PipelineStage{Name: name} }

func stageStatuses(rec *state.Record) string {
	var parts []string
	for _, s := range rec.Stages {
		parts = append(parts, s.ID+"="+string(s.Status))
	}
	return strings.Join(parts, " ")
}

func TestRunSucceedsInOrderAndSkips(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sCanaryRollout), k8s(config.StageK8sPrimaryRollout), k8s(config.StageK8sCanaryClean))
	p := planOf(app, true, map[int]string{1: "commit message prefix [skip]"})
	d := newDeployment(app, p)
	store, pf := &memStore{}, &fakePlatform{}
	e, _ := newEngine(store, pf)
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pf.ran, ","); got != "stage-0,stage-2" {
		t.Errorf("ran %s", got)
	}
	want := "stage-0=SUCCEEDED stage-1=SKIPPED stage-2=SUCCEEDED Rollback=NOT_STARTED"
	if got := stageStatuses(store.current); got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if store.current.Status != state.StatusSucceeded || store.current.Stages[1].Reason == "" {
		t.Errorf("record %s, skip reason %q", store.current.Status, store.current.Stages[1].Reason)
	}
	if store.current.Stages[0].Metadata["ran"] != "yes" {
		t.Errorf("stage metadata not recorded: %v", store.current.Stages[0].Metadata)
	}
	// Every transition is a write: RUNNING of each stage, its end, the skip.
	if n := len(store.versions); n < 6 {
		t.Errorf("only %d checkpoints", n)
	}
}

func TestFailureRollsBack(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sCanaryRollout), k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, true, nil))
	store := &memStore{}
	pf := &fakePlatform{fail: map[string]error{"stage-1": errors.New("Deployment web: 0 of 2 replicas available")}}
	e, _ := newEngine(store, pf)
	err := e.Run(context.Background(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Status != state.StatusFailed || !f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if got, want := fmt.Sprint(store.statuses()), "[RUNNING ROLLING_BACK FAILED]"; got != want {
		t.Errorf("statuses %s, want %s", got, want)
	}
	rec := store.current
	if !strings.Contains(rec.Reason, "stage-1 (K8S_PRIMARY_ROLLOUT) failed: Deployment web: 0 of 2 replicas available; rolled back") {
		t.Errorf("reason %q", rec.Reason)
	}
	if got := stageStatuses(rec); got != "stage-0=SUCCEEDED stage-1=FAILED Rollback=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
	if rec.Stages[2].Metadata["deleted"] == "" {
		t.Errorf("rollback metadata not recorded")
	}
}

func TestFailureWithoutAutoRollback(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, false, nil))
	store := &memStore{}
	pf := &fakePlatform{fail: map[string]error{"stage-0": errors.New("boom")}}
	e, _ := newEngine(store, pf)
	if err := e.Run(context.Background(), d); err == nil {
		t.Fatal("no error")
	}
	if pf.rolled != 0 || store.current.Status != state.StatusFailed {
		t.Errorf("rolled %d, status %s", pf.rolled, store.current.Status)
	}
	if got := fmt.Sprint(store.statuses()); got != "[RUNNING FAILED]" {
		t.Errorf("statuses %s", got)
	}
}

func TestRollbackFailureIsRecorded(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, true, nil))
	store := &memStore{}
	pf := &fakePlatform{fail: map[string]error{"stage-0": errors.New("boom")}, rollErr: errors.New("apiserver unreachable")}
	e, _ := newEngine(store, pf)
	err := e.Run(context.Background(), d)
	var f *Failure
	if !errors.As(err, &f) || f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(store.current.Reason, "the rollback failed: Rollback: apiserver unreachable") || store.current.Stages[1].Status != state.StageFailed {
		t.Errorf("reason %q, rollback stage %s", store.current.Reason, store.current.Stages[1].Status)
	}
}

func TestCancelRollsBackAndRecordsCancelled(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sCanaryRollout), k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, true, nil))
	store := &memStore{}
	pf := &fakePlatform{block: map[string]bool{"stage-0": true}, started: make(chan string, 4)}
	e, _ := newEngine(store, pf)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-pf.started; cancel() }()
	err := e.Run(ctx, d)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := fmt.Sprint(store.statuses()); got != "[RUNNING ROLLING_BACK CANCELLED]" {
		t.Errorf("statuses %s", got)
	}
	if got := stageStatuses(store.current); got != "stage-0=CANCELLED stage-1=NOT_STARTED Rollback=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
}

func TestStageTimeout(t *testing.T) {
	st := k8s(config.StageK8sPrimaryRollout)
	st.Timeout = config.Duration(50 * time.Millisecond)
	app := pipelineApp(t, st)
	d := newDeployment(app, planOf(app, false, nil))
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{block: map[string]bool{"stage-0": true}})
	err := e.Run(context.Background(), d)
	if err == nil || !strings.Contains(store.current.Reason, "the stage timed out after 50ms (timeout)") {
		t.Fatalf("err %v, reason %q", err, store.current.Reason)
	}
	if errors.Is(err, context.Canceled) {
		t.Error("a timeout is not a cancellation")
	}
}

func TestDeploymentTimeoutCountsFromStart(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, false, nil))
	d.Timeout = time.Second
	d.Record.StartedAt = time.Now().Add(-900 * time.Millisecond) // resumed: most of it is spent
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{block: map[string]bool{"stage-0": true}})
	start := time.Now()
	_ = e.Run(context.Background(), d)
	if el := time.Since(start); el > 700*time.Millisecond {
		t.Errorf("ran %s: the deadline should count from the deployment's start", el)
	}
	if !strings.Contains(store.current.Reason, "the deployment timed out after 1s (spec.timeout)") {
		t.Errorf("reason %q", store.current.Reason)
	}
}

func TestWaitResumesWithTheRemainder(t *testing.T) {
	app := pipelineApp(t, config.PipelineStage{Name: config.StageWait, With: &config.WaitStageOptions{Duration: config.Duration(2 * time.Second)}})
	d := newDeployment(app, planOf(app, false, nil))
	// A previous run started the WAIT 1.8s ago and was killed. The
	// engine's clock is fixed: with the real one, an engine slower than
	// 200ms to reach the stage found the WAIT over ("waited 2s", no
	// remainder).
	now := time.Now()
	d.Record.Stages[0].Status = state.StageRunning
	d.Record.Stages[0].StartedAt = now.Add(-1800 * time.Millisecond)
	d.Record.Stages[0].Metadata = map[string]string{MetaWaitStartedAt: now.Add(-1800 * time.Millisecond).Format(time.RFC3339Nano)}
	store := &memStore{}
	e, events := newEngine(store, nil)
	e.Now = func() time.Time { return now }
	start := time.Now()
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("waited %s: the WAIT restarted", el)
	}
	found := false
	for _, ev := range *events {
		if strings.Contains(ev.Message, "more (of 2s") {
			found = true
		}
	}
	if !found {
		t.Errorf("no remainder event in %v", *events)
	}
}

func TestWaitRecordsItsStart(t *testing.T) {
	app := pipelineApp(t, config.PipelineStage{Name: config.StageWait, With: &config.WaitStageOptions{Duration: config.Duration(30 * time.Millisecond)}})
	d := newDeployment(app, planOf(app, false, nil))
	store := &memStore{}
	e, _ := newEngine(store, nil)
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	// The start time was checkpointed while the stage was running.
	found := false
	for _, v := range store.versions {
		if v.Stages[0].Status == state.StageRunning && v.Stages[0].Metadata[MetaWaitStartedAt] != "" {
			found = true
		}
	}
	if !found {
		t.Error("the WAIT start was not checkpointed before waiting")
	}
}

func approvalApp(t *testing.T, approvers []string, min int) *config.App {
	return pipelineApp(t,
		k8s(config.StageK8sCanaryRollout),
		config.PipelineStage{ID: "approve", Name: config.StageWaitApproval, With: &config.WaitApprovalStageOptions{Approvers: approvers, MinApproverNum: min}},
		k8s(config.StageK8sPrimaryRollout))
}

func approvalOpts(app *config.App) func(string) *config.WaitApprovalStageOptions {
	return func(id string) *config.WaitApprovalStageOptions {
		for _, s := range app.Spec.Generic().Pipeline.Stages {
			if s.ID == id {
				return s.With.(*config.WaitApprovalStageOptions)
			}
		}
		return nil
	}
}

func TestApprovalPausesThenResumes(t *testing.T) {
	app := approvalApp(t, []string{"alice", "bob", "carol"}, 2)
	p := planOf(app, true, nil)
	d := newDeployment(app, p)
	store := &memStore{}
	pf := &fakePlatform{}
	e, _ := newEngine(store, pf)
	if err := e.Run(context.Background(), d); !errors.Is(err, ErrWaitingApproval) {
		t.Fatalf("err = %v", err)
	}
	if store.current.Status != state.StatusWaitingApproval || store.current.Stages[1].Status != state.StageRunning {
		t.Fatalf("record %s, stage %s", store.current.Status, store.current.Stages[1].Status)
	}
	rec := store.current.Clone()
	if _, _, err := Approve(rec, approvalOpts(app), "mallory"); err == nil || !strings.Contains(err.Error(), "may not approve") {
		t.Errorf("mallory: %v", err)
	}
	if _, done, err := Approve(rec, approvalOpts(app), "alice"); err != nil || done {
		t.Fatalf("alice: done %v, %v", done, err)
	}
	if _, _, err := Approve(rec, approvalOpts(app), "alice"); err == nil || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("alice twice: %v", err)
	}
	// One approval of two: resuming pauses again.
	d2 := &Deployment{App: app, Plan: p, Record: rec.Clone()}
	if err := e.Run(context.Background(), d2); !errors.Is(err, ErrWaitingApproval) {
		t.Fatalf("resume with one approval: %v", err)
	}
	rec = store.current.Clone()
	if _, done, err := Approve(rec, approvalOpts(app), "bob"); err != nil || !done {
		t.Fatalf("bob: done %v, %v", done, err)
	}
	pf.ran = nil
	d3 := &Deployment{App: app, Plan: p, Record: rec}
	if err := e.Run(context.Background(), d3); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pf.ran, ","); got != "stage-2" {
		t.Errorf("resume ran %s: finished stages must not run again", got)
	}
	if store.current.Status != state.StatusSucceeded || store.current.Stages[1].Metadata[MetaApprovals] != "alice,bob" {
		t.Errorf("record %s, approvals %q", store.current.Status, store.current.Stages[1].Metadata[MetaApprovals])
	}
}

func TestWaitApprovalPollsTheRecord(t *testing.T) {
	app := approvalApp(t, nil, 1)
	d := newDeployment(app, planOf(app, false, nil))
	d.WaitApproval = true
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{})
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background(), d) }()
	// Approve from "another process" once the stage is waiting.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := store.Get(context.Background(), "web", "D1")
		if err == nil && rec.Stages[1].Status == state.StageRunning {
			if _, _, err := Approve(rec, approvalOpts(app), "dave"); err != nil {
				t.Fatal(err)
			}
			if err := store.Update(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stage never waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if store.current.Status != state.StatusSucceeded {
		t.Errorf("status %s", store.current.Status)
	}
}

func TestApprovalTimeout(t *testing.T) {
	app := pipelineApp(t, config.PipelineStage{Name: config.StageWaitApproval, With: &config.WaitApprovalStageOptions{Timeout: config.Duration(time.Hour)}})
	d := newDeployment(app, planOf(app, false, nil))
	d.Record.Stages[0].Status = state.StageRunning
	d.Record.Stages[0].Metadata = map[string]string{MetaApprovalSince: time.Now().Add(-2 * time.Hour).Format(time.RFC3339Nano)}
	store := &memStore{}
	e, _ := newEngine(store, nil)
	if err := e.Run(context.Background(), d); err == nil || !strings.Contains(store.current.Reason, "not approved within 1h0m0s") {
		t.Fatalf("err %v, reason %q", err, store.current.Reason)
	}
}

func TestApproveRefusesFinishedAndNotWaiting(t *testing.T) {
	app := approvalApp(t, nil, 1)
	d := newDeployment(app, planOf(app, false, nil))
	if _, _, err := Approve(d.Record, approvalOpts(app), "alice"); err == nil || !strings.Contains(err.Error(), "not waiting for approval") {
		t.Errorf("not waiting: %v", err)
	}
	d.Record.Status = state.StatusSucceeded
	if _, _, err := Approve(d.Record, approvalOpts(app), "alice"); err == nil || !strings.Contains(err.Error(), "has finished") {
		t.Errorf("finished: %v", err)
	}
}

func TestAnalysisWithoutDurationFailsClearly(t *testing.T) {
	app := pipelineApp(t, config.PipelineStage{Name: config.StageAnalysis, With: &config.AnalysisStageOptions{}})
	d := newDeployment(app, planOf(app, false, nil))
	store := &memStore{}
	e, _ := newEngine(store, nil)
	if err := e.Run(context.Background(), d); err == nil || !strings.Contains(store.current.Reason, "the ANALYSIS stage has no duration: set with.duration") {
		t.Fatalf("err %v, reason %q", err, store.current.Reason)
	}
}

func TestLockLostDoesNotRollBack(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, true, nil))
	store := &memStore{}
	pf := &fakePlatform{block: map[string]bool{"stage-0": true}, started: make(chan string, 1)}
	e, _ := newEngine(store, pf)
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { <-pf.started; cancel(state.ErrLockLost) }()
	if err := e.Run(ctx, d); err == nil {
		t.Fatal("no error")
	}
	if pf.rolled != 0 || store.current.Status != state.StatusFailed || !strings.Contains(store.current.Reason, "not rolled back: another deployment took the lock over") {
		t.Errorf("rolled %d, %s %q", pf.rolled, store.current.Status, store.current.Reason)
	}
}

func TestResumeWhileRollingBackFinishesTheRollback(t *testing.T) {
	app := pipelineApp(t, k8s(config.StageK8sCanaryRollout), k8s(config.StageK8sPrimaryRollout))
	d := newDeployment(app, planOf(app, true, nil))
	d.Record.Status, d.Record.Reason = state.StatusRollingBack, "stage stage-1 (K8S_PRIMARY_ROLLOUT) failed: boom"
	d.Record.Stages[0].Status = state.StageSucceeded
	d.Record.Stages[1].Status = state.StageFailed
	d.Record.Stages[2].Status = state.StageRunning // the rollback, killed
	store := &memStore{}
	pf := &fakePlatform{}
	e, _ := newEngine(store, pf)
	err := e.Run(context.Background(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Status != state.StatusFailed || !f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if len(pf.ran) != 0 || pf.rolled != 1 {
		t.Errorf("ran %v, rolled back %d times", pf.ran, pf.rolled)
	}
	if got := store.current.Reason; got != "stage stage-1 (K8S_PRIMARY_ROLLOUT) failed: boom; rolled back" {
		t.Errorf("reason %q", got)
	}
}
