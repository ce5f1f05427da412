package terraform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// fakeWorkspace is a StageWorkspace whose Plan returns queued plans
// (or errors) and whose Apply records the files applied and returns queued
// errors. onApply, when set, runs before Apply returns (to inspect the
// record the engine wrote before terraform would start).
type fakeWorkspace struct {
	mu       sync.Mutex
	plans    []*Plan
	planErrs []error
	applyErr []error
	planned  int
	applied  []string
	onApply  func(file string)
}

func (w *fakeWorkspace) Plan(ctx context.Context) (*Plan, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := w.planned
	w.planned++
	if i < len(w.planErrs) && w.planErrs[i] != nil {
		return nil, w.planErrs[i]
	}
	if i >= len(w.plans) || w.plans[i] == nil {
		return nil, fmt.Errorf("fake workspace: plan %d was not queued", i+1)
	}
	return w.plans[i], nil
}

func (w *fakeWorkspace) Apply(ctx context.Context, file string) error {
	if w.onApply != nil {
		w.onApply(file)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	i := len(w.applied)
	w.applied = append(w.applied, file)
	if i < len(w.applyErr) {
		return w.applyErr[i]
	}
	return nil
}

func tfPlan(file, fingerprint string, add, change, destroy int) *Plan {
	return &Plan{File: file, Fingerprint: fingerprint, HasChanges: add+change+destroy > 0,
		Counts: Counts{Add: add, Change: change, Destroy: destroy}}
}

func noChanges(file, fingerprint string) *Plan {
	return &Plan{File: file, Fingerprint: fingerprint}
}

// tfPipelineApp is a TerraformApp with a pipeline.
func tfPipelineApp(stages ...config.PipelineStage) *config.App {
	spec := &config.TerraformApplicationSpec{}
	spec.Name = "infra"
	if len(stages) > 0 {
		spec.Pipeline = &config.DeploymentPipeline{Stages: stages}
	}
	return &config.App{Name: "infra", Kind: config.KindTerraformApp, Spec: spec}
}

func tfStage(name config.StageName, id string, with any) config.PipelineStage {
	return config.PipelineStage{ID: id, Name: name, With: with}
}

// quickSyncDeployment is a TerraformApp deployed by its predefined
// TERRAFORM_SYNC stage, with a ROLLBACK stage when autoRollback.
func quickSyncDeployment(autoRollback bool) *execute.Deployment {
	app := tfPipelineApp()
	p := &plan.Plan{AutoRollback: autoRollback, Strategy: plan.StrategyQuickSync, Stages: []plan.Stage{
		{ID: "TerraformSync", Name: config.StageTerraformSync, Index: -1, Predefined: true},
	}}
	if autoRollback {
		p.Stages = append(p.Stages, plan.Stage{ID: "Rollback", Name: plan.StageRollback, Index: -1, Predefined: true, Rollback: true})
	}
	return executetest.NewDeployment(app, p)
}

func TestTerraformSyncAppliesChanges(t *testing.T) {
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/p1.tfplan", "sha256:aaa", 2, 1, 3)}}
	store := &executetest.Store{}
	var startedBeforeApply string
	ws.onApply = func(string) {
		// The record says the apply started before terraform runs, so a
		// killed job leaves a record that a rollback can trust.
		if s := executetest.Find(store.Current(), "TerraformSync"); s != nil {
			startedBeforeApply = s.Metadata[metaTFApplied]
		}
	}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), quickSyncDeployment(false)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/p1.tfplan" {
		t.Errorf("applied %q, want the plan's file", got)
	}
	if startedBeforeApply != "started" {
		t.Errorf("the store's record at Apply says applied=%q, want started", startedBeforeApply)
	}
	s := executetest.Stage(t, store.Current(), "TerraformSync")
	want := map[string]string{"add": "2", "change": "1", "destroy": "3", metaTFFingerprint: "sha256:aaa", metaTFApplied: "true"}
	for k, v := range want {
		if s.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q (all: %v)", k, s.Metadata[k], v, s.Metadata)
		}
	}
	if s.Status != state.StageSucceeded || store.Current().Status != state.StatusSucceeded {
		t.Errorf("stage %s, deployment %s", s.Status, store.Current().Status)
	}
	if txt := events.Text(); !strings.Contains(txt, "applying: ") {
		t.Errorf("no applying event:\n%s", txt)
	}
}

