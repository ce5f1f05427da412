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

// rollbackStage is PipeCD's predefined ROLLBACK stage.
func rollbackStage() Stage {
	return Stage{ID: "Rollback", Name: StageRollback, Desc: "Rollback the deployment", Index: -1, Predefined: true, Rollback: true}
}

// quickSyncStages is the kind's sync stage, then ROLLBACK when failed
// deployments are rolled back (PipeCD's buildQuickSyncPipeline).
func quickSyncStages(st Stage, autoRollback bool) []Stage {
	st.Index, st.Predefined, st.Rollback = 0, true, false
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
			RollbackOf: out[i].ID, Summary: "run: " + config.OneLine(o.OnRollback),
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
		st.Summary = "run: " + config.OneLine(o.Run)
		st.Skip = sk.reason(o.SkipOn)
	case config.StageDescriber:
		st.Summary = o.Describe()
	}
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
