package config

import (
	"fmt"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// KubernetesApplicationSpec is the spec of a KubernetesApp.
type KubernetesApplicationSpec struct {
	GenericApplicationSpec
	// What to render: manifests, kustomize or a Helm chart, and the tools' versions.
	Input KubernetesDeploymentInput `json:"input,omitempty"`
	// Options of quick sync (the K8S_SYNC stage run when there is no pipeline).
	QuickSync K8sSyncStageOptions `json:"quickSync,omitempty"`
	// The Service of the application; empty means the first Service of the manifests.
	Service K8sResourceReference `json:"service,omitempty"`
	// The workloads of the application; empty means every Deployment.
	Workloads []K8sResourceReference `json:"workloads,omitempty"`
	// How K8S_TRAFFIC_ROUTING splits traffic; empty means podselector.
	TrafficRouting *KubernetesTrafficRouting `json:"trafficRouting,omitempty"`
	// The label that tells apart the primary, canary and baseline variants.
	VariantLabel KubernetesVariantLabel `json:"variantLabel,omitempty"`
	// Which platform provider each resource is applied to; unmatched resources go to the application's.
	ResourceRoutes []KubernetesResourceRoute `json:"resourceRoutes,omitempty"`
}

// unknownFieldHint explains input fields written at the top of the spec.
func (s *KubernetesApplicationSpec) unknownFieldHint(key string) string {
	switch key {
	case "manifests", "kubectlVersion", "kustomizeVersion", "kustomizeOptions", "helmVersion", "helmChart", "helmOptions", "namespace", "autoCreateNamespace":
		return fmt.Sprintf("`%s` goes under `input:`", key)
	case "autoRollback":
		return "write it as `input.autoRollback` (or `planner.autoRollback`)"
	case "stages":
		return "stages go under `pipeline:`"
	}
	return s.GenericApplicationSpec.unknownFieldHint(key)
}

// AutoRollbackEnabled reports whether a failed deployment is rolled back:
// planner.autoRollback when written (it wins, as for every kind), else
// input.autoRollback (PipeCD v0's place, default true).
func (s *KubernetesApplicationSpec) AutoRollbackEnabled(Kind) bool {
	if s.Planner.AutoRollback != nil {
		return *s.Planner.AutoRollback
	}
	return s.Input.AutoRollback
}

// TrafficRoutingMethod returns the method K8S_TRAFFIC_ROUTING uses.
func (s *KubernetesApplicationSpec) TrafficRoutingMethod() string {
	if s.TrafficRouting == nil || s.TrafficRouting.Method == "" {
		return TrafficRoutingPodSelector
	}
	return s.TrafficRouting.Method
}

// Validate implements validatable.
func (s *KubernetesApplicationSpec) Validate(c *Checker, path string) {
	s.GenericApplicationSpec.Validate(c, path)
	if p := s.Planner.AutoRollback; p != nil && c.Has(path+".input.autoRollback") && *p != s.Input.AutoRollback {
		c.Warnf(path+".input.autoRollback", fmt.Sprintf("planner.autoRollback (%t) takes precedence; remove one of them", *p),
			"input.autoRollback (%t) disagrees with planner.autoRollback", s.Input.AutoRollback)
	}
	if k := s.Service.Kind; k != "" && k != "Service" {
		c.Errorf(path+".service.kind", "remove `kind`: the service is always a Service", "service kind must be Service, got %q", k)
	}
	for i, w := range s.Workloads {
		if w.Kind != "" && w.Kind != "Deployment" {
			c.Warnf(itemPath(path+".workloads", i)+".kind", "PipeCD supports only Deployment workloads", "workload kind %s may not be supported by the variant stages", w.Kind)
		}
	}
	if s.Pipeline == nil {
		return
	}
	method := s.TrafficRoutingMethod()
	for i, st := range s.Pipeline.Stages {
		opts, ok := st.With.(*K8sTrafficRoutingStageOptions)
		if !ok || !opts.valid(c, itemPath(path+".pipeline.stages", i)+".with") {
			continue
		}
		if method != TrafficRoutingPodSelector {
			continue
		}
		primary, canary, baseline := opts.Percentages()
		if primary != 100 && canary != 100 {
			c.Errorf(itemPath(path+".pipeline.stages", i)+".with",
				"podselector switches all traffic by the Service selector: route 100% to primary or canary (e.g. `all: canary`), or set spec.trafficRouting.method to istio or gatewayapi",
				"traffic routing by podselector cannot split traffic (primary=%d, canary=%d, baseline=%d)", primary, canary, baseline)
		}
	}
}

// KubernetesDeploymentInput says how the manifests are rendered.
type KubernetesDeploymentInput struct {
	// Manifest files (relative to the application directory); empty means every manifest in it.
	Manifests []string `json:"manifests,omitempty"`
	// The kubectl version PipeCD would use (pipe applies in-process; informational).
	KubectlVersion string `json:"kubectlVersion,omitempty"`
	// The kustomize version to render with.
	KustomizeVersion string `json:"kustomizeVersion,omitempty"`
	// Options of `kustomize build`, by flag name without dashes (e.g. load-restrictor).
	KustomizeOptions map[string]string `json:"kustomizeOptions,omitempty"`
	// The Helm version to render with.
	HelmVersion string `json:"helmVersion,omitempty"`
	// Where the Helm chart comes from.
	HelmChart *InputHelmChart `json:"helmChart,omitempty"`
	// Options of `helm template`.
	HelmOptions *InputHelmOptions `json:"helmOptions,omitempty"`
	// The namespace the manifests are applied to; empty keeps theirs.
	Namespace string `json:"namespace,omitempty"`
	// Automatically revert all changes on failure (planner.autoRollback, when written, wins).
	AutoRollback bool `json:"autoRollback,omitempty" jsonschema:"default=true"`
	// Create the namespace when it does not exist.
	AutoCreateNamespace bool `json:"autoCreateNamespace,omitempty"`
}

var (
	toolVersionRe = lazyre.New(`^v?[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.+-]+)?$`)
	dnsLabelRe    = lazyre.New(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// Validate implements validatable.
func (in *KubernetesDeploymentInput) Validate(c *Checker, path string) {
	for i, m := range in.Manifests {
		c.CheckFileRef(itemPath(path+".manifests", i), m, "", RefFile)
	}
	if len(in.Manifests) > 0 && in.HelmChart != nil {
		c.Warnf(path+".manifests", "remove `manifests` or `helmChart`", "manifests are ignored: the Helm chart is rendered instead")
	}
	for _, f := range []struct{ name, v string }{{"kubectlVersion", in.KubectlVersion}, {"kustomizeVersion", in.KustomizeVersion}, {"helmVersion", in.HelmVersion}} {
		if f.v != "" && !toolVersionRe().MatchString(f.v) {
			c.Errorf(path+"."+f.name, `a version such as "1.32.2"`, "invalid %s %q", f.name, f.v)
		}
	}
	if in.Namespace != "" && (len(in.Namespace) > 63 || !dnsLabelRe().MatchString(in.Namespace)) {
		c.Errorf(path+".namespace", "a namespace is lower-case letters, digits and '-', at most 63 characters", "invalid namespace %q", in.Namespace)
	}
	if in.HelmOptions != nil && in.HelmChart == nil {
		c.Warnf(path+".helmOptions", "set `input.helmChart`", "helmOptions are ignored without a helmChart")
	}
}