func TestTerraformSyncNoChangesAppliesNothing(t *testing.T) {
	ws := &fakeWorkspace{plans: []*Plan{noChanges("/tmp/p1.tfplan", "sha256:none")}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), quickSyncDeployment(false)); err != nil {
		t.Fatal(err)
	}
	if len(ws.applied) != 0 {
		t.Errorf("applied %v with no changes", ws.applied)
	}
	s := executetest.Stage(t, store.Current(), "TerraformSync")
	if s.Metadata[metaTFApplied] != "false" || s.Metadata["add"] != "0" {
		t.Errorf("metadata %v, want applied=false and zero counts", s.Metadata)
	}
	if txt := events.Text(); !strings.Contains(txt, "nothing to apply") {
		t.Errorf("no 'nothing to apply' event:\n%s", txt)
	}
}

func TestTerraformSyncRetriesWithNewPlan(t *testing.T) {
	ws := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/p1.tfplan", "sha256:one", 1, 0, 0), tfPlan("/tmp/p2.tfplan", "sha256:two", 1, 0, 0)},
		applyErr: []error{errors.New("apply in /app: Error creating bucket: throttled")},
	}
	store := &executetest.Store{}
	tf := &Runner{Head: ws, QuickSync: config.TerraformApplyStageOptions{Retries: 1}}
	e, events := executetest.NewEngine(store, tf)
	if err := e.Run(context.Background(), quickSyncDeployment(false)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/p1.tfplan,/tmp/p2.tfplan" {
		t.Errorf("applied %q, want the first plan then the new one", got)
	}
	s := executetest.Stage(t, store.Current(), "TerraformSync")
	if s.Metadata[metaTFApplied] != "true" || s.Metadata[metaTFFingerprint] != "sha256:two" {
		t.Errorf("metadata %v", s.Metadata)
	}
	if txt := events.Text(); !strings.Contains(txt, "WARN TerraformSync: apply failed (attempt 1 of 2)") {
		t.Errorf("no retry warning:\n%s", txt)
	}
}

func TestTerraformSyncRetryPlanFailureKeepsApplyError(t *testing.T) {
	ws := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/p1.tfplan", "sha256:one", 1, 0, 0)},
		planErrs: []error{nil, errors.New("plan in /app: terraform state is locked")},
		applyErr: []error{errors.New("apply in /app: Error creating bucket: throttled")},
	}
	store := &executetest.Store{}
	// The stage's own retries win over quickSync's.
	app := tfPipelineApp(tfStage(config.StageTerraformSync, "sync", &config.TerraformSyncStageOptions{Retries: 2}))
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), d)
	var f *execute.Failure
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a *execute.Failure", err)
	}
	for _, want := range []string{"Error creating bucket: throttled", "terraform state is locked"} {
		if !strings.Contains(err.Error(), want) || !strings.Contains(store.Current().Reason, want) {
			t.Errorf("error %q / reason %q lack %q", err, store.Current().Reason, want)
		}
	}
	if ws.planned != 2 || len(ws.applied) != 1 {
		t.Errorf("planned %d times, applied %v", ws.planned, ws.applied)
	}
	if s := executetest.Stage(t, store.Current(), "sync"); s.Metadata[metaTFApplied] != "started" || s.Status != state.StageFailed {
		t.Errorf("stage %s, metadata %v: a failed apply must stay recorded as started", s.Status, s.Metadata)
	}
}

