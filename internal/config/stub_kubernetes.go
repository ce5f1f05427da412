package config

// Placeholder types until the Kubernetes/generic/analysis config lands (owned by helper A; delete this file when replacing them).

type KubernetesApplicationSpec struct{ GenericApplicationSpec }
type AnalysisTemplateSpec struct{}

func kubernetesStages() map[StageName]stageSpec { return nil }
