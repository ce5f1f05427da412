package config

import (
	"fmt"
	"strings"
)

// Stages of a KubernetesApp.
const (
	StageK8sSync            StageName = "K8S_SYNC"
	StageK8sPrimaryRollout  StageName = "K8S_PRIMARY_ROLLOUT"
	StageK8sCanaryRollout   StageName = "K8S_CANARY_ROLLOUT"
	StageK8sCanaryClean     StageName = "K8S_CANARY_CLEAN"
	StageK8sBaselineRollout StageName = "K8S_BASELINE_ROLLOUT"
	StageK8sBaselineClean   StageName = "K8S_BASELINE_CLEAN"
	StageK8sTrafficRouting  StageName = "K8S_TRAFFIC_ROUTING"
)

func kubernetesStages() map[StageName]stageSpec {
	k8s := []Kind{KindKubernetesApp}
	return map[StageName]stageSpec{
		StageK8sSync:            {kinds: k8s, options: func() any { return &K8sSyncStageOptions{} }},
		StageK8sPrimaryRollout:  {kinds: k8s, options: func() any { return &K8sPrimaryRolloutStageOptions{} }},
		StageK8sCanaryRollout:   {kinds: k8s, options: func() any { return &K8sCanaryRolloutStageOptions{} }},
		StageK8sCanaryClean:     {kinds: k8s},
		StageK8sBaselineRollout: {kinds: k8s, options: func() any { return &K8sBaselineRolloutStageOptions{} }},
		StageK8sBaselineClean:   {kinds: k8s},
		StageK8sTrafficRouting:  {kinds: k8s, options: func() any { return &K8sTrafficRoutingStageOptions{} }, requiresWith: true},
	}
}

// K8sSyncStageOptions configures K8S_SYNC and quick sync.
type K8sSyncStageOptions struct {
	// Add the primary variant label to workload selectors that lack it.
	AddVariantLabelToSelector bool `json:"addVariantLabelToSelector,omitempty"`
	// Delete resources that are no longer in Git.
	Prune bool `json:"prune,omitempty"`
}

// K8sPrimaryRolloutStageOptions configures K8S_PRIMARY_ROLLOUT.
type K8sPrimaryRolloutStageOptions struct {
	// Suffix of the primary variant's resource names.
	Suffix string `json:"suffix,omitempty" jsonschema:"default=primary"`
	// Create a Service for the primary variant.
	CreateService bool `json:"createService,omitempty"`
	// Add the primary variant label to workload selectors that lack it.
	AddVariantLabelToSelector bool `json:"addVariantLabelToSelector,omitempty"`
	// Delete resources that are no longer in Git.
	Prune bool `json:"prune,omitempty"`
}

// Validate implements validatable.
func (o *K8sPrimaryRolloutStageOptions) Validate(c *Checker, path string) {
	checkSuffix(c, path+".suffix", o.Suffix)
}

// K8sCanaryRolloutStageOptions configures K8S_CANARY_ROLLOUT.
type K8sCanaryRolloutStageOptions struct {
	// Pods of the canary variant: a number, or a percentage of the primary's ("10%").
	Replicas Replicas `json:"replicas,omitempty" jsonschema:"default=1"`
	// Suffix of the canary variant's resource names.
	Suffix string `json:"suffix,omitempty" jsonschema:"default=canary"`
	// Create a Service for the canary variant.
	CreateService bool `json:"createService,omitempty"`
	// Patches applied to the canary variant's manifests.
	Patches []K8sResourcePatch `json:"patches,omitempty"`
}

// Validate implements validatable.
func (o *K8sCanaryRolloutStageOptions) Validate(c *Checker, path string) {
	checkSuffix(c, path+".suffix", o.Suffix)
}

// K8sBaselineRolloutStageOptions configures K8S_BASELINE_ROLLOUT.
type K8sBaselineRolloutStageOptions struct {
	// Pods of the baseline variant: a number, or a percentage of the primary's ("10%").
	Replicas Replicas `json:"replicas,omitempty" jsonschema:"default=1"`
	// Suffix of the baseline variant's resource names.
	Suffix string `json:"suffix,omitempty" jsonschema:"default=baseline"`
	// Create a Service for the baseline variant.
	CreateService bool `json:"createService,omitempty"`
}

// Validate implements validatable.
func (o *K8sBaselineRolloutStageOptions) Validate(c *Checker, path string) {
	checkSuffix(c, path+".suffix", o.Suffix)
}

func checkSuffix(c *Checker, path, s string) {
	if len(s) > 63 || !dnsLabelRe().MatchString(s) {
		c.Errorf(path, "resource names get `-<suffix>`: use lower-case letters, digits and '-'", "invalid suffix %q", s)
	}
}

// K8sResourcePatch patches one manifest of the canary variant.
type K8sResourcePatch struct {
	// The manifest to patch.
	Target K8sResourcePatchTarget `json:"target" jsonschema:"required"`
	// The operations, applied in order.
	Ops []K8sResourcePatchOp `json:"ops,omitempty"`
}

// K8sResourcePatchTarget is the manifest (or a field of it) to patch.
type K8sResourcePatchTarget struct {
	// The resource kind, e.g. ConfigMap.
	Kind string `json:"kind" jsonschema:"required"`
	// The resource name.
	Name string `json:"name" jsonschema:"required"`
	// A field holding YAML or JSON text to patch instead of the manifest, e.g. `$.data.'envoy-config.yaml'`.
	DocumentRoot string `json:"documentRoot,omitempty"`
}