func TestTerraformSyncNoRetries(t *testing.T) {
	ws := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/p1.tfplan", "sha256:one", 1, 0, 0)},
		applyErr: []error{errors.New("apply in /app: boom")},
	}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), quickSyncDeployment(false))
	if err == nil || !strings.Contains(err.Error(), "apply in /app: boom") {
		t.Fatalf("err = %v", err)
	}
	if ws.planned != 1 {
		t.Errorf("planned %d times without retries", ws.planned)
	}
}

func TestTerraformPlanExitOnNoChanges(t *testing.T) {
	app := tfPipelineApp(
		tfStage(config.StageTerraformPlan, "plan", &config.TerraformPlanStageOptions{ExitOnNoChanges: true}),
		tfStage(config.StageWaitApproval, "approve", nil),
		tfStage(config.StageTerraformApply, "apply", &config.TerraformApplyStageOptions{}),
	)
	d := executetest.NewDeployment(app, executetest.PlanOf(app, true, nil))
	ws := &fakeWorkspace{plans: []*Plan{noChanges("/tmp/p1.tfplan", "sha256:none")}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	rec := store.Current()
	if rec.Status != state.StatusSucceeded {
		t.Errorf("deployment %s (%s)", rec.Status, rec.Reason)
	}
	if got, want := executetest.Statuses(rec), "plan=SUCCEEDED approve=SKIPPED apply=SKIPPED Rollback=NOT_STARTED"; got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if r := executetest.Stage(t, rec, "apply").Reason; !strings.Contains(r, "exitOnNoChanges") {
		t.Errorf("skip reason %q", r)
	}
	if len(ws.applied) != 0 {
		t.Errorf("applied %v", ws.applied)
	}
}

func TestTerraformPlanWithoutExitContinues(t *testing.T) {
	app := tfPipelineApp(
		tfStage(config.StageTerraformPlan, "plan", nil),
		tfStage(config.StageTerraformApply, "apply", nil),
	)
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	ws := &fakeWorkspace{plans: []*Plan{noChanges("/tmp/p1.tfplan", "sha256:none")}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := executetest.Statuses(store.Current()); got != "plan=SUCCEEDED apply=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
	if ws.planned != 1 || len(ws.applied) != 0 {
		t.Errorf("planned %d, applied %v", ws.planned, ws.applied)
	}
	if s := executetest.Stage(t, store.Current(), "apply"); s.Metadata[metaTFApplied] != "false" {
		t.Errorf("apply metadata %v", s.Metadata)
	}
	if txt := events.Text(); !strings.Contains(txt, "the reviewed plan has no changes") {
		t.Errorf("events:\n%s", txt)
	}
}

func TestTerraformPlanThenApplySameProcess(t *testing.T) {
	app := tfPipelineApp(
		tfStage(config.StageTerraformPlan, "plan", nil),
		tfStage(config.StageTerraformApply, "apply", nil),
	)
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/reviewed.tfplan", "sha256:reviewed", 1, 2, 0)}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/reviewed.tfplan" {
		t.Errorf("applied %q, want exactly the planned file", got)
	}
	if ws.planned != 1 {
		t.Errorf("planned %d times, want once", ws.planned)
	}
	rec := store.Current()
	if fp := executetest.Stage(t, rec, "plan").Metadata[metaTFFingerprint]; fp != "sha256:reviewed" {
		t.Errorf("plan fingerprint %q", fp)
	}
	if m := executetest.Stage(t, rec, "apply").Metadata; m[metaTFApplied] != "true" || m["change"] != "2" {
		t.Errorf("apply metadata %v", m)
	}
	if txt := events.Text(); !strings.Contains(txt, "plan: ") || !strings.Contains(txt, "applying the plan of plan") {
		t.Errorf("events:\n%s", txt)
	}
}

// resumedApply is a deployment resumed by a new process at its
// TERRAFORM_APPLY: the TERRAFORM_PLAN stage succeeded earlier and recorded
// the fingerprint of the reviewed plan.
func resumedApply(t *testing.T, retries int, autoRollback bool) *execute.Deployment {
	t.Helper()
	app := tfPipelineApp(
		tfStage(config.StageTerraformPlan, "plan", nil),
		tfStage(config.StageWaitApproval, "approve", nil),
		tfStage(config.StageTerraformApply, "apply", &config.TerraformApplyStageOptions{Retries: retries}),
	)
	d := executetest.NewDeployment(app, executetest.PlanOf(app, autoRollback, nil))
	ps := executetest.Stage(t, d.Record, "plan")
	ps.Status = state.StageSucceeded
	ps.Metadata = map[string]string{metaTFFingerprint: "sha256:reviewed", "add": "1", "change": "0", "destroy": "0"}
	executetest.Stage(t, d.Record, "approve").Status = state.StageSucceeded
	return d
}

func TestTerraformApplyResumedSameFingerprint(t *testing.T) {
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/new.tfplan", "sha256:reviewed", 1, 0, 0)}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), resumedApply(t, 0, false)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/new.tfplan" {
		t.Errorf("applied %q", got)
	}
	if m := executetest.Stage(t, store.Current(), "apply").Metadata; m[metaTFApplied] != "true" {
		t.Errorf("apply metadata %v", m)
	}
}

func TestTerraformApplyResumedPlanChanged(t *testing.T) {
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/new.tfplan", "sha256:different", 0, 0, 4)}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), resumedApply(t, 3, false))
	if err == nil || !strings.Contains(err.Error(), "the plan changed since stage plan") || !strings.Contains(err.Error(), "nothing was applied") {
		t.Fatalf("err = %v", err)
	}
	if len(ws.applied) != 0 {
		t.Errorf("applied %v a plan nobody reviewed", ws.applied)
	}
	if ws.planned != 1 {
		t.Errorf("planned %d times: a changed plan is not retried", ws.planned)
	}
	if s := executetest.Stage(t, store.Current(), "apply"); s.Status != state.StageFailed || s.Metadata[metaTFApplied] != "" {
		t.Errorf("apply stage %s, metadata %v", s.Status, s.Metadata)
	}
}

func TestTerraformApplyUsesPrepared(t *testing.T) {
	ws := &fakeWorkspace{}
	store := &executetest.Store{}
	tf := &Runner{Head: ws, Prepared: tfPlan("/tmp/prepared.tfplan", "sha256:reviewed", 1, 0, 0)}
	e, events := executetest.NewEngine(store, tf)
	if err := e.Run(context.Background(), resumedApply(t, 0, false)); err != nil {
		t.Fatal(err)
	}
	if ws.planned != 0 {
		t.Errorf("planned %d times with a prepared plan", ws.planned)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/prepared.tfplan" {
		t.Errorf("applied %q", got)
	}
	if tf.Prepared != nil {
		t.Errorf("the prepared plan was not consumed")
	}
	if txt := events.Text(); strings.Contains(txt, "planning") {
		t.Errorf("planned again:\n%s", txt)
	}
}

func TestTerraformPlanStageUsesPrepared(t *testing.T) {
	app := tfPipelineApp(tfStage(config.StageTerraformPlan, "plan", nil), tfStage(config.StageTerraformApply, "apply", nil))
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	ws := &fakeWorkspace{}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws, Prepared: tfPlan("/tmp/prepared.tfplan", "sha256:p", 0, 1, 0)})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if ws.planned != 0 || strings.Join(ws.applied, ",") != "/tmp/prepared.tfplan" {
		t.Errorf("planned %d, applied %v", ws.planned, ws.applied)
	}
}

