package config

import (
	"strings"
)

// TerraformApplicationSpec is the spec of a TerraformApp: a Terraform
// working directory (the application directory) planned and applied with
// the options below.
type TerraformApplicationSpec struct {
	GenericApplicationSpec
	// Input for Terraform deployment such as terraform version, workspace...
	Input TerraformDeploymentInput `json:"input"`
	// Configuration for quick sync (plan then apply).
	QuickSync TerraformApplyStageOptions `json:"quickSync"`
}

// TerraformDeploymentInput says how to run Terraform for the application.
type TerraformDeploymentInput struct {
	// The terraform workspace name. Empty means the "default" workspace.
	Workspace string `json:"workspace,omitempty"`
	// The version of terraform to use. Empty means the installed one.
	TerraformVersion string `json:"terraformVersion,omitempty"`
	// Variables set on terraform commands with the -var flag, each written
	// "key=value" (e.g. `image_id=ami-abc123`, `ids=["a","b"]`).
	Vars []string `json:"vars,omitempty"`
	// Variable files, relative to the application directory, set on
	// terraform commands with the -var-file flag.
	VarFiles []string `json:"varFiles,omitempty"`
	// Automatically revert all changes when a stage fails. Off by default for
	// Terraform (on for the other kinds), as in PipeCD.
	AutoRollback bool `json:"autoRollback" jsonschema:"default=false"`
	// Additional flags for terraform commands.
	CommandFlags TerraformCommandFlags `json:"commandFlags"`
	// Additional environment variables for terraform commands, each "NAME=value".
	CommandEnvs TerraformCommandEnvs `json:"commandEnvs"`
}

// TerraformCommandFlags are additional flags for terraform commands.
type TerraformCommandFlags struct {
	// Flags for every command.
	Shared []string `json:"shared,omitempty"`
	// Flags for `terraform init`.
	Init []string `json:"init,omitempty"`
	// Flags for `terraform plan`.
	Plan []string `json:"plan,omitempty"`
	// Flags for `terraform apply`.
	Apply []string `json:"apply,omitempty"`
}

// TerraformCommandEnvs are additional environment variables for terraform
// commands, each written "NAME=value".
type TerraformCommandEnvs struct {
	// Variables for every command.
	Shared []string `json:"shared,omitempty"`
	// Variables for `terraform init`.
	Init []string `json:"init,omitempty"`
	// Variables for `terraform plan`.
	Plan []string `json:"plan,omitempty"`
	// Variables for `terraform apply`.
	Apply []string `json:"apply,omitempty"`
}

// TerraformSyncStageOptions are the options of a TERRAFORM_SYNC stage.
type TerraformSyncStageOptions struct {
	// How many times to retry applying terraform changes.
	Retries int `json:"retries,omitempty" jsonschema:"minimum=0"`
}

// TerraformPlanStageOptions are the options of a TERRAFORM_PLAN stage.
type TerraformPlanStageOptions struct {
	// End the pipeline successfully when the plan has no changes.
	ExitOnNoChanges bool `json:"exitOnNoChanges,omitempty"`
}

// TerraformApplyStageOptions are the options of a TERRAFORM_APPLY stage
// (and of quick sync).
type TerraformApplyStageOptions struct {
	// How many times to retry applying terraform changes.
	Retries int `json:"retries,omitempty" jsonschema:"minimum=0"`
}

// Stage names of Terraform applications.
const (
	StageTerraformSync  StageName = "TERRAFORM_SYNC"
	StageTerraformPlan  StageName = "TERRAFORM_PLAN"
	StageTerraformApply StageName = "TERRAFORM_APPLY"
)

func terraformStages() map[StageName]stageSpec {
	k := []Kind{KindTerraformApp}
	return map[StageName]stageSpec{
		StageTerraformSync:  {kinds: k, options: func() any { return &TerraformSyncStageOptions{} }},
		StageTerraformPlan:  {kinds: k, options: func() any { return &TerraformPlanStageOptions{} }},
		StageTerraformApply: {kinds: k, options: func() any { return &TerraformApplyStageOptions{} }},
	}
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back
// automatically: planner.autoRollback when written, else input.autoRollback
// (PipeCD's switch; default false).
func (s *TerraformApplicationSpec) AutoRollbackEnabled(Kind) bool {
	if s.Planner.AutoRollback != nil {
		return *s.Planner.AutoRollback
	}
	return s.Input.AutoRollback
}

// Validate implements validatable.
func (s *TerraformApplicationSpec) Validate(c *Checker, path string) {
	s.GenericApplicationSpec.Validate(c, path)
	c.checkAutoRollbackAgreement(path, s.Planner.AutoRollback, s.Input.AutoRollback)
}

// Validate implements validatable.
func (in *TerraformDeploymentInput) Validate(c *Checker, path string) {
	for i, v := range in.Vars {
		p := indexPath(path+".vars", i)
		if k, _, ok := strings.Cut(v, "="); !ok || strings.TrimSpace(k) == "" {
			c.Errorf(p, `write key=value, e.g. "image_id=ami-abc123"`, "variable %q is not key=value", truncate(v, 60))
		}
	}
	for i, f := range in.VarFiles {
		c.CheckFileRef(indexPath(path+".varFiles", i), f, "", RefFile)
	}
}

// Validate implements validatable.
func (e *TerraformCommandEnvs) Validate(c *Checker, path string) {
	for _, l := range []struct {
		name string
		envs []string
	}{{"shared", e.Shared}, {"init", e.Init}, {"plan", e.Plan}, {"apply", e.Apply}} {
		for i, v := range l.envs {
			p := indexPath(path+"."+l.name, i)
			if k, _, ok := strings.Cut(v, "="); !ok || !isEnvName(k) {
				c.Errorf(p, `write NAME=value, e.g. "TF_LOG=INFO"`, "environment variable %q is not NAME=value", truncate(v, 60))
			}
		}
	}
}

// Validate implements validatable.
func (o *TerraformSyncStageOptions) Validate(c *Checker, path string) {
	c.checkNoNegative(path+".retries", o.Retries)
}

// Validate implements validatable.
func (o *TerraformApplyStageOptions) Validate(c *Checker, path string) {
	c.checkNoNegative(path+".retries", o.Retries)
}
