package config

// LambdaApplicationSpec is the spec of a LambdaApp: one AWS Lambda function
// described by a function manifest in the application directory.
type LambdaApplicationSpec struct {
	GenericApplicationSpec
	// Input for Lambda deployment such as where the function manifest is.
	Input LambdaDeploymentInput `json:"input"`
	// Configuration for quick sync.
	QuickSync LambdaSyncStageOptions `json:"quickSync"`
}

// LambdaDeploymentInput says where the function is described.
type LambdaDeploymentInput struct {
	// The function manifest file, relative to the application directory.
	FunctionManifestFile string `json:"functionManifestFile" jsonschema:"default=function.yaml"`
	// Automatically revert all changes when a stage fails.
	AutoRollback bool `json:"autoRollback" jsonschema:"default=true"`
}

// LambdaSyncStageOptions are the options of a LAMBDA_SYNC stage and of quick
// sync; there are none.
type LambdaSyncStageOptions struct{}

// LambdaCanaryRolloutStageOptions are the options of a LAMBDA_CANARY_ROLLOUT
// stage; there are none.
type LambdaCanaryRolloutStageOptions struct{}

// LambdaPromoteStageOptions are the options of a LAMBDA_PROMOTE stage.
type LambdaPromoteStageOptions struct {
	// Percentage of the traffic routed to the new version.
	Percent Percentage `json:"percent"`
}

// Stage names of Lambda applications.
const (
	StageLambdaSync          StageName = "LAMBDA_SYNC"
	StageLambdaCanaryRollout StageName = "LAMBDA_CANARY_ROLLOUT"
	StageLambdaPromote       StageName = "LAMBDA_PROMOTE"
)

func lambdaStages() map[StageName]stageSpec {
	k := []Kind{KindLambdaApp}
	return map[StageName]stageSpec{
		StageLambdaSync:          {kinds: k},
		StageLambdaCanaryRollout: {kinds: k},
		StageLambdaPromote:       {kinds: k, options: func() any { return &LambdaPromoteStageOptions{} }},
	}
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back
// automatically: planner.autoRollback when written, else input.autoRollback
// (PipeCD's switch; default true).
func (s *LambdaApplicationSpec) AutoRollbackEnabled(Kind) bool {
	if s.Planner.AutoRollback != nil {
		return *s.Planner.AutoRollback
	}
	return s.Input.AutoRollback
}

// Validate implements validatable.
func (s *LambdaApplicationSpec) Validate(c *Checker, path string) {
	s.GenericApplicationSpec.Validate(c, path)
	c.checkAutoRollbackAgreement(path, s.Planner.AutoRollback, s.Input.AutoRollback)
	c.checkManifestFile(path+".input.functionManifestFile", s.Input.FunctionManifestFile, "function.yaml")
	c.checkFunctionManifest(path+".input.functionManifestFile", s.Input.FunctionManifestFile)
	rolledOut := false
	for _, st := range stagesOf(&s.GenericApplicationSpec, path) {
		switch st.Stage.Name {
		case StageLambdaCanaryRollout:
			rolledOut = true
		case StageLambdaPromote:
			if !rolledOut {
				c.Warnf(st.Path+".name", "add a LAMBDA_CANARY_ROLLOUT stage before it",
					"LAMBDA_PROMOTE has no new version to promote: no LAMBDA_CANARY_ROLLOUT runs before it")
			}
		}
	}
}

// Validate implements validatable.
func (o *LambdaPromoteStageOptions) Validate(c *Checker, path string) {
	checkPromotePercent(c, path, StageLambdaPromote)
}

// checkPromotePercent warns about a promote stage without a percentage: it
// would route no traffic to the new version, which is rarely intended.
func checkPromotePercent(c *Checker, path string, stage StageName) {
	if !c.Has(path + ".percent") {
		c.Warnf(path, "write `with: {percent: 10}`", "%s without `percent` routes 0%% of the traffic to the new version", stage)
	}
}
