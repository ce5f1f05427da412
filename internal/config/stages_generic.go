package config

import "fmt"

// Stages every application kind can use.
const (
	StageWait         StageName = "WAIT"
	StageWaitApproval StageName = "WAIT_APPROVAL"
	StageAnalysis     StageName = "ANALYSIS"
	StageScriptRun    StageName = "SCRIPT_RUN"
	StageCustomSync   StageName = "CUSTOM_SYNC"
)

// genericStages registers the stages of every kind. PipeCD's ROLLBACK,
// CUSTOM_SYNC_ROLLBACK and SCRIPT_RUN_ROLLBACK are not here: the executor
// adds them on failure, a pipeline may not name them (PipeCD rejects them too).
func genericStages() map[StageName]stageSpec {
	return map[StageName]stageSpec{
		StageWait:         {options: func() any { return &WaitStageOptions{} }},
		StageWaitApproval: {options: func() any { return &WaitApprovalStageOptions{} }},
		StageAnalysis:     {options: func() any { return &AnalysisStageOptions{} }, requiresWith: true},
		StageScriptRun:    {options: func() any { return &ScriptRunStageOptions{} }, requiresWith: true},
		StageCustomSync:   {options: func() any { return &CustomSyncStageOptions{} }, requiresWith: true},
	}
}

// SkipOptions skips a stage depending on the commit being deployed. The
// stage is skipped when either condition holds.
type SkipOptions struct {
	// Skip when the commit message starts with one of these prefixes.
	CommitMessagePrefixes []string `json:"commitMessagePrefixes,omitempty"`
	// Skip when every changed file matches one of these patterns (relative to the repository root).
	Paths []string `json:"paths,omitempty"`
}

// Validate implements validatable.
func (s *SkipOptions) Validate(c *Checker, path string) {
	for i, p := range s.CommitMessagePrefixes {
		if p == "" {
			c.Errorf(fmt.Sprintf("%s.commitMessagePrefixes[%d]", path, i), "an empty prefix matches every commit", "commit message prefix is empty")
		}
	}
	for i, p := range s.Paths {
		checkPathPattern(c, fmt.Sprintf("%s.paths[%d]", path, i), p)
	}
}

// WaitStageOptions configures a WAIT stage.
type WaitStageOptions struct {
	// How long to wait.
	Duration Duration `json:"duration,omitempty" jsonschema:"default=1m"`
	// When to skip the stage.
	SkipOn SkipOptions `json:"skipOn,omitempty"`
}

// Validate implements validatable.
func (o *WaitStageOptions) Validate(c *Checker, path string) {
	if c.Has(path+".duration") && o.Duration <= 0 {
		c.Errorf(path+".duration", "remove it to wait the default 1m", "duration must be greater than 0")
	}
}

// WaitApprovalStageOptions configures a WAIT_APPROVAL stage.
type WaitApprovalStageOptions struct {
	// How long to wait for approvals before the stage fails.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=6h"`
	// Who may approve; empty means anyone who can run `pipe approve`.
	Approvers []string `json:"approvers,omitempty"`
	// How many distinct approvals complete the stage.
	MinApproverNum int `json:"minApproverNum,omitempty" jsonschema:"default=1"`
	// When to skip the stage.
	SkipOn SkipOptions `json:"skipOn,omitempty"`
}

// Validate implements validatable.
func (o *WaitApprovalStageOptions) Validate(c *Checker, path string) {
	if o.MinApproverNum < 1 {
		c.Errorf(path+".minApproverNum", "at least one approval is needed", "minApproverNum must be 1 or more, got %d", o.MinApproverNum)
	} else if n := len(o.Approvers); n > 0 && o.MinApproverNum > n {
		c.Errorf(path+".minApproverNum", fmt.Sprintf("add approvers or lower minApproverNum to %d", n),
			"minApproverNum %d is more than the %d approvers listed: the stage could never complete", o.MinApproverNum, n)
	}
	if c.Has(path+".timeout") && o.Timeout <= 0 {
		c.Errorf(path+".timeout", "remove it for the default 6h", "timeout must be greater than 0")
	}
	seen := map[string]bool{}
	for i, a := range o.Approvers {
		if seen[a] {
			c.Warnf(fmt.Sprintf("%s.approvers[%d]", path, i), "", "approver %q is listed twice", a)
		}
		seen[a] = true
	}
}

// ScriptRunStageOptions configures a SCRIPT_RUN stage: a shell script run
// in the application directory.
type ScriptRunStageOptions struct {
	// The script.
	Run string `json:"run"`
	// Environment variables of the script.
	Env map[string]string `json:"env,omitempty"`
	// How long the script may run.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=6h"`
	// A script run when the deployment is rolled back.
	OnRollback string `json:"onRollback,omitempty"`
	// When to skip the stage.
	SkipOn SkipOptions `json:"skipOn,omitempty"`
}

// Validate implements validatable.
func (o *ScriptRunStageOptions) Validate(c *Checker, path string) {
	if !c.Has(path) {
		return // the stage decoder reported the missing `with`
	}
	if o.Run == "" {
		c.Errorf(path+".run", "write the commands to run under `run: |`", "SCRIPT_RUN needs `run`")
	}
	if c.Has(path+".timeout") && o.Timeout <= 0 {
		c.Errorf(path+".timeout", "remove it for the default 6h", "timeout must be greater than 0")
	}
}

// CustomSyncStageOptions configures a CUSTOM_SYNC stage: a script that
// replaces the kind's own sync (PipeCD marks it deprecated; it still runs).
type CustomSyncStageOptions struct {
	// How long the script may run.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=6h"`
	// Environment variables of the script (PipeCD's name).
	Envs map[string]string `json:"envs,omitempty"`
	// Environment variables of the script, as SCRIPT_RUN names them; pipe reads it like envs.
	Env map[string]string `json:"env,omitempty"`
	// The script.
	Run string `json:"run"`
}

// Environment returns the script's environment: envs merged with env.
func (o *CustomSyncStageOptions) Environment() map[string]string {
	out := make(map[string]string, len(o.Envs)+len(o.Env))
	for k, v := range o.Envs {
		out[k] = v
	}
	for k, v := range o.Env {
		out[k] = v
	}
	return out
}

// Validate implements validatable.
func (o *CustomSyncStageOptions) Validate(c *Checker, path string) {
	if !c.Has(path) {
		return
	}
	if o.Run == "" {
		c.Errorf(path+".run", "write the commands to run under `run: |`", "CUSTOM_SYNC needs `run`")
	}
	if c.Has(path + ".env") {
		hint := "rename it to `envs` to have the same effect on PipeCD"
		if c.Has(path + ".envs") {
			hint = "merge it into `envs`"
		}
		c.Warnf(path+".env", hint, "PipeCD's CUSTOM_SYNC ignores `env` (it reads `envs`); pipe reads both")
	}
	if c.Has(path+".timeout") && o.Timeout <= 0 {
		c.Errorf(path+".timeout", "remove it for the default 6h", "timeout must be greater than 0")
	}
}