func TestTerraformApplyStalePlan(t *testing.T) {
	app := tfPipelineApp(tfStage(config.StageTerraformPlan, "plan", nil), tfStage(config.StageTerraformApply, "apply", &config.TerraformApplyStageOptions{Retries: 2}))
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	stale := &Error{Command: "apply", Dir: "/app", Kind: ErrStalePlan, Message: "the saved plan is stale"}
	ws := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/p.tfplan", "sha256:reviewed", 1, 0, 0)},
		applyErr: []error{fmt.Errorf("apply: %w", stale)},
	}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), d)
	if err == nil || !strings.Contains(err.Error(), "is stale") || !strings.Contains(err.Error(), "nothing was applied") {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, ErrStalePlan) {
		t.Errorf("err does not match ErrStalePlan: %v", err)
	}
	// Terraform refused the plan: no retry with a new plan.
	if ws.planned != 1 || len(ws.applied) != 1 {
		t.Errorf("planned %d, apply attempts %v", ws.planned, ws.applied)
	}
}

func TestTerraformApplyRetryPlanDiffers(t *testing.T) {
	ws := &fakeWorkspace{
		plans: []*Plan{
			tfPlan("/tmp/p1.tfplan", "sha256:reviewed", 1, 0, 0),
			tfPlan("/tmp/p2.tfplan", "sha256:after-partial-apply", 0, 1, 0),
		},
		applyErr: []error{errors.New("apply in /app: Error: quota exceeded")},
	}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), resumedApply(t, 1, false))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"quota exceeded", "not retried", "differs from the one reviewed at plan"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/p1.tfplan" {
		t.Errorf("applied %q, want only the reviewed plan", got)
	}
}

