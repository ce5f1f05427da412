package drift

import (
	"context"
	"errors"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform/terraform"
)

// TerraformWorkspace is what a drift check of a TerraformApp needs: an
// initialised workspace at the head's configuration.
type TerraformWorkspace interface {
	Drift(ctx context.Context) (*terraform.DriftReport, error)
}

// checkTerraform fills r for one TerraformApp: the resources terraform
// finds changed outside of it (a refresh-only plan) and what a sync would
// change now (a plan, never applied). Fields compare Git (the
// configuration, or the recorded state for out-of-band changes) with Live.
func (c *Checker) checkTerraform(ctx context.Context, ap *config.App, r *AppResult) {
	ws, done, err := c.Terraform(ctx, ap)
	var skip *SkipError
	switch {
	case errors.As(err, &skip):
		r.Status, r.Reason = Skipped, skip.Reason
		return
	case err != nil:
		r.Status, r.Error = Failed, err.Error()
		return
	}
	defer done()
	rep, err := ws.Drift(ctx)
	if err != nil {
		r.Status, r.Error = Failed, err.Error()
		return
	}
	seen := map[string]bool{}
	for _, rc := range rep.Changed {
		d := ObjectDrift{Key: rc.Address, Object: "resource " + rc.Address, Action: ActionChanged,
			Note: "changed outside terraform (found by a refresh)"}
		for _, a := range rc.Attributes {
			// Before is what the state recorded (what Git deployed), After
			// what the resource is now.
			d.Fields = append(d.Fields, FieldDiff{Path: a.Path, Op: FieldChanged, Git: a.Before, Live: a.After})
		}
		seen[rc.Address] = true
		r.Changed++
		r.Drift = append(r.Drift, d)
	}
	for _, rc := range rep.Pending {
		if seen[rc.Address] {
			continue
		}
		d := ObjectDrift{Key: rc.Address, Object: "resource " + rc.Address}
		switch {
		case rc.Has(terraform.ActionReplace), rc.Has(terraform.ActionUpdate):
			d.Action = ActionChanged
			d.Note = "a sync would update it"
			if rc.Has(terraform.ActionReplace) {
				d.Note = "a sync would replace it"
			}
			r.Changed++
		case rc.Has(terraform.ActionCreate):
			d.Action, d.Note = ActionAdded, "in Git, not in the state: a sync would create it"
			r.Added++
		case rc.Has(terraform.ActionDelete):
			d.Action, d.Note = ActionDeleted, "in the state, not in Git: a sync would destroy it"
			r.Deleted++
		case rc.Has(terraform.ActionImport):
			// An import block: the resource exists, the state lacks it.
			d.Action, d.Note = ActionAdded, "in Git, not in the state: a sync would import it (the resource itself is not changed)"
			r.Added++
		case rc.Has(terraform.ActionForget):
			// A removed block with destroy = false.
			d.Action, d.Note = ActionDeleted, "in the state, not in Git: a sync would remove it from the state without destroying it"
			r.Deleted++
		default:
			continue
		}
		for _, a := range rc.Attributes {
			// Before is the state (live), After what the configuration says.
			d.Fields = append(d.Fields, FieldDiff{Path: a.Path, Op: FieldChanged, Git: a.After, Live: a.Before})
		}
		r.Drift = append(r.Drift, d)
	}
	for i, o := range append(append([]terraform.OutputChange(nil), rep.Outputs...), rep.PendingOutputs...) {
		key := "output." + o.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		d := ObjectDrift{Key: key, Object: "output " + o.Name, Action: ActionChanged, Note: "the output would change (" + o.Action + ")"}
		// A sync's output change goes from the state (live) to the
		// configuration (Git).
		git, live := o.After, o.Before
		if i < len(rep.Outputs) {
			// A refresh's output change goes from the recorded state (what
			// Git deployed) to what the resources say now (live).
			git, live = o.Before, o.After
			d.Note = "changed outside terraform (found by a refresh, " + o.Action + ")"
		}
		if !o.Sensitive {
			d.Fields = []FieldDiff{{Path: o.Name, Op: FieldChanged, Git: git, Live: live}}
		}
		r.Changed++
		r.Drift = append(r.Drift, d)
	}
	r.Objects = len(r.Drift)
	r.Status = InSync
	if len(r.Drift) > 0 {
		r.Status = OutOfSync
	}
}

// SkipError, returned by Checker.Terraform, skips the application with
// its reason (e.g. drift detection is off for its platform provider).
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }
