package kubernetes

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// VariantSpec says how to derive a variant (canary or baseline) of an
// application's manifests, as PipeCD's K8S_CANARY_ROLLOUT and
// K8S_BASELINE_ROLLOUT do.
type VariantSpec struct {
	// Suffix is appended to the names: <name>-<suffix>.
	Suffix string
	// LabelKey and LabelValue are the variant label, added to the
	// workloads' selectors and pod templates (and to the Service's selector).
	LabelKey, LabelValue string
	// Replicas is the number, or with Percent the percentage of each
	// workload's replicas (rounded up, at least 1).
	Replicas int
	Percent  bool
	// Workloads names the workloads (kind/name; kind defaults to
	// Deployment); empty means every Deployment.
	Workloads []WorkloadRef
	// Service names the Service copied when CreateService; empty name means
	// the first Service of the manifests.
	Service       string
	CreateService bool
}

// WorkloadRef names a workload of the manifests.
type WorkloadRef struct{ Kind, Name string }

// Variant returns the variant's objects derived from the manifests: the
// workloads renamed, scaled and labelled; every ConfigMap and Secret
// duplicated under the suffixed name with the workloads' references to them
// rewritten (so the variant never reads the primary's config); the Service
// copied when asked. The manifests are not modified. Only Deployments are
// supported: other selected workload kinds are an error naming them.
func Variant(objs []*unstructured.Unstructured, spec VariantSpec) ([]*unstructured.Unstructured, error) {
	if spec.Suffix == "" || spec.LabelKey == "" || spec.LabelValue == "" {
		return nil, fmt.Errorf("variant: suffix and label are required")
	}
	workloads, err := selectWorkloads(objs, spec.Workloads)
	if err != nil {
		return nil, err
	}
	if len(workloads) == 0 {
		return nil, fmt.Errorf("no workload to make a %s variant of: the manifests have no Deployment", spec.LabelValue)
	}
	renamed := map[string]string{} // "ConfigMap/name" -> new name
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GroupVersionKind().Group != "" || (u.GetKind() != "ConfigMap" && u.GetKind() != "Secret") {
			continue
		}
		c := copyMeta(u)
		c.SetName(u.GetName() + "-" + spec.Suffix)
		renamed[u.GetKind()+"/"+u.GetName()] = c.GetName()
		out = append(out, c)
	}
	for _, u := range workloads {
		c := copyMeta(u)
		c.SetName(u.GetName() + "-" + spec.Suffix)
		replicas := int64(1) // the apiserver's default
		if v, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas"); found {
			switch n := v.(type) {
			case int64:
				replicas = n
			case int:
				replicas = int64(n)
			case float64:
				replicas = int64(n)
			}
		}
		n := int64(spec.Replicas)
		if spec.Percent {
			n = int64(math.Ceil(float64(replicas) * float64(spec.Replicas) / 100))
		}
		if n < 1 {
			n = 1
		}
		if err := unstructured.SetNestedField(c.Object, n, "spec", "replicas"); err != nil {
			return nil, err
		}
		if err := AddVariantLabel(c, spec.LabelKey, spec.LabelValue, true); err != nil {
			return nil, err
		}
		if pod, ok, _ := unstructured.NestedMap(c.Object, "spec", "template", "spec"); ok {
			rewriteConfigRefs(pod, renamed)
			if err := unstructured.SetNestedMap(c.Object, pod, "spec", "template", "spec"); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	if spec.CreateService {
		svc := FindService(objs, spec.Service)
		if svc == nil {
			return nil, fmt.Errorf("createService: the manifests have no Service %s", spec.Service)
		}
		c, err := VariantService(svc, spec.Suffix, spec.LabelKey, spec.LabelValue)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// VariantService returns a copy of a Service named <name>-<suffix> that
// selects the variant's pods only: a ClusterIP Service without the
// original's addresses and node ports.
func VariantService(svc *unstructured.Unstructured, suffix, key, value string) (*unstructured.Unstructured, error) {
	c := copyMeta(svc)
	c.SetName(svc.GetName() + "-" + suffix)
	for _, f := range []string{"clusterIP", "clusterIPs", "externalIPs", "loadBalancerIP", "healthCheckNodePort", "externalTrafficPolicy", "loadBalancerSourceRanges", "externalName"} {
		unstructured.RemoveNestedField(c.Object, "spec", f)
	}
	if err := unstructured.SetNestedField(c.Object, "ClusterIP", "spec", "type"); err != nil {
		return nil, err
	}
	if ports, ok, _ := unstructured.NestedSlice(c.Object, "spec", "ports"); ok {
		for _, p := range ports {
			if m, ok := p.(map[string]any); ok {
				delete(m, "nodePort")
			}
		}
		if err := unstructured.SetNestedSlice(c.Object, ports, "spec", "ports"); err != nil {
			return nil, err
		}
	}
	if err := SetSelectorLabel(c, key, value); err != nil {
		return nil, err
	}
	return c, nil
}

// copyMeta deep-copies an object, dropping server-set metadata.
func copyMeta(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "ownerReferences"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	return c
}

// selectWorkloads returns the workloads refs name (every Deployment when
// refs is empty), refusing kinds the variant stages do not support.
func selectWorkloads(objs []*unstructured.Unstructured, refs []WorkloadRef) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	if len(refs) == 0 {
		for _, u := range objs {
			if isDeployment(u) {
				out = append(out, u)
			}
		}
		return out, nil
	}
	for _, r := range refs {
		kind := r.Kind
		if kind == "" {
			kind = "Deployment"
		}
		if kind != "Deployment" {
			return nil, fmt.Errorf("workload %s/%s: only Deployment workloads can have canary or baseline variants (StatefulSet and DaemonSet pods are not interchangeable replicas)", kind, r.Name)
		}
		found := false
		for _, u := range objs {
			if isDeployment(u) && u.GetName() == r.Name {
				out, found = append(out, u), true
			}
		}
		if !found {
			return nil, fmt.Errorf("workload Deployment/%s is not in the manifests", r.Name)
		}
	}
	return out, nil
}

func isDeployment(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Deployment" && u.GroupVersionKind().Group == "apps"
}

// IsWorkload reports whether u is one of the workloads (refs as for
// VariantSpec.Workloads).
func IsWorkload(u *unstructured.Unstructured, refs []WorkloadRef) bool {
	if len(refs) == 0 {
		return isDeployment(u)
	}
	for _, r := range refs {
		kind := r.Kind
		if kind == "" {
			kind = "Deployment"
		}
		if u.GetKind() == kind && u.GetName() == r.Name {
			return true
		}
	}
	return false
}

// FindService returns the Service named name (the first Service when name
// is empty), nil if there is none.
func FindService(objs []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if isService(u) && (name == "" || u.GetName() == name) {
			return u
		}
	}
	return nil
}

