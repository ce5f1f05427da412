package terraform

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/state"
)

// StageWorkspace is what the Terraform stages need from an initialised
// terraform working directory.
type StageWorkspace interface {
	// Plan makes a saved plan of the configuration against the state.
	Plan(ctx context.Context) (*Plan, error)
	// Apply applies exactly a saved plan; a stale one is refused with an
	// error matching ErrStalePlan.
	Apply(ctx context.Context, planFile string) error
}

// Runner runs the stages of a TerraformApp: TERRAFORM_SYNC (plan, then
// apply when there are changes), TERRAFORM_PLAN (a saved plan, reviewed by
// a WAIT_APPROVAL after it), TERRAFORM_APPLY (exactly the plan of the
// TERRAFORM_PLAN before it, never a new one nobody reviewed) and ROLLBACK
// (the last successful commit's configuration planned and applied).
type Runner struct {
	// Head is the workspace at the deployed commit.
	Head StageWorkspace
	// Prepared is the plan made when the deployment was planned; the first
	// stage that plans uses it instead of planning again.
	Prepared *Plan
	// Running opens the workspace at the last successful deployment's
	// commit, for ROLLBACK; nil when there is none.
	Running func(ctx context.Context) (StageWorkspace, func(), error)
	// QuickSync are the options of the predefined TERRAFORM_SYNC stage.
	QuickSync config.TerraformApplyStageOptions

	// plans are the saved plans of the TERRAFORM_PLAN stages run by this
	// process, by stage id.
	plans map[string]*Plan
}

// Stage metadata keys of the Terraform stages.
const (
	metaTFFingerprint = "fingerprint"
	metaTFApplied     = "applied"
)

// RunStage implements Platform.
func (t *Runner) RunStage(ctx context.Context, st *execute.Stage) error {
	switch st.Plan.Name {
	case config.StageTerraformSync:
		retries := t.QuickSync.Retries
		if o, ok := withOf[config.TerraformSyncStageOptions](st); ok {
			retries = o.Retries
		}
		return t.sync(ctx, st, retries)
	case config.StageTerraformPlan:
		return t.planStage(ctx, st)
	case config.StageTerraformApply:
		retries := 0
		if o, ok := withOf[config.TerraformApplyStageOptions](st); ok {
			retries = o.Retries
		}
		return t.applyStage(ctx, st, retries)
	}
	return fmt.Errorf("stage %s is not a Terraform stage", st.Plan.Name)
}

func withOf[T any](st *execute.Stage) (*T, bool) {
	if st.Config == nil {
		return nil, false
	}
	o, ok := st.Config.With.(*T)
	return o, ok && o != nil
}

// plan returns the prepared plan once, then new plans.
func (t *Runner) plan(ctx context.Context, st *execute.Stage) (*Plan, error) {
	if p := t.Prepared; p != nil {
		t.Prepared = nil
		return p, nil
	}
	st.Emitf("planning")
	return t.Head.Plan(ctx)
}

func noteCounts(st *execute.Stage, p *Plan) {
	st.SetMeta("add", strconv.Itoa(p.Counts.Add))
	st.SetMeta("change", strconv.Itoa(p.Counts.Change))
	st.SetMeta("destroy", strconv.Itoa(p.Counts.Destroy))
	if p.Counts.Replace > 0 {
		st.SetMeta("replace", strconv.Itoa(p.Counts.Replace))
	}
	if p.Counts.Import > 0 {
		st.SetMeta("import", strconv.Itoa(p.Counts.Import))
	}
	st.SetMeta(metaTFFingerprint, p.Fingerprint)
}

func countsText(p *Plan) string {
	return ResultCounts{Import: p.Counts.Import, Add: p.Counts.Add, Change: p.Counts.Change, Destroy: p.Counts.Destroy, Replace: p.Counts.Replace}.String()
}

