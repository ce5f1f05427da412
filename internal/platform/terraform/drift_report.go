package terraform

import "github.com/gitops-pipe/pipe/internal/drift"

// FillDrift turns a drift report of terraform into an application's drift
// verdict: resources changed outside terraform (found by a refresh), then
// what a sync would change, then the outputs, each object counted once.
func FillDrift(r *drift.AppResult, rep *DriftReport) {
	seen := map[string]bool{}
	for _, rc := range rep.Changed {
		d := drift.ObjectDrift{Key: rc.Address, Object: "resource " + rc.Address, Action: drift.ActionChanged,
			Note: "changed outside terraform (found by a refresh)"}
		for _, a := range rc.Attributes {
			// Before is what the state recorded (what Git deployed), After
			// what the resource is now.
			d.Fields = append(d.Fields, drift.FieldDiff{Path: a.Path, Op: drift.FieldChanged, Git: a.Before, Live: a.After})
		}
		seen[rc.Address] = true
		r.Changed++
		r.Drift = append(r.Drift, d)
	}
	for _, rc := range rep.Pending {
		if seen[rc.Address] {
			continue
		}
		d := drift.ObjectDrift{Key: rc.Address, Object: "resource " + rc.Address}
		switch {
		case rc.Has(ActionReplace), rc.Has(ActionUpdate):
			d.Action = drift.ActionChanged
			d.Note = "a sync would update it"
			if rc.Has(ActionReplace) {
				d.Note = "a sync would replace it"
			}
			r.Changed++
		case rc.Has(ActionCreate):
			d.Action, d.Note = drift.ActionAdded, "in Git, not in the state: a sync would create it"
			r.Added++
		case rc.Has(ActionDelete):
			d.Action, d.Note = drift.ActionDeleted, "in the state, not in Git: a sync would destroy it"
			r.Deleted++
		case rc.Has(ActionImport):
			// An import block: the resource exists, the state lacks it.
			d.Action, d.Note = drift.ActionAdded, "in Git, not in the state: a sync would import it (the resource itself is not changed)"
			r.Added++
		case rc.Has(ActionForget):
			// A removed block with destroy = false.
			d.Action, d.Note = drift.ActionDeleted, "in the state, not in Git: a sync would remove it from the state without destroying it"
			r.Deleted++
		default:
			continue
		}
		for _, a := range rc.Attributes {
			// Before is the state (live), After what the configuration says.
			d.Fields = append(d.Fields, drift.FieldDiff{Path: a.Path, Op: drift.FieldChanged, Git: a.After, Live: a.Before})
		}
		r.Drift = append(r.Drift, d)
	}
	for i, o := range append(append([]OutputChange(nil), rep.Outputs...), rep.PendingOutputs...) {
		key := "output." + o.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		d := drift.ObjectDrift{Key: key, Object: "output " + o.Name, Action: drift.ActionChanged, Note: "the output would change (" + o.Action + ")"}
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
			d.Fields = []drift.FieldDiff{{Path: o.Name, Op: drift.FieldChanged, Git: git, Live: live}}
		}
		r.Changed++
		r.Drift = append(r.Drift, d)
	}
	r.Objects = len(r.Drift)
	r.Finish()
}