func TestTerraformApplyRetrySameFingerprint(t *testing.T) {
	ws := &fakeWorkspace{
		plans: []*Plan{
			tfPlan("/tmp/p1.tfplan", "sha256:reviewed", 1, 0, 0),
			tfPlan("/tmp/p2.tfplan", "sha256:reviewed", 1, 0, 0),
		},
		applyErr: []error{errors.New("apply in /app: Error: rate limited")},
	}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), resumedApply(t, 1, false)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ws.applied, ","); got != "/tmp/p1.tfplan,/tmp/p2.tfplan" {
		t.Errorf("applied %q", got)
	}
}

func TestTerraformApplyAfterSkippedPlan(t *testing.T) {
	app := tfPipelineApp(tfStage(config.StageTerraformPlan, "plan", nil), tfStage(config.StageTerraformApply, "apply", nil))
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, map[int]string{0: "commit message prefix [skip-plan]"}))
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/p.tfplan", "sha256:x", 1, 0, 0)}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: ws})
	err := e.Run(context.Background(), d)
	if err == nil || !strings.Contains(err.Error(), "stage plan (TERRAFORM_PLAN) was skipped") {
		t.Fatalf("err = %v", err)
	}
	if ws.planned != 0 || len(ws.applied) != 0 {
		t.Errorf("planned %d, applied %v", ws.planned, ws.applied)
	}
}

func TestTerraformApplyWithoutPlanStage(t *testing.T) {
	app := tfPipelineApp(tfStage(config.StageTerraformApply, "apply", nil))
	d := executetest.NewDeployment(app, executetest.PlanOf(app, false, nil))
	ws := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/p.tfplan", "sha256:x", 1, 0, 0)}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ws.applied, ",") != "/tmp/p.tfplan" {
		t.Errorf("applied %v", ws.applied)
	}
	if txt := events.Text(); !strings.Contains(txt, "WARN apply: no TERRAFORM_PLAN stage before this one") {
		t.Errorf("no warning:\n%s", txt)
	}
}

func TestTerraformRollbackNothingApplied(t *testing.T) {
	// The apply failed after a re-plan showed the reviewed changes were no
	// longer what would be applied: nothing of this deployment reached the
	// state, so the running workspace is not touched.
	head := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/p.tfplan", "sha256:changed", 1, 0, 0)}}
	running := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/running.tfplan", "sha256:r", 0, 0, 1)}}
	opened := 0
	tf := &Runner{Head: head, Running: func(context.Context) (StageWorkspace, func(), error) {
		opened++
		return running, func() {}, nil
	}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, tf)
	err := e.Run(context.Background(), resumedApply(t, 0, true))
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if opened != 0 || running.planned != 0 || len(running.applied) != 0 {
		t.Errorf("opened the running workspace %d times, planned %d, applied %v", opened, running.planned, running.applied)
	}
	if txt := events.Text(); !strings.Contains(txt, "Rollback: this deployment applied nothing") {
		t.Errorf("events:\n%s", txt)
	}
	if s := executetest.Stage(t, store.Current(), "Rollback"); s.Status != state.StageSucceeded {
		t.Errorf("rollback stage %s", s.Status)
	}
}

