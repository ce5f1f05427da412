package config

// CloudRunApplicationSpec is the spec of a CloudRunApp: one Cloud Run service
// described by a service manifest in the application directory.
type CloudRunApplicationSpec struct {
	GenericApplicationSpec
	// Input for Cloud Run deployment such as where the service manifest is.
	Input CloudRunDeploymentInput `json:"input"`
	// Configuration for quick sync.
	QuickSync CloudRunSyncStageOptions `json:"quickSync"`
}

// CloudRunDeploymentInput says where the service is described.
type CloudRunDeploymentInput struct {
	// The service manifest file, relative to the application directory.
	ServiceManifestFile string `json:"serviceManifestFile" jsonschema:"default=service.yaml"`
	// Automatically revert to the previous state when the deployment fails.
	AutoRollback bool `json:"autoRollback" jsonschema:"default=true"`
}

// CloudRunSyncStageOptions are the options of a CLOUDRUN_SYNC stage and of
// quick sync; there are none.
type CloudRunSyncStageOptions struct{}

// CloudRunPromoteStageOptions are the options of a CLOUDRUN_PROMOTE stage.
type CloudRunPromoteStageOptions struct {
	// Percentage of the traffic routed to the new revision.
	Percent Percentage `json:"percent"`
}

// Stage names of Cloud Run applications.
const (
	StageCloudRunSync    StageName = "CLOUDRUN_SYNC"
	StageCloudRunPromote StageName = "CLOUDRUN_PROMOTE"
)

func cloudRunStages() map[StageName]stageSpec {
	k := []Kind{KindCloudRunApp}
	return map[StageName]stageSpec{
		StageCloudRunSync:    {kinds: k},
		StageCloudRunPromote: {kinds: k, options: func() any { return &CloudRunPromoteStageOptions{} }},
	}
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back
// automatically: planner.autoRollback when written, else input.autoRollback
// (PipeCD's switch; default true).
func (s *CloudRunApplicationSpec) AutoRollbackEnabled(Kind) bool {
	if s.Planner.AutoRollback != nil {
		return *s.Planner.AutoRollback
	}
	return s.Input.AutoRollback
}

// Validate implements validatable.
func (s *CloudRunApplicationSpec) Validate(c *Checker, path string) {
	s.GenericApplicationSpec.Validate(c, path)
	c.checkAutoRollbackAgreement(path, s.Planner.AutoRollback, s.Input.AutoRollback)
	c.checkManifestFile(path+".input.serviceManifestFile", s.Input.ServiceManifestFile, "service.yaml")
}

// Validate implements validatable.
func (o *CloudRunPromoteStageOptions) Validate(c *Checker, path string) {
	checkPromotePercent(c, path, StageCloudRunPromote)
}
