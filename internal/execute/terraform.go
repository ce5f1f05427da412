package execute

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/target/terraform"
)

// TerraformWorkspace is what the Terraform stages need from an initialised
// terraform working directory.
type TerraformWorkspace interface {
	// Plan makes a saved plan of the configuration against the state.
	Plan(ctx context.Context) (*terraform.Plan, error)
	// Apply applies exactly a saved plan; a stale one is refused with an
	// error matching terraform.ErrStalePlan.
	Apply(ctx context.Context, planFile string) error
}

// Terraform runs the stages of a TerraformApp: TERRAFORM_SYNC (plan, then
// apply when there are changes), TERRAFORM_PLAN (a saved plan, reviewed by
// a WAIT_APPROVAL after it), TERRAFORM_APPLY (exactly the plan of the
// TERRAFORM_PLAN before it, never a new one nobody reviewed) and ROLLBACK
// (the last successful commit's configuration planned and applied).
type Terraform struct {
	// Head is the workspace at the deployed commit.
	Head TerraformWorkspace
	// Prepared is the plan made when the deployment was planned; the first
	// stage that plans uses it instead of planning again.
	Prepared *terraform.Plan
	// Running opens the workspace at the last successful deployment's
	// commit, for ROLLBACK; nil when there is none.
	Running func(ctx context.Context) (TerraformWorkspace, func(), error)
	// QuickSync are the options of the predefined TERRAFORM_SYNC stage.
	QuickSync config.TerraformApplyStageOptions

	// plans are the saved plans of the TERRAFORM_PLAN stages run by this
	// process, by stage id.
	plans map[string]*terraform.Plan
}

// Stage metadata keys of the Terraform stages.
const (
	metaTFFingerprint = "fingerprint"
	metaTFApplied     = "applied"
)

// RunStage implements Platform.
func (t *Terraform) RunStage(ctx context.Context, st *Stage) error {
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

func withOf[T any](st *Stage) (*T, bool) {
	if st.Config == nil {
		return nil, false
	}
	o, ok := st.Config.With.(*T)
	return o, ok && o != nil
}

// plan returns the prepared plan once, then new plans.
func (t *Terraform) plan(ctx context.Context, st *Stage) (*terraform.Plan, error) {
	if p := t.Prepared; p != nil {
		t.Prepared = nil
		return p, nil
	}
	st.Emitf("planning")
	return t.Head.Plan(ctx)
}

func noteCounts(st *Stage, p *terraform.Plan) {
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

func countsText(p *terraform.Plan) string {
	return plan.TerraformCounts{Import: p.Counts.Import, Add: p.Counts.Add, Change: p.Counts.Change, Destroy: p.Counts.Destroy, Replace: p.Counts.Replace}.String()
}

// sync plans and applies when there are changes, retrying a failed apply
// with a new plan up to retries times.
func (t *Terraform) sync(ctx context.Context, st *Stage, retries int) error {
	for attempt := 0; ; attempt++ {
		p, err := t.plan(ctx, st)
		if err != nil {
			return err
		}
		noteCounts(st, p)
		if !p.HasChanges {
			st.SetMeta(metaTFApplied, "false")
			st.Emitf("no changes: nothing to apply")
			return nil
		}
		st.Emitf("applying: %s", countsText(p))
		if err = t.Head.Apply(ctx, p.File); err == nil {
			st.SetMeta(metaTFApplied, "true")
			return nil
		}
		if attempt >= retries || ctx.Err() != nil {
			return err
		}
		st.Warnf("apply failed (attempt %d of %d): %v; planning again", attempt+1, retries+1, err)
	}
}

// planStage makes the saved plan a later TERRAFORM_APPLY applies.
func (t *Terraform) planStage(ctx context.Context, st *Stage) error {
	p, err := t.plan(ctx, st)
	if err != nil {
		return err
	}
	noteCounts(st, p)
	if t.plans == nil {
		t.plans = map[string]*terraform.Plan{}
	}
	t.plans[st.Plan.ID] = p
	st.Emitf("plan: %s (fingerprint %s)", countsText(p), shortFingerprint(p.Fingerprint))
	if !p.HasChanges {
		if o, ok := withOf[config.TerraformPlanStageOptions](st); ok && o.ExitOnNoChanges {
			return &EndDeployment{Reason: "the plan has no changes (exitOnNoChanges)"}
		}
	}
	return nil
}

// applyStage applies the plan of the TERRAFORM_PLAN stage before it. When
// that plan was made by another process (the deployment paused for an
// approval and was resumed by another job), the configuration is planned
// again and applied only if the new plan makes exactly the reviewed
// changes (same fingerprint).
func (t *Terraform) applyStage(ctx context.Context, st *Stage, retries int) error {
	planID, reviewed := t.reviewedPlan(st)
	if planID == "" {
		st.Warnf("no TERRAFORM_PLAN stage before this one: applying a new plan nobody reviewed (add a TERRAFORM_PLAN and a WAIT_APPROVAL before it)")
		return t.sync(ctx, st, retries)
	}
	for attempt := 0; ; attempt++ {
		p := t.plans[planID]
		if p == nil || attempt > 0 {
			np, err := t.Head.Plan(ctx)
			if err != nil {
				return err
			}
			if np.Fingerprint != reviewed {
				return fmt.Errorf("the plan changed since stage %s planned it (reviewed %s, now %s: %s): nothing was applied; "+
					"the state or the configuration changed meanwhile, start a new deployment to review the new plan",
					planID, shortFingerprint(reviewed), shortFingerprint(np.Fingerprint), countsText(np))
			}
			p = np
		}
		noteCounts(st, p)
		if !p.HasChanges {
			st.SetMeta(metaTFApplied, "false")
			st.Emitf("the reviewed plan has no changes: nothing to apply")
			return nil
		}
		st.Emitf("applying the plan of %s: %s", planID, countsText(p))
		err := t.Head.Apply(ctx, p.File)
		if err == nil {
			st.SetMeta(metaTFApplied, "true")
			return nil
		}
		if errors.Is(err, terraform.ErrStalePlan) {
			return fmt.Errorf("the plan of %s is stale (the state changed since it was made): nothing was applied; start a new deployment: %w", planID, err)
		}
		if attempt >= retries || ctx.Err() != nil {
			return err
		}
		st.Warnf("apply failed (attempt %d of %d): %v; retrying only if a new plan still makes the reviewed changes", attempt+1, retries+1, err)
	}
}

// reviewedPlan finds the TERRAFORM_PLAN stage before st in the record and
// the fingerprint it recorded.
func (t *Terraform) reviewedPlan(st *Stage) (id, fingerprint string) {
	rec := st.Deployment.Record
	var found *state.Stage
	for i := range rec.Stages {
		s := &rec.Stages[i]
		if s.ID == st.Plan.ID {
			break
		}
		if s.Name == string(config.StageTerraformPlan) && s.Status == state.StageSucceeded {
			found = s
		}
	}
	if found == nil {
		return "", ""
	}
	return found.ID, found.Metadata[metaTFFingerprint]
}

// Rollback implements Platform: it plans and applies the configuration of
// the last successful deployment.
func (t *Terraform) Rollback(ctx context.Context, st *Stage) error {
	if t.Running == nil {
		return errors.New("there is no successful deployment to roll back to: the resources are left as the failed deployment made them")
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