func TestTerraformRollbackAppliesRunning(t *testing.T) {
	for _, applied := range []string{"started", "true"} {
		t.Run(applied, func(t *testing.T) {
			d := quickSyncDeployment(true)
			// TERRAFORM_SYNC ran in an earlier job that was killed; the
			// record kept the apply's start.
			s := executetest.Stage(t, d.Record, "TerraformSync")
			s.Status, s.Metadata = state.StageFailed, map[string]string{metaTFApplied: applied}
			d.Record.Status = state.StatusRollingBack
			d.Record.Reason = "stage TerraformSync (TERRAFORM_SYNC) failed: apply in /app: boom"
			head := &fakeWorkspace{}
			running := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/running.tfplan", "sha256:r", 0, 1, 2)}}
			released := 0
			tf := &Runner{Head: head, Running: func(context.Context) (StageWorkspace, func(), error) {
				return running, func() { released++ }, nil
			}}
			store := &executetest.Store{}
			e, _ := executetest.NewEngine(store, tf)
			err := e.Run(context.Background(), d)
			var f *execute.Failure
			if !errors.As(err, &f) || !f.RolledBack {
				t.Fatalf("err = %v", err)
			}
			if running.planned != 1 || strings.Join(running.applied, ",") != "/tmp/running.tfplan" {
				t.Errorf("running workspace: planned %d, applied %v", running.planned, running.applied)
			}
			if head.planned != 0 || len(head.applied) != 0 {
				t.Errorf("head workspace used: planned %d, applied %v", head.planned, head.applied)
			}
			if released != 1 {
				t.Errorf("running workspace released %d times", released)
			}
			rb := executetest.Stage(t, store.Current(), "Rollback")
			if rb.Status != state.StageSucceeded || rb.Metadata["destroy"] != "2" || rb.Metadata[metaTFFingerprint] != "sha256:r" {
				t.Errorf("rollback stage %s, metadata %v", rb.Status, rb.Metadata)
			}
		})
	}
}

func TestTerraformRollbackAfterFailedApply(t *testing.T) {
	// A whole run: the apply fails (and started), the rollback applies the
	// running configuration.
	head := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/head.tfplan", "sha256:h", 3, 0, 0)},
		applyErr: []error{errors.New("apply in /app: Error: permission denied")},
	}
	running := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/running.tfplan", "sha256:r", 0, 0, 2)}}
	tf := &Runner{Head: head, Running: func(context.Context) (StageWorkspace, func(), error) { return running, func() {}, nil }}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, tf)
	err := e.Run(context.Background(), quickSyncDeployment(true))
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack || !strings.Contains(f.Reason, "permission denied") {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(running.applied, ",") != "/tmp/running.tfplan" {
		t.Errorf("running applied %v", running.applied)
	}
	if got := executetest.Statuses(store.Current()); got != "TerraformSync=FAILED Rollback=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
}

func TestTerraformRollbackWithoutRunning(t *testing.T) {
	head := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/head.tfplan", "sha256:h", 1, 0, 0)},
		applyErr: []error{errors.New("apply in /app: boom")},
	}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: head})
	err := e.Run(context.Background(), quickSyncDeployment(true))
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack {
		t.Fatalf("err = %v", err)
	}
	if txt := events.Text(); !strings.Contains(txt, "WARN Rollback: no successful deployment to roll back to") {
		t.Errorf("events:\n%s", txt)
	}
	if head.planned != 1 || len(head.applied) != 1 {
		t.Errorf("head planned %d, applied %v", head.planned, head.applied)
	}
}