// Validate implements validatable.
func (t *K8sResourcePatchTarget) Validate(c *Checker, path string) {
	if t.DocumentRoot != "" && !strings.HasPrefix(t.DocumentRoot, "$") {
		c.Errorf(path+".documentRoot", "start the path at the root: `$.data.key`", "documentRoot must start with `$`")
	}
}

// Patch operations.
const (
	PatchOpYAMLReplace = "yaml-replace"
	PatchOpYAMLAdd     = "yaml-add"
	PatchOpYAMLRemove  = "yaml-remove"
	PatchOpJSONReplace = "json-replace"
	PatchOpTextRegex   = "text-regex"
)

var patchOps = []string{PatchOpYAMLReplace, PatchOpYAMLAdd, PatchOpYAMLRemove, PatchOpJSONReplace, PatchOpTextRegex}

// K8sResourcePatchOp is one patch operation.
type K8sResourcePatchOp struct {
	// yaml-replace, yaml-add, yaml-remove, json-replace or text-regex.
	Op string `json:"op,omitempty" jsonschema:"default=yaml-replace,enum=yaml-replace,enum=yaml-add,enum=yaml-remove,enum=json-replace,enum=text-regex"`
	// The field to change (`$.spec.replicas`); for text-regex, a regular expression.
	Path string `json:"path"`
	// The new value.
	Value string `json:"value,omitempty"`
}

// Validate implements validatable.
func (o *K8sResourcePatchOp) Validate(c *Checker, path string) {
	if !containsString(patchOps, o.Op) {
		c.Errorf(path+".op", enumHint(o.Op, patchOps), "unknown patch operation %q", o.Op)
		return
	}
	switch {
	case o.Path == "":
		c.Errorf(path+".path", "", "missing `path`")
	case o.Op == PatchOpTextRegex:
		checkRegexp(c, path+".path", o.Path)
	case !strings.HasPrefix(o.Path, "$"):
		c.Errorf(path+".path", "start the path at the root: `$."+strings.TrimPrefix(o.Path, ".")+"`", "a %s path must start with `$`", o.Op)
	}
}

// Traffic routing targets of `all`.
const (
	VariantPrimary  = "primary"
	VariantCanary   = "canary"
	VariantBaseline = "baseline"
)

var variants = []string{VariantPrimary, VariantCanary, VariantBaseline}

// K8sTrafficRoutingStageOptions configures K8S_TRAFFIC_ROUTING: either all
// traffic to one variant, or percentages that add up to 100.
type K8sTrafficRoutingStageOptions struct {
	// The variant receiving all traffic: primary, canary or baseline.
	All string `json:"all,omitempty" jsonschema:"enum=primary,enum=canary,enum=baseline"`
	// Percentage of traffic to the primary variant.
	Primary Percentage `json:"primary,omitempty"`
	// Percentage of traffic to the canary variant.
	Canary Percentage `json:"canary,omitempty"`
	// Percentage of traffic to the baseline variant.
	Baseline Percentage `json:"baseline,omitempty"`
}

// Percentages returns the traffic of each variant.
func (o K8sTrafficRoutingStageOptions) Percentages() (primary, canary, baseline int) {
	switch o.All {
	case VariantPrimary:
		return 100, 0, 0
	case VariantCanary:
		return 0, 100, 0
	case VariantBaseline:
		return 0, 0, 100
	}
	return o.Primary.Number, o.Canary.Number, o.Baseline.Number
}

// Validate implements validatable.
func (o *K8sTrafficRoutingStageOptions) Validate(c *Checker, path string) {
	if !c.Has(path) {
		return // the stage decoder reported the missing `with`
	}
	if field, hint, msg := o.problem(c, path); msg != "" {
		if field != "" {
			path += "." + field
		}
		c.Errorf(path, hint, "%s", msg)
	}
}

// valid reports whether the options written at path are usable; the
// problem itself is reported by Validate.
func (o *K8sTrafficRoutingStageOptions) valid(c *Checker, path string) bool {
	if !c.Has(path) {
		return false
	}
	_, _, msg := o.problem(c, path)
	return msg == ""
}

// problem returns the first problem of the options: the field it concerns
// (relative to path), a hint and the message; msg is empty when there is none.
func (o *K8sTrafficRoutingStageOptions) problem(c *Checker, path string) (field, hint, msg string) {
	var given []string
	sum := 0
	for _, f := range []struct {
		name string
		p    Percentage
	}{{"primary", o.Primary}, {"canary", o.Canary}, {"baseline", o.Baseline}} {
		if c.Has(path + "." + f.name) {
			given = append(given, f.name)
			sum += f.p.Number
		}
	}
	switch {
	case o.All != "" && !containsString(variants, o.All):
		return "all", enumHint(o.All, variants), fmt.Sprintf("unknown variant %q", o.All)
	case o.All != "" && len(given) > 0:
		return given[0], "`all` sends all traffic to one variant; remove the percentages or `all`",
			"`all` and percentages are both set (PipeCD ignores the percentages)"
	case o.All == "" && len(given) == 0:
		return "", "write `all: canary` (or primary, baseline), or percentages such as `primary: 90` and `canary: 10`",
			"K8S_TRAFFIC_ROUTING says nothing about where traffic goes"
	case o.All == "" && sum != 100:
		return given[len(given)-1], "the percentages of primary, canary and baseline must add up to 100 (a variant left out gets 0)",
			fmt.Sprintf("traffic percentages add up to %d, not 100 (%s)", sum, strings.Join(given, " + "))
	}
	return "", "", ""
}