// sync plans and applies when there are changes, retrying a failed apply
// with a new plan up to retries times.
func (t *Runner) sync(ctx context.Context, st *execute.Stage, retries int) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		p, err := t.plan(ctx, st)
		if err != nil {
			return errors.Join(lastErr, err)
		}
		noteCounts(st, p)
		if !p.HasChanges {
			noteNothingApplied(st)
			st.Emitf("no changes: nothing to apply")
			return nil
		}
		st.Emitf("applying: %s", countsText(p))
		if err = t.apply(ctx, st, p.File); err == nil {
			return nil
		}
		if attempt >= retries || ctx.Err() != nil {
			return err
		}
		lastErr = err
		st.Warnf("apply failed (attempt %d of %d): %v; planning again", attempt+1, retries+1, err)
	}
}

// planStage makes the saved plan a later TERRAFORM_APPLY applies.
func (t *Runner) planStage(ctx context.Context, st *execute.Stage) error {
	p, err := t.plan(ctx, st)
	if err != nil {
		return err
	}
	noteCounts(st, p)
	if t.plans == nil {
		t.plans = map[string]*Plan{}
	}
	t.plans[st.Plan.ID] = p
	st.Emitf("plan: %s (fingerprint %s)", countsText(p), shortFingerprint(p.Fingerprint))
	if !p.HasChanges {
		if o, ok := withOf[config.TerraformPlanStageOptions](st); ok && o.ExitOnNoChanges {
			return &execute.EndDeployment{Reason: "the plan has no changes (exitOnNoChanges)"}
		}
	}
	return nil
}

// applyStage applies the plan of the TERRAFORM_PLAN stage before it. When
// that plan was made by another process (the deployment paused for an
// approval and was resumed by another job), the configuration is planned
// again and applied only if the new plan makes exactly the reviewed
// changes (same fingerprint).
func (t *Runner) applyStage(ctx context.Context, st *execute.Stage, retries int) error {
	planID, reviewed, skipped := t.reviewedPlan(st)
	switch {
	case skipped != "":
		return fmt.Errorf("stage %s (TERRAFORM_PLAN) was skipped, so there is no reviewed plan to apply: nothing was applied; "+
			"give this TERRAFORM_APPLY the same skipOn, or let the plan run", skipped)
	case planID == "":
		st.Warnf("no TERRAFORM_PLAN stage before this one: applying a new plan nobody reviewed (add a TERRAFORM_PLAN and a WAIT_APPROVAL before it)")
		return t.sync(ctx, st, retries)
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		p := t.plans[planID]
		if p == nil || attempt > 0 {
			// The plan was made by another job (the deployment was
			// resumed), or the apply failed: plan again, and apply only
			// the reviewed changes.
			var np *Plan
			if attempt == 0 && t.Prepared != nil {
				np, t.Prepared = t.Prepared, nil
			} else {
				var err error
				if np, err = t.Head.Plan(ctx); err != nil {
					return errors.Join(lastErr, err)
				}
			}
			if np.Fingerprint != reviewed && attempt == 0 && !np.HasChanges && st.Record.Metadata[metaTFApplied] == "started" {
				// A job killed while applying the reviewed plan: terraform
				// now plans nothing, so that apply completed.
				st.Warnf("the apply of the reviewed plan was interrupted, and terraform now plans no changes: it had completed")
				st.SetMeta(metaTFApplied, "true")
				return nil
			}
			if np.Fingerprint != reviewed {
				if lastErr != nil {
					return fmt.Errorf("%w; not retried: a new plan (%s) differs from the one reviewed at %s (the failed apply changed some resources): review the new plan in a new deployment",
						lastErr, countsText(np), planID)
				}
				return fmt.Errorf("the plan changed since stage %s planned it (reviewed %s, now %s: %s): nothing was applied; "+
					"the state or the configuration changed meanwhile, start a new deployment to review the new plan",
					planID, shortFingerprint(reviewed), shortFingerprint(np.Fingerprint), countsText(np))
			}
			p = np
		}
		noteCounts(st, p)
		if !p.HasChanges {
			noteNothingApplied(st)
			st.Emitf("the reviewed plan has no changes: nothing to apply")
			return nil
		}
		st.Emitf("applying the plan of %s: %s", planID, countsText(p))
		err := t.apply(ctx, st, p.File)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrStalePlan) {
			return fmt.Errorf("the plan of %s is stale (the state changed since it was made): nothing was applied; start a new deployment: %w", planID, err)
		}
		if attempt >= retries || ctx.Err() != nil {
			return err
		}
		lastErr = err
		st.Warnf("apply failed (attempt %d of %d): %v; retrying only if a new plan still makes the reviewed changes", attempt+1, retries+1, err)
	}
}

