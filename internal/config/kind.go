package config

import "slices"

// APIVersion is the only envelope version pipe reads (PipeCD's v0 format).
const APIVersion = "pipecd.dev/v1beta1"

// Kind is the `kind` of a configuration document.
type Kind string

// Application kinds and the kinds of the shared .pipe/ files.
const (
	KindKubernetesApp    Kind = "KubernetesApp"
	KindTerraformApp     Kind = "TerraformApp"
	KindLambdaApp        Kind = "LambdaApp"
	KindECSApp           Kind = "ECSApp"
	KindCloudRunApp      Kind = "CloudRunApp"
	KindAnalysisTemplate Kind = "AnalysisTemplate"
	KindEventWatcher     Kind = "EventWatcher"
	KindPipe             Kind = "Pipe"
)

// AppKinds lists the application kinds in a stable order.
var appKinds = []Kind{KindKubernetesApp, KindTerraformApp, KindLambdaApp, KindECSApp, KindCloudRunApp}

// AllKinds lists every kind pipe reads, application kinds first.
func AllKinds() []Kind {
	return append(slices.Clone(appKinds), KindAnalysisTemplate, KindEventWatcher, KindPipe)
}

// AppKinds lists the application kinds.
func AppKinds() []Kind { return slices.Clone(appKinds) }

// IsApp reports whether k is an application kind.
func (k Kind) IsApp() bool { return slices.Contains(appKinds, k) }

// Platform is the short lower-case platform name of an application kind
// (kubernetes, terraform, lambda, ecs, cloudrun); empty for other kinds.
func (k Kind) Platform() string {
	switch k {
	case KindKubernetesApp:
		return "kubernetes"
	case KindTerraformApp:
		return "terraform"
	case KindLambdaApp:
		return "lambda"
	case KindECSApp:
		return "ecs"
	case KindCloudRunApp:
		return "cloudrun"
	}
	return ""
}

// newSpec returns a pointer to a zero spec for the kind, or nil if unknown.
func newSpec(k Kind) any {
	switch k {
	case KindKubernetesApp:
		return &KubernetesApplicationSpec{}
	case KindTerraformApp:
		return &TerraformApplicationSpec{}
	case KindLambdaApp:
		return &LambdaApplicationSpec{}
	case KindECSApp:
		return &ECSApplicationSpec{}
	case KindCloudRunApp:
		return &CloudRunApplicationSpec{}
	case KindAnalysisTemplate:
		return &AnalysisTemplateSpec{}
	case KindEventWatcher:
		return &EventWatcherSpec{}
	case KindPipe:
		return &PipeSpec{}
	}
	return nil
}

// AppSpec is implemented by every application spec.
type AppSpec interface {
	// Generic returns the fields every application kind has.
	Generic() *GenericApplicationSpec
}
