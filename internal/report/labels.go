package report

import (
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/plan"
)

// The labels `pipe plan --labels` keeps on a pull request.
const (
	LabelNoChanges   = "pipe:no-changes"
	LabelProgressive = "pipe:progressive"
	LabelDestroy     = "pipe:destroy"
)

// PlanLabels returns the outcome labels a pull request should have (add)
// and those it should not (remove): pipe:no-changes when nothing changes,
// pipe:progressive when an app will sync with its pipeline, pipe:destroy
// when an object will be deleted.
func PlanLabels(r *PlanReport) (add, remove []string) {
	has := map[string]bool{}
	if !r.HasChanges() && len(r.Errors) == 0 {
		has[LabelNoChanges] = true
	}
	for _, p := range r.Changed() {
		if p.Strategy == plan.StrategyPipeline {
			has[LabelProgressive] = true
		}
		if p.Summary.Deleted > 0 {
			has[LabelDestroy] = true
		}
	}
	for _, l := range []string{LabelNoChanges, LabelProgressive, LabelDestroy} {
		if has[l] {
			add = append(add, l)
		} else {
			remove = append(remove, l)
		}
	}
	return add, remove
}

// PlanStatus is the commit status of a plan: failure when an app could not
// be planned, else success, with what changes as the description; the
// context is pipe/plan, or pipe/plan/TITLE.
func PlanStatus(r *PlanReport) (state, description, context string) {
	context = "pipe/plan"
	if t := strings.TrimSpace(r.Title); t != "" {
		context += "/" + t
	}
	changed := r.Changed()
	switch {
	case len(r.Errors) > 0:
		return "failure", fmt.Sprintf("%s could not be planned", count(len(r.Errors), "application")), context
	case len(changed) == 0:
		return "success", "no changes", context
	}
	names := make([]string, 0, len(changed))
	for _, p := range changed {
		names = append(names, p.App.Name)
	}
	return "success", fmt.Sprintf("%s will change: %s", count(len(changed), "application"), strings.Join(names, ", ")), context
}