func TestTerraformRollbackErrors(t *testing.T) {
	d := quickSyncDeployment(true)
	s := executetest.Stage(t, d.Record, "TerraformSync")
	s.Status, s.Metadata = state.StageFailed, map[string]string{metaTFApplied: "started"}
	d.Record.Status = state.StatusRollingBack
	tf := &Runner{Head: &fakeWorkspace{}, Running: func(context.Context) (StageWorkspace, func(), error) {
		return nil, nil, errors.New("check out commit bbbb: object not found")
	}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, tf)
	err := e.Run(context.Background(), d)
	var f *execute.Failure
	if !errors.As(err, &f) || f.RolledBack || !strings.Contains(f.Reason, "prepare the last successful deployment's configuration: check out commit bbbb") {
		t.Fatalf("err = %v", err)
	}
}

func TestTerraformRunStageRejectsOtherStages(t *testing.T) {
	tf := &Runner{Head: &fakeWorkspace{}}
	st := &execute.Stage{Plan: plan.Stage{ID: "x", Name: config.StageK8sSync}, Record: &state.Stage{}}
	if err := tf.RunStage(context.Background(), st); err == nil || !strings.Contains(err.Error(), "K8S_SYNC is not a Terraform stage") {
		t.Errorf("err = %v", err)
	}
}

func TestShortFingerprint(t *testing.T) {
	for in, want := range map[string]string{
		"sha256:0123456789abcdef": "0123456789ab",
		"0123456789abcdef":        "0123456789ab",
		"short":                   "short",
		"":                        "",
	} {
		if got := shortFingerprint(in); got != want {
			t.Errorf("shortFingerprint(%q) = %q, want %q", in, got, want)
		}
	}
}

// A retried apply whose first attempt failed part-way may already have
// made every change: the new plan has nothing left to do. The stage must
// still say it applied, so that a later failure rolls back.
func TestTerraformSyncRetryNoChangesKeepsApplied(t *testing.T) {
	app := tfPipelineApp(
		tfStage(config.StageTerraformSync, "sync", &config.TerraformSyncStageOptions{Retries: 1}),
		tfStage(config.StageTerraformPlan, "plan", nil),
	)
	d := executetest.NewDeployment(app, executetest.PlanOf(app, true, nil))
	head := &fakeWorkspace{
		plans:    []*Plan{tfPlan("/tmp/p1.tfplan", "sha256:one", 2, 0, 0), noChanges("/tmp/p2.tfplan", "sha256:none")},
		planErrs: []error{nil, nil, errors.New("plan in /app: Error: Unsupported block type")},
		applyErr: []error{errors.New("apply in /app: Error: timeout waiting for the second instance")},
	}
	running := &fakeWorkspace{plans: []*Plan{tfPlan("/tmp/running.tfplan", "sha256:r", 0, 0, 2)}}
	tf := &Runner{Head: head, Running: func(context.Context) (StageWorkspace, func(), error) { return running, func() {}, nil }}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, tf)
	err := e.Run(context.Background(), d)
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack || !strings.Contains(f.Reason, "Unsupported block type") {
		t.Fatalf("err = %v", err)
	}
	if m := executetest.Stage(t, store.Current(), "sync").Metadata; m[metaTFApplied] != "started" {
		t.Errorf("sync metadata %v: the failed first apply must stay recorded", m)
	}
	if strings.Join(running.applied, ",") != "/tmp/running.tfplan" {
		t.Errorf("the rollback applied %v, want the running configuration's plan", running.applied)
	}
}

