package kubernetes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// decideByDiff is PipeCD's decideStrategy: it compares the desired state
// of the last successful deployment (olds) with the head's (news).
//
//   - nothing changed: quick sync (pipe's wording; PipeCD reaches its
//     default rule, with the same strategy);
//   - no workload in either state: quick sync;
//   - the pod template of a workload changed: pipeline, naming the images
//     that changed when some did;
//   - a ConfigMap or Secret was deleted, added or changed: pipeline;
//   - the replicas of workloads changed: quick sync to scale;
//   - anything else: quick sync.
//
// The workloads are those of spec.workloads (kind Deployment when not
// given, every object of the kind when the name is not given), or every
// Deployment when the list is empty, as in PipeCD.
func decideByDiff(olds, news []planObject, refs []config.K8sResourceReference) plan.Decision {
	if sameState(olds, news) {
		return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleNoChange, Reason: "Quick sync by applying all manifests (nothing changed since the last successful deployment)"}
	}
	oldWorkloads := findWorkloads(olds, refs)
	if len(oldWorkloads) == 0 {
		return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleNoRunningWorkloads, Reason: "Quick sync by applying all manifests because it was unable to find the currently running workloads"}
	}
	newWorkloads := findWorkloads(news, refs)
	if len(newWorkloads) == 0 {
		return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleNoNewWorkloads, Reason: "Quick sync by applying all manifests because it was unable to find workloads in the new manifests"}
	}

	pairs := pairWorkloads(oldWorkloads, newWorkloads)
	var (
		images  []string
		changed []string
	)
	for _, w := range pairs {
		ot, _ := nested(w.old, "spec", "template")
		nt, _ := nested(w.new, "spec", "template")
		if manifest.EqualInOrder(ot, nt) {
			continue
		}
		changed = append(changed, w.name)
		for _, img := range imageChanges(ot, nt) {
			if !contains(images, img) {
				images = append(images, img)
			}
		}
	}
	switch {
	case len(images) > 0:
		return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleImageChange, Reason: "Sync progressively because of updating " + strings.Join(images, ", ")}
	case len(changed) == 1:
		return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RulePodTemplateChange, Reason: fmt.Sprintf("Sync progressively because pod template of workload %s was changed", changed[0])}
	case len(changed) > 1:
		return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RulePodTemplateChange, Reason: fmt.Sprintf("Sync progressively because pod templates of workloads %s were changed", strings.Join(changed, ", "))}
	}

	oldConfigs, newConfigs := findConfigs(olds), findConfigs(news)
	newByKey := byKey(newConfigs)
	switch {
	case len(oldConfigs) > len(newConfigs):
		return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleConfigDeleted, Reason: fmt.Sprintf("Sync progressively because %d configmap/secret deleted", len(oldConfigs)-len(newConfigs))}
	case len(oldConfigs) < len(newConfigs):
		return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleConfigAdded, Reason: fmt.Sprintf("Sync progressively because new %d configmap/secret added", len(newConfigs)-len(oldConfigs))}
	}
	for _, oc := range oldConfigs {
		k := parseKey(oc.Key)
		nc, ok := newByKey[oc.Key]
		if !ok {
			return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleConfigDeleted, Reason: fmt.Sprintf("Sync progressively because %s %s was deleted", k.Kind, k.Name)}
		}
		if !manifest.EqualInOrder(manifest.Normalize(oc.Object), manifest.Normalize(nc.Object)) {
			return plan.Decision{Strategy: plan.StrategyPipeline, Rule: plan.RuleConfigChange, Reason: fmt.Sprintf("Sync progressively because %s %s was updated", k.Kind, k.Name)}
		}
	}

	var scales []string
	for _, w := range pairs {
		ov, _ := nested(w.old, "spec", "replicas")
		nv, _ := nested(w.new, "spec", "replicas")
		if manifest.EqualInOrder(ov, nv) {
			continue
		}
		scales = append(scales, fmt.Sprintf("%s/%s from %s to %s", w.kind, w.name, replicasString(ov), replicasString(nv)))
	}
	if len(scales) > 0 {
		sort.Strings(scales)
		return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleScale, Reason: "Quick sync to scale " + strings.Join(scales, ", ")}
	}
	return plan.Decision{Strategy: plan.StrategyQuickSync, Rule: plan.RuleOtherChange, Reason: "Quick sync by applying all manifests"}
}

// findWorkloads returns the workloads among objects, each once.
func findWorkloads(objs []planObject, refs []config.K8sResourceReference) []planObject {
	if len(refs) == 0 {
		refs = []config.K8sResourceReference{{Kind: "Deployment"}}
	}
	var out []planObject
	seen := map[string]bool{}
	for _, ref := range refs {
		kind := ref.Kind
		if kind == "" {
			kind = "Deployment"
		}
		for _, o := range objs {
			k := parseKey(o.Key)
			if o.Object == nil || k.Kind != kind || (ref.Name != "" && k.Name != ref.Name) || seen[o.Key] {
				continue
			}
			seen[o.Key] = true
			out = append(out, o)
		}
	}
	return out
}

