package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Names of the stages the planner adds by itself (PipeCD's predefined
// stages); a pipeline cannot name them.
const (
	StageRollback          config.StageName = "ROLLBACK"
	StageScriptRunRollback config.StageName = "SCRIPT_RUN_ROLLBACK"
)

// Stage is one stage of a plan. The options that drive it are in the
// application config, which Verify guarantees is unchanged; a stage carries
// what people need to judge the plan: what gates it and how long it waits.
type Stage struct {
	// ID is the stage's id, or "stage-N" (N its index in the pipeline) when
	// the config gives none; predefined stages have PipeCD's ids (K8sSync,
	// Rollback).
	ID   string           `json:"id"`
	Name config.StageName `json:"name"`
	Desc string           `json:"desc,omitempty"`
	// Index is the position among the stages that run on success; -1 for
	// rollback stages.
	Index int `json:"index"`
	// Predefined is true for stages the planner adds (quick sync, rollback).
	Predefined bool `json:"predefined,omitempty"`
	// Rollback is true for stages that run only when the deployment fails
	// and is rolled back.
	Rollback bool `json:"rollback,omitempty"`
	// Requires lists the ids of the stages that must succeed first.
	Requires []string `json:"requires,omitempty"`
	// RollbackOf is, for SCRIPT_RUN_ROLLBACK, the id of the SCRIPT_RUN
	// stage whose onRollback script it runs.
	RollbackOf string `json:"rollbackOf,omitempty"`
	// Timeout bounds the stage, when configured.
	Timeout config.Duration `json:"timeout,omitempty"`
	// Wait is how long a WAIT stage waits.
	Wait config.Duration `json:"wait,omitempty"`
	// Approval says who must approve a WAIT_APPROVAL stage.
	Approval *Approval `json:"approval,omitempty"`
	// Analysis says what gates an ANALYSIS stage.
	Analysis *Analysis `json:"analysis,omitempty"`
	// Summary describes the other options in one line (e.g. "replicas 10%",
	// "primary 90%, canary 10%").
	Summary string `json:"summary,omitempty"`
	// Skip says why the stage will be skipped (its skipOn matched); empty
	// when it runs. The executor decides again when it reaches the stage.
	Skip string `json:"skip,omitempty"`
}

// predefinedSync is the quick-sync stage of each kind, as PipeCD names it.
func predefinedSync(kind string) (id string, name config.StageName, desc string) {
	switch config.Kind(kind) {
	case config.KindTerraformApp:
		return "TerraformSync", config.StageTerraformSync, "Sync by automatically applying any detected changes"
	case config.KindCloudRunApp:
		return "CloudRunSync", config.StageCloudRunSync, "Deploy the new version and configure all traffic to it"
	case config.KindLambdaApp:
		return "LambdaSync", config.StageLambdaSync, "Deploy the new version and configure all traffic to it"
	case config.KindECSApp:
		return "ECSSync", config.StageECSSync, "Deploy the new version and configure all traffic to it"
	}
	return "K8sSync", config.StageK8sSync, "Sync by applying all manifests"
}

// rollbackStage is PipeCD's predefined ROLLBACK stage.
func rollbackStage() Stage {
	return Stage{ID: "Rollback", Name: StageRollback, Desc: "Rollback the deployment", Index: -1, Predefined: true, Rollback: true}
}

// quickSyncStages is the kind's sync stage, then ROLLBACK when failed
// deployments are rolled back (PipeCD's buildQuickSyncPipeline).
func quickSyncStages(kind string, autoRollback bool, opts *config.K8sSyncStageOptions) []Stage {
	id, name, desc := predefinedSync(kind)
	st := Stage{ID: id, Name: name, Desc: desc, Predefined: true}
	if opts != nil {
		st.Summary = describeOptions(opts)
	}
	out := []Stage{st}
	if autoRollback {
		out = append(out, rollbackStage())
	}
	return out
}

// pipelineStages lays out the configured stages, each requiring the one
// before, then ROLLBACK and one SCRIPT_RUN_ROLLBACK per SCRIPT_RUN stage
// with an onRollback script when failed deployments are rolled back
// (PipeCD's buildProgressivePipeline).
func pipelineStages(p *config.DeploymentPipeline, autoRollback bool, sk skipContext) []Stage {
	out := make([]Stage, 0, len(p.Stages)+1)
	prev := ""
	for i, s := range p.Stages {
		id := s.ID
		if id == "" {
			id = fmt.Sprintf("stage-%d", i)
		}
		st := Stage{ID: id, Name: s.Name, Desc: s.Desc, Index: i, Timeout: s.Timeout}
		if prev != "" {
			st.Requires = []string{prev}
		}
		prev = id
		describeStage(&st, s.With, sk)
		out = append(out, st)
	}
	if !autoRollback {
		return out
	}
	out = append(out, rollbackStage())
	for i, s := range p.Stages {
		o, ok := s.With.(*config.ScriptRunStageOptions)
		if !ok || strings.TrimSpace(o.OnRollback) == "" {
			continue
		}
		out = append(out, Stage{
			ID: "ScriptRunRollback-" + out[i].ID, Name: StageScriptRunRollback,
			Desc: "Rollback the script run stage", Index: -1, Predefined: true, Rollback: true,
			RollbackOf: out[i].ID, Summary: "run: " + oneLine(o.OnRollback),
		})
	}
	return out
}

// describeStage fills what gates a stage and whether it is skipped.
func describeStage(st *Stage, with any, sk skipContext) {
	switch o := with.(type) {
	case *config.WaitStageOptions:
		st.Wait = o.Duration
		st.Skip = sk.reason(o.SkipOn)
	case *config.WaitApprovalStageOptions:
		st.Approval = &Approval{Approvers: slices.Clone(o.Approvers), MinApprovers: max(o.MinApproverNum, 1), Timeout: o.Timeout}
		st.Skip = sk.reason(o.SkipOn)
	case *config.AnalysisStageOptions:
		st.Analysis = analysisOf(o)
		st.Skip = sk.reason(o.SkipOn)
	case *config.ScriptRunStageOptions:
		st.Summary = "run: " + oneLine(o.Run)
		st.Skip = sk.reason(o.SkipOn)
	default:
		st.Summary = describeOptions(with)
	}
}

// describeOptions summarises the options of the platform stages.
func describeOptions(with any) string {
	var parts []string
	switch o := with.(type) {
	case *config.K8sSyncStageOptions:
		if o.Prune {
			parts = append(parts, "prune")
		}
		if o.AddVariantLabelToSelector {
			parts = append(parts, "add variant label to selector")
		}
	case *config.K8sPrimaryRolloutStageOptions:
		if o.Prune {
			parts = append(parts, "prune")
		}
		if o.CreateService {
			parts = append(parts, "create service")
		}
	case *config.K8sCanaryRolloutStageOptions:
		parts = append(parts, "replicas "+replicasOrDefault(o.Replicas))
		if n := len(o.Patches); n > 0 {
			parts = append(parts, fmt.Sprintf("%d patch(es)", n))
		}
		if o.CreateService {
			parts = append(parts, "create service")
		}
	case *config.K8sBaselineRolloutStageOptions:
		parts = append(parts, "replicas "+replicasOrDefault(o.Replicas))
		if o.CreateService {
			parts = append(parts, "create service")
		}
	case *config.K8sTrafficRoutingStageOptions:
		p, c, b := o.Percentages()
		parts = append(parts, fmt.Sprintf("primary %d%%, canary %d%%, baseline %d%%", p, c, b))
	case *config.CustomSyncStageOptions:
		parts = append(parts, "run: "+oneLine(o.Run))
	}
	return strings.Join(parts, ", ")
}

func replicasOrDefault(r config.Replicas) string {
	if r.Number == 0 && !r.IsPercentage {
		return "1"
	}
	return r.String()
}

// pruneOf reports whether the sync that the stages run deletes objects no
// longer in Git: quickSync.prune for quick sync, the prune option of a
// K8S_SYNC or K8S_PRIMARY_ROLLOUT stage of the pipeline.
func pruneOf(spec *config.KubernetesApplicationSpec, s Strategy) bool {
	if s == StrategyQuickSync {
		return spec.QuickSync.Prune
	}
	if spec.Pipeline == nil {
		return false
	}
	for _, st := range spec.Pipeline.Stages {
		switch o := st.With.(type) {
		case *config.K8sSyncStageOptions:
			if o.Prune {
				return true
			}
		case *config.K8sPrimaryRolloutStageOptions:
			if o.Prune {
				return true
			}
		}
	}
	return false
}

// oneLine shortens text to its first line, marking what was cut.
func oneLine(s string) string {
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

// sortedKeys returns the keys of a set in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
