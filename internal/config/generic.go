package config

import (
	"fmt"
	"regexp"
	"strings"
)

// GenericApplicationSpec holds the fields every application kind has
// (PipeCD's v0 GenericApplicationSpec). Kind specs embed it anonymously.
type GenericApplicationSpec struct {
	// The application name. pipe identifies an application by it: records,
	// locks and history are keyed by the name.
	Name string `json:"name" jsonschema:"required"`
	// Additional attributes to identify the application. The label `env` is
	// the application's environment.
	Labels map[string]string `json:"labels,omitempty"`
	// Notes on the application.
	Description string `json:"description,omitempty"`
	// How the planner chooses between quick sync and the pipeline.
	Planner DeploymentPlanner `json:"planner,omitempty"`
	// Forces quick sync or the pipeline when the commit message matches.
	CommitMatcher DeploymentCommitMatcher `json:"commitMatcher,omitempty"`
	// Pipeline for deploying progressively; empty means quick sync only.
	Pipeline *DeploymentPipeline `json:"pipeline,omitempty"`
	// What triggers a deployment of the application.
	Trigger Trigger `json:"trigger,omitempty"`
	// Actions run once the deployment was triggered (deployment chains).
	PostSync *PostSync `json:"postSync,omitempty"`
	// The maximum length of time to execute a deployment before giving up.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=6h"`
	// Encrypted secrets and the files they are decrypted into before use.
	Encryption *SecretEncryption `json:"encryption,omitempty"`
	// Files attached (embedded) into manifests before use.
	Attachment *Attachment `json:"attachment,omitempty"`
	// Who is mentioned in notifications of each event.
	Notification *DeploymentNotification `json:"notification,omitempty"`
	// Events that update files of this application (e.g. a new image tag).
	EventWatcher []EventWatcherConfig `json:"eventWatcher,omitempty"`
	// Drift detection settings.
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// Deprecated: use labels.env.
	EnvName string `json:"envName,omitempty" jsonschema_extras:"deprecated=true"`
	// Deprecated: use trigger.onCommit.paths.
	TriggerPaths []string `json:"triggerPaths,omitempty" jsonschema_extras:"deprecated=true"`
	// Deprecated: use encryption.
	SealedSecrets []SealedSecretMapping `json:"sealedSecrets,omitempty" jsonschema_extras:"deprecated=true"`
}

// Generic implements AppSpec.
func (s *GenericApplicationSpec) Generic() *GenericApplicationSpec { return s }

// Env returns the application's environment: labels.env, or the deprecated envName.
func (s *GenericApplicationSpec) Env() string {
	if e := s.Labels["env"]; e != "" {
		return e
	}
	return s.EnvName
}