// AddVariantLabel adds the variant label to a workload's pod template
// labels and, when selector is set, to its selector's matchLabels.
func AddVariantLabel(u *unstructured.Unstructured, key, value string, selector bool) error {
	if err := unstructured.SetNestedField(u.Object, value, "spec", "template", "metadata", "labels", key); err != nil {
		return err
	}
	if selector {
		return unstructured.SetNestedField(u.Object, value, "spec", "selector", "matchLabels", key)
	}
	return nil
}

// SetSelectorLabel adds key=value to a Service's selector.
func SetSelectorLabel(u *unstructured.Unstructured, key, value string) error {
	return unstructured.SetNestedField(u.Object, value, "spec", "selector", key)
}

// rewriteConfigRefs points a pod spec's references to ConfigMaps and
// Secrets at their renamed copies.
func rewriteConfigRefs(pod map[string]any, renamed map[string]string) {
	rename := func(m map[string]any, field, kind string) {
		if m == nil {
			return
		}
		if n, ok := m[field].(string); ok {
			if to, ok := renamed[kind+"/"+n]; ok {
				m[field] = to
			}
		}
	}
	sub := func(m map[string]any, field string) map[string]any {
		v, _ := m[field].(map[string]any)
		return v
	}
	for _, v := range slice(pod, "volumes") {
		rename(sub(v, "configMap"), "name", "ConfigMap")
		rename(sub(v, "secret"), "secretName", "Secret")
		if p := sub(v, "projected"); p != nil {
			for _, src := range slice(p, "sources") {
				rename(sub(src, "configMap"), "name", "ConfigMap")
				rename(sub(src, "secret"), "name", "Secret")
			}
		}
	}
	for _, field := range []string{"containers", "initContainers"} {
		for _, c := range slice(pod, field) {
			for _, ef := range slice(c, "envFrom") {
				rename(sub(ef, "configMapRef"), "name", "ConfigMap")
				rename(sub(ef, "secretRef"), "name", "Secret")
			}
			for _, e := range slice(c, "env") {
				if vf := sub(e, "valueFrom"); vf != nil {
					rename(sub(vf, "configMapKeyRef"), "name", "ConfigMap")
					rename(sub(vf, "secretKeyRef"), "name", "Secret")
				}
			}
		}
	}
}
