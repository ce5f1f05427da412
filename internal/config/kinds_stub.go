package config

type KubernetesApplicationSpec struct{ GenericApplicationSpec }
type TerraformApplicationSpec struct{ GenericApplicationSpec }
type LambdaApplicationSpec struct{ GenericApplicationSpec }
type ECSApplicationSpec struct{ GenericApplicationSpec }
type CloudRunApplicationSpec struct{ GenericApplicationSpec }
type AnalysisTemplateSpec struct{}
type EventWatcherSpec struct{}
type PipeSpec struct{}

func kubernetesStages() map[StageName]stageSpec { return nil }
func terraformStages() map[StageName]stageSpec  { return nil }
func lambdaStages() map[StageName]stageSpec     { return nil }
func ecsStages() map[StageName]stageSpec        { return nil }
func cloudRunStages() map[StageName]stageSpec   { return nil }