// reviewedPlan finds the last TERRAFORM_PLAN stage before st in the record
// and the fingerprint it recorded; skipped is its id when it was skipped.
func (t *Runner) reviewedPlan(st *execute.Stage) (id, fingerprint, skipped string) {
	rec := st.Deployment.Record
	var found *state.Stage
	for i := range rec.Stages {
		s := &rec.Stages[i]
		if s.ID == st.Plan.ID {
			break
		}
		if s.Name == string(config.StageTerraformPlan) {
			found = s
		}
	}
	switch {
	case found == nil:
		return "", "", ""
	case found.Status != state.StageSucceeded:
		return "", "", found.ID
	}
	return found.ID, found.Metadata[metaTFFingerprint], ""
}

// Rollback implements Platform: it plans and applies the configuration of
// the last successful deployment.
func (t *Runner) Rollback(ctx context.Context, st *execute.Stage) error {
	if !appliedAnything(st.Deployment.Record) {
		// Nothing of this deployment reached the state: rolling back would
		// only revert changes made by others (e.g. a hotfix applied while
		// the deployment waited for its approval).
		st.Emitf("this deployment applied nothing: nothing to roll back")
		return nil
	}
	if t.Running == nil {
		st.Warnf("no successful deployment to roll back to: the resources are left as the failed deployment made them")
		return nil
	}
	ws, done, err := t.Running(ctx)
	if err != nil {
		return fmt.Errorf("prepare the last successful deployment's configuration: %w", err)
	}
	defer done()
	st.Emitf("planning the last successful deployment's configuration")
	p, err := ws.Plan(ctx)
	if err != nil {
		return err
	}
	noteCounts(st, p)
	if !p.HasChanges {
		st.Emitf("no changes: the state already matches the last successful deployment")
		return nil
	}
	st.Emitf("applying: %s", countsText(p))
	return ws.Apply(ctx, p.File)
}

func shortFingerprint(f string) string {
	const prefix = "sha256:"
	if len(f) > len(prefix)+12 && f[:len(prefix)] == prefix {
		return f[len(prefix) : len(prefix)+12]
	}
	if len(f) > 12 {
		return f[:12]
	}
	return f
}

// apply applies a saved plan, noting in the stage's record (written before
// terraform starts, so that a killed job leaves it) that it may have
// changed the state.
func (t *Runner) apply(ctx context.Context, st *execute.Stage, file string) error {
	st.SetMeta(metaTFApplied, "started")
	if err := st.Checkpoint(); err != nil {
		return fmt.Errorf("record the deployment before applying: %w", err)
	}
	if err := t.Head.Apply(ctx, file); err != nil {
		return err
	}
	st.SetMeta(metaTFApplied, "true")
	return nil
}

// noteNothingApplied records that the stage's plan had nothing to apply,
// unless an earlier apply of the stage started (a failed attempt before a
// retry, or a job killed while applying before this one resumed it): that
// apply may have changed the state, and ROLLBACK must know it.
func noteNothingApplied(st *execute.Stage) {
	if v := st.Record.Metadata[metaTFApplied]; v == "started" || v == "true" {
		return
	}
	st.SetMeta(metaTFApplied, "false")
}

// appliedAnything reports whether a stage of the deployment may have
// changed the state: an apply started (recorded before terraform runs).
func appliedAnything(rec *state.Record) bool {
	for _, s := range rec.Stages {
		if v := s.Metadata[metaTFApplied]; v == "started" || v == "true" {
			return true
		}
	}
	return false
}
