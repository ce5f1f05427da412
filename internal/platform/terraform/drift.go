package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// DriftReport says how the deployed application differs from what is
// recorded and from what is configured.
type DriftReport struct {
	// Changed are the resources whose real state differs from the state
	// file: the resource_drift of a refresh-only plan, with the attributes
	// that differ (sensitive ones masked). Resources terraform cannot
	// read back (e.g. terraform_data) never appear here.
	Changed []ResourceChange `json:"changed"`
	// Outputs are the outputs a refresh would change.
	Outputs []OutputChange `json:"outputs"`
	// Pending are the changes a normal plan would make now (nothing is
	// applied): the state, refreshed, differs from the configuration. This
	// catches edits made to the state out of band and to resources terraform
	// cannot refresh, and configuration not yet applied.
	Pending []ResourceChange `json:"pending"`
	// PendingOutputs are the output changes of that plan.
	PendingOutputs []OutputChange `json:"pendingOutputs"`
	// Counts are the counts of the normal plan.
	Counts Counts `json:"counts"`
	// RefreshHuman and PlanHuman are terraform's renderings of the two
	// plans, trimmed like Plan.Human.
	RefreshHuman string `json:"refreshHuman"`
	PlanHuman    string `json:"planHuman"`
}

// HasDrift reports whether anything differs.
func (d *DriftReport) HasDrift() bool {
	return len(d.Changed) > 0 || len(d.Outputs) > 0 || len(d.Pending) > 0 || len(d.PendingOutputs) > 0
}

// Drift runs a refresh-only plan (what changed outside terraform) and a
// normal plan (what a sync would change), applies neither, and reports
// both. The saved plans are removed.
func (w *Workspace) Drift(ctx context.Context) (*DriftReport, error) {
	dir, err := os.MkdirTemp("", "pipe-tfdrift-")
	if err != nil {
		return nil, fmt.Errorf("creating a directory for drift plans: %v; set TMPDIR to a writable directory", err)
	}
	defer os.RemoveAll(dir)
	refresh, err := w.Plan(ctx, PlanOptions{Out: filepath.Join(dir, "refresh.tfplan"), RefreshOnly: true})
	if err != nil {
		return nil, fmt.Errorf("drift check (refresh-only plan): %w", err)
	}
	plan, err := w.Plan(ctx, PlanOptions{Out: filepath.Join(dir, "plan.tfplan")})
	if err != nil {
		return nil, fmt.Errorf("drift check (plan): %w", err)
	}
	return &DriftReport{
		Changed:        refresh.Drift,
		Outputs:        refresh.Outputs,
		Pending:        plan.Resources,
		PendingOutputs: plan.Outputs,
		Counts:         plan.Counts,
		RefreshHuman:   refresh.Human,
		PlanHuman:      plan.Human,
	}, nil
}
