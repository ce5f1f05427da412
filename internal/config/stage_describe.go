package config

import (
	"fmt"
	"strings"
)

// StageDescriber is implemented by the options of the platform stages: one
// line saying what the options ask for, shown with the stage in plans
// ("replicas 10%", "primary 90%, canary 10%"). Generic stages (WAIT,
// WAIT_APPROVAL, ANALYSIS, SCRIPT_RUN) are described by the planner, which
// knows more about them than a line.
type StageDescriber interface {
	Describe() string
}

// Describe implements StageDescriber.
func (o *K8sSyncStageOptions) Describe() string {
	var parts []string
	if o.Prune {
		parts = append(parts, "prune")
	}
	if o.AddVariantLabelToSelector {
		parts = append(parts, "add variant label to selector")
	}
	return strings.Join(parts, ", ")
}

// Describe implements StageDescriber.
func (o *K8sPrimaryRolloutStageOptions) Describe() string {
	var parts []string
	if o.Prune {
		parts = append(parts, "prune")
	}
	if o.CreateService {
		parts = append(parts, "create service")
	}
	return strings.Join(parts, ", ")
}

// Describe implements StageDescriber.
func (o *K8sCanaryRolloutStageOptions) Describe() string {
	parts := []string{"replicas " + o.Replicas.OrOne()}
	if n := len(o.Patches); n > 0 {
		parts = append(parts, fmt.Sprintf("%d patch(es)", n))
	}
	if o.CreateService {
		parts = append(parts, "create service")
	}
	return strings.Join(parts, ", ")
}

// Describe implements StageDescriber.
func (o *K8sBaselineRolloutStageOptions) Describe() string {
	parts := []string{"replicas " + o.Replicas.OrOne()}
	if o.CreateService {
		parts = append(parts, "create service")
	}
	return strings.Join(parts, ", ")
}

// Describe implements StageDescriber.
func (o *K8sTrafficRoutingStageOptions) Describe() string {
	p, c, b := o.Percentages()
	return fmt.Sprintf("primary %d%%, canary %d%%, baseline %d%%", p, c, b)
}

// Describe implements StageDescriber.
func (o *CustomSyncStageOptions) Describe() string {
	return "run: " + OneLine(o.Run)
}

// OrOne is the replicas as written, "1" when not given (the default of the
// variant rollouts).
func (r Replicas) OrOne() string {
	if r.Number == 0 && !r.IsPercentage {
		return "1"
	}
	return r.String()
}

// OneLine shortens a script to its first line (at most 80 characters),
// marking what was cut with " ...".
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	first, rest, cut := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if r := []rune(first); len(r) > 80 {
		first, cut = string(r[:77]), true
	}
	if cut || rest != "" {
		return first + " ..."
	}
	return first
}
