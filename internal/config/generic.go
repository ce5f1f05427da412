package config

// GenericApplicationSpec holds the fields every application kind has.
type GenericApplicationSpec struct {
	// The application name. pipe identifies an application by it: records,
	// locks and history are keyed by the name.
	Name string `json:"name" jsonschema:"required"`
	// Additional attributes to identify the application. The label `env` is
	// the application's environment.
	Labels map[string]string `json:"labels,omitempty"`
	// Notes on the application.
	Description string `json:"description,omitempty"`
	// Pipeline for deploying progressively.
	Pipeline *DeploymentPipeline `json:"pipeline,omitempty"`
	// The maximum length of time to execute a deployment before giving up.
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=6h"`
}

// Generic implements AppSpec.
func (s *GenericApplicationSpec) Generic() *GenericApplicationSpec { return s }

// DeploymentPipeline is the list of stages of a progressive deployment.
type DeploymentPipeline struct {
	Stages []PipelineStage `json:"stages"`
}

func genericStages() map[StageName]stageSpec { return map[StageName]stageSpec{} }