// findConfigs returns the ConfigMaps and Secrets (core group) in order.
func findConfigs(objs []planObject) []planObject {
	var out []planObject
	seen := map[string]bool{}
	for _, o := range objs {
		k := parseKey(o.Key)
		if o.Object == nil || k.Group != "" || (k.Kind != "ConfigMap" && k.Kind != "Secret") || seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		out = append(out, o)
	}
	return out
}

// workloadPair is one workload in both states, normalised.
type workloadPair struct {
	kind, name string
	old, new   map[string]any
}

// pairWorkloads matches workloads by kind, namespace and name, ignoring the
// API group (a Deployment moved from extensions to apps is the same
// workload), in the order of the new state.
func pairWorkloads(olds, news []planObject) []workloadPair {
	id := func(s string) string {
		k := parseKey(s)
		return k.Kind + ":" + k.Namespace + ":" + k.Name
	}
	old := make(map[string]planObject, len(olds))
	for _, o := range olds {
		old[id(o.Key)] = o
	}
	var out []workloadPair
	for _, n := range news {
		o, ok := old[id(n.Key)]
		if !ok {
			continue
		}
		k := parseKey(n.Key)
		out = append(out, workloadPair{kind: k.Kind, name: k.Name, old: manifest.Normalize(o.Object), new: manifest.Normalize(n.Object)})
	}
	return out
}

// imageChanges describes the images that changed between two pod
// templates, containers matched by name (by position when unnamed), init
// containers included: "image web from v1 to v2", or "image a:v1 to b:v2"
// when the image name itself changed.
func imageChanges(oldTpl, newTpl any) []string {
	var out []string
	for _, field := range []string{"initContainers", "containers"} {
		oc, _ := nested(oldTpl, "spec", field)
		nc, _ := nested(newTpl, "spec", field)
		olds, _ := oc.([]any)
		news, _ := nc.([]any)
		for i, n := range news {
			nm, _ := n.(map[string]any)
			o := matchContainer(olds, nm, i)
			if o == nil {
				continue
			}
			oi, _ := o["image"].(string)
			ni, _ := nm["image"].(string)
			if oi == ni || oi == "" || ni == "" {
				continue
			}
			before, after := parseImage(oi), parseImage(ni)
			if before.name == after.name {
				out = append(out, fmt.Sprintf("image %s from %s to %s", before.name, before.tag, after.tag))
			} else {
				out = append(out, fmt.Sprintf("image %s:%s to %s:%s", before.name, before.tag, after.name, after.tag))
			}
		}
	}
	return out
}

func matchContainer(olds []any, n map[string]any, i int) map[string]any {
	name, _ := n["name"].(string)
	for _, o := range olds {
		om, _ := o.(map[string]any)
		if on, _ := om["name"].(string); name != "" && on == name {
			return om
		}
	}
	if name == "" && i < len(olds) {
		om, _ := olds[i].(map[string]any)
		return om
	}
	return nil
}

// imageRef is an image reference as the planner names it.
type imageRef struct{ name, tag string }

// parseImage is manifest.ParseImage as the planner names images.
func parseImage(ref string) imageRef {
	name, tag := manifest.ParseImage(ref)
	return imageRef{name: name, tag: tag}
}

// imageVersion describes the images of the workloads as PipeCD's version
// does: the tag when there is one image, else "tag (name), ...".
func imageVersion(objs []planObject, refs []config.K8sResourceReference) string {
	var images []imageRef
	seen := map[string]bool{}
	for _, w := range findWorkloads(objs, refs) {
		cs, _ := nested(w.Object.Object, "spec", "template", "spec", "containers")
		list, _ := cs.([]any)
		for _, c := range list {
			cm, _ := c.(map[string]any)
			ref, _ := cm["image"].(string)
			if ref == "" || seen[ref] {
				continue
			}
			seen[ref] = true
			images = append(images, parseImage(ref))
		}
	}
	switch len(images) {
	case 0:
		return ""
	case 1:
		return images[0].tag
	}
	parts := make([]string, len(images))
	for i, img := range images {
		parts[i] = fmt.Sprintf("%s (%s)", img.tag, img.name)
	}
	return strings.Join(parts, ", ")
}

// replicasString renders a replicas value; "<nil>" when absent, as PipeCD.
func replicasString(v any) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprint(v)
}

// nested returns the value at a path of maps.
func nested(v any, path ...string) (any, bool) {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