// OnCommitPaths returns the paths whose changes trigger the application:
// trigger.onCommit.paths, or the deprecated triggerPaths when that is empty.
func (s *GenericApplicationSpec) OnCommitPaths() []string {
	if len(s.Trigger.OnCommit.Paths) > 0 {
		return s.Trigger.OnCommit.Paths
	}
	return s.TriggerPaths
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back
// automatically. Kind specs with a kind-specific switch (input.autoRollback)
// define their own method with this signature.
func (s *GenericApplicationSpec) AutoRollbackEnabled(kind Kind) bool {
	return s.Planner.AutoRollbackEnabled(kind)
}

// unknownFieldHint explains fields that exist elsewhere but not in a v0 spec.
func (s *GenericApplicationSpec) unknownFieldHint(key string) string {
	switch key {
	case "plugins":
		return "`spec.plugins` is the pipedv1 plugin format; pipe reads the v0 format (spec.input, spec.pipeline, ...): move the plugin's input and pipeline up into spec"
	case "metadata", "kind", "apiVersion":
		return "`" + key + "` belongs at the top of the file, not under spec"
	case "env":
		return "the environment is a label: `labels: {env: ...}`"
	}
	return ""
}

// Validate implements validatable. Kind specs that define their own Validate
// must call this one.
func (s *GenericApplicationSpec) Validate(c *Checker, path string) {
	if c.Has(path+".name") && strings.TrimSpace(s.Name) == "" {
		c.Errorf(path+".name", "", "name must not be empty")
	}
	if c.Has(path + ".envName") {
		c.Warnf(path+".envName", "write `labels: {env: "+s.EnvName+"}` instead", "`envName` is deprecated")
	}
	if c.Has(path + ".triggerPaths") {
		hint := "move the paths to `trigger.onCommit.paths`"
		if len(s.Trigger.OnCommit.Paths) > 0 {
			hint = "trigger.onCommit.paths is set, so triggerPaths is ignored; delete it"
		}
		c.Warnf(path+".triggerPaths", hint, "`triggerPaths` is deprecated")
	}
	if c.Has(path + ".sealedSecrets") {
		c.Warnf(path+".sealedSecrets", "PipeCD replaced sealed secrets by `encryption` (encryptedSecrets and decryptionTargets); re-encrypt the secrets with `pipe secret encrypt`",
			"`sealedSecrets` is deprecated")
	}
	if c.Has(path+".driftDetection") && c.Kind != "" && c.Kind != KindKubernetesApp {
		c.Warnf(path+".driftDetection", "driftDetection.ignoreFields applies to KubernetesApp only", "driftDetection is ignored for %s", c.Kind)
	}
}

// DeploymentPlanner configures how the planner decides between quick sync
// and the pipeline.
type DeploymentPlanner struct {
	// Always use the pipeline, never quick sync.
	AlwaysUsePipeline bool `json:"alwaysUsePipeline,omitempty"`
	// Automatically revert all changes on failure. When not written, the
	// kind's input.autoRollback decides (PipeCD v0's place; default true,
	// false for TerraformApp).
	AutoRollback *bool `json:"autoRollback,omitempty"`
}

// AutoRollbackEnabled returns planner.autoRollback, or the kind's default
// when it is not written: true for every kind except TerraformApp.
func (p DeploymentPlanner) AutoRollbackEnabled(kind Kind) bool {
	if p.AutoRollback != nil {
		return *p.AutoRollback
	}
	return DefaultAutoRollback(kind)
}

// DefaultAutoRollback is the automatic rollback default of a kind, as PipeCD
// has it: Terraform changes are not reverted unless asked for.
func DefaultAutoRollback(kind Kind) bool { return kind != KindTerraformApp }

// DeploymentCommitMatcher forces quick sync or the pipeline by commit message.
type DeploymentCommitMatcher struct {
	// Regular expression (Go syntax): quick sync when the commit message matches.
	QuickSync string `json:"quickSync,omitempty"`
	// Regular expression (Go syntax): use the pipeline when the commit message matches.
	Pipeline string `json:"pipeline,omitempty"`
}

// Validate implements validatable: both patterns must compile.
func (m *DeploymentCommitMatcher) Validate(c *Checker, path string) {
	checkRegexp(c, path+".quickSync", m.QuickSync)
	checkRegexp(c, path+".pipeline", m.Pipeline)
}

// checkRegexp reports a pattern that does not compile as a Go regular expression.
func checkRegexp(c *Checker, path, pattern string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		c.Errorf(path, "a Go regular expression (RE2 syntax, https://github.com/google/re2/wiki/Syntax)", "invalid regular expression: %s", msg)
		return nil
	}
	return re
}

// DeploymentPipeline is the list of stages of a progressive deployment.
type DeploymentPipeline struct {
	// The stages, run in order.
	Stages []PipelineStage `json:"stages"`
}

// Validate implements validatable: stage IDs must be unique.
func (p *DeploymentPipeline) Validate(c *Checker, path string) {
	seen := map[string]int{}
	for i, st := range p.Stages {
		if st.ID == "" {
			continue
		}
		if j, dup := seen[st.ID]; dup {
			c.Errorf(fmt.Sprintf("%s.stages[%d].id", path, i), fmt.Sprintf("stage %d already has this id", j), "duplicate stage id %q", st.ID)
			continue
		}
		seen[st.ID] = i
	}
}

// HasStage reports whether the pipeline contains a stage of that name.
func (p *DeploymentPipeline) HasStage(name StageName) bool {
	if p == nil {
		return false
	}
	for _, st := range p.Stages {
		if st.Name == name {
			return true
		}
	}
	return false
}

// itemPath is the field path of the i-th item of the list at path.
func itemPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
