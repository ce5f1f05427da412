package config

// Placeholder types until the other platforms' config lands (owned by helper B; delete this file when replacing them).

type TerraformApplicationSpec struct{ GenericApplicationSpec }
type LambdaApplicationSpec struct{ GenericApplicationSpec }
type ECSApplicationSpec struct{ GenericApplicationSpec }
type CloudRunApplicationSpec struct{ GenericApplicationSpec }
type EventWatcherSpec struct{}
type PipeSpec struct{}

func terraformStages() map[StageName]stageSpec { return nil }
func lambdaStages() map[StageName]stageSpec    { return nil }
func ecsStages() map[StageName]stageSpec       { return nil }
func cloudRunStages() map[StageName]stageSpec  { return nil }