// A job killed during the apply leaves applied=started; the resumed job
// runs the stage again, finds nothing left to apply, and must not forget
// that the deployment changed the state.
func TestTerraformSyncResumedAfterKilledApply(t *testing.T) {
	d := quickSyncDeployment(false)
	s := executetest.Stage(t, d.Record, "TerraformSync")
	s.Status, s.Metadata = state.StageRunning, map[string]string{metaTFApplied: "started"}
	head := &fakeWorkspace{plans: []*Plan{noChanges("/tmp/p.tfplan", "sha256:none")}}
	store := &executetest.Store{}
	e, _ := executetest.NewEngine(store, &Runner{Head: head})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if m := executetest.Stage(t, store.Current(), "TerraformSync").Metadata; m[metaTFApplied] != "started" {
		t.Errorf("metadata %v: the killed apply must stay recorded", m)
	}
	if !appliedAnything(store.Current()) {
		t.Errorf("appliedAnything = false after an apply that started")
	}
}

func TestTerraformRollbackRunningNoChangesAndPlanError(t *testing.T) {
	for name, tc := range map[string]struct {
		running    *fakeWorkspace
		rolledBack bool
		reason     string
	}{
		"no changes": {running: &fakeWorkspace{plans: []*Plan{noChanges("/tmp/r.tfplan", "sha256:r")}}, rolledBack: true},
		"plan fails": {running: &fakeWorkspace{planErrs: []error{errors.New("plan in /app@bbbb: Error: Invalid provider configuration")}},
			reason: "the rollback failed: Rollback: plan in /app@bbbb: Error: Invalid provider configuration"},
	} {
		t.Run(name, func(t *testing.T) {
			d := quickSyncDeployment(true)
			s := executetest.Stage(t, d.Record, "TerraformSync")
			s.Status, s.Metadata = state.StageFailed, map[string]string{metaTFApplied: "true"}
			d.Record.Status = state.StatusRollingBack
			tf := &Runner{Head: &fakeWorkspace{}, Running: func(context.Context) (StageWorkspace, func(), error) { return tc.running, func() {}, nil }}
			store := &executetest.Store{}
			e, _ := executetest.NewEngine(store, tf)
			err := e.Run(context.Background(), d)
			var f *execute.Failure
			if !errors.As(err, &f) || f.RolledBack != tc.rolledBack || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("err = %v", err)
			}
			if len(tc.running.applied) != 0 {
				t.Errorf("applied %v", tc.running.applied)
			}
		})
	}
}

func TestTerraformCountsMetadata(t *testing.T) {
	p := &Plan{File: "/tmp/p.tfplan", Fingerprint: "sha256:x", HasChanges: true,
		Counts: Counts{Import: 1, Add: 2, Change: 0, Destroy: 1, Replace: 1}}
	ws := &fakeWorkspace{plans: []*Plan{p}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), quickSyncDeployment(false)); err != nil {
		t.Fatal(err)
	}
	m := executetest.Stage(t, store.Current(), "TerraformSync").Metadata
	if m["import"] != "1" || m["replace"] != "1" || m["add"] != "2" || m["destroy"] != "1" {
		t.Errorf("metadata %v", m)
	}
	if txt := events.Text(); !strings.Contains(txt, "applying: 1 to import") {
		t.Errorf("events:\n%s", txt)
	}
}

// A job killed while applying the reviewed plan (the record says the apply
// started): when terraform now plans nothing, the apply completed and the
// resumed stage succeeds without applying anything.
func TestTerraformApplyResumedAfterInterruptedApply(t *testing.T) {
	d := resumedApply(t, 0, false)
	apply := executetest.Stage(t, d.Record, "apply")
	apply.Status = state.StageRunning
	apply.Metadata = map[string]string{metaTFApplied: "started"}
	ws := &fakeWorkspace{plans: []*Plan{noChanges("/tmp/empty.tfplan", "sha256:nothing")}}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, &Runner{Head: ws})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if len(ws.applied) != 0 {
		t.Errorf("applied %v", ws.applied)
	}
	if m := executetest.Stage(t, store.Current(), "apply").Metadata; m[metaTFApplied] != "true" {
		t.Errorf("apply metadata %v", m)
	}
	if txt := events.Text(); !strings.Contains(txt, "interrupted") {
		t.Errorf("events:\n%s", txt)
	}
}
