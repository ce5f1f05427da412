package kubernetes

import (
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// kindOrder is the apply order of well-known kinds: Helm's install order
// (the one kapp and most tools agree with: what others depend on first),
// with Namespaces and CRDs lifted to the front. Kinds not listed (custom
// resources and rarer built-ins) come after the workloads and Ingresses and
// before the admission webhooks, so that a webhook whose backend is not
// running yet does not block the application's own objects.
var kindOrder = []string{
	"Namespace",
	"CustomResourceDefinition",
	"PriorityClass",
	"NetworkPolicy",
	"ResourceQuota",
	"LimitRange",
	"PodSecurityPolicy",
	"PodDisruptionBudget",
	"ServiceAccount",
	"Secret",
	"SecretList",
	"ConfigMap",
	"StorageClass",
	"PersistentVolume",
	"PersistentVolumeClaim",
	"ClusterRole",
	"ClusterRoleList",
	"ClusterRoleBinding",
	"ClusterRoleBindingList",
	"Role",
	"RoleList",
	"RoleBinding",
	"RoleBindingList",
	"Service",
	"DaemonSet",
	"Pod",
	"ReplicationController",
	"ReplicaSet",
	"Deployment",
	"HorizontalPodAutoscaler",
	"StatefulSet",
	"Job",
	"CronJob",
	"IngressClass",
	"Ingress",
	"APIService",
	"", // everything else
	"MutatingWebhookConfiguration",
	"ValidatingWebhookConfiguration",
}

var kindRanks = func() map[string]int {
	m := make(map[string]int, len(kindOrder))
	for i, k := range kindOrder {
		m[k] = i
	}
	return m
}()

// kindRank is the position of a kind in kindOrder. Only built-in groups
// count: a custom resource named "Service" is not a Service.
func kindRank(group, kind string) int {
	if !manifest.BuiltinGroup(group) && group != "apiextensions.k8s.io" && group != "apiregistration.k8s.io" {
		return kindRanks[""]
	}
	if r, ok := kindRanks[kind]; ok {
		return r
	}
	return kindRanks[""]
}

// isFoundation reports whether objects of the kind are applied in the first
// phase, before anything that may live in them or be of their type.
func isFoundation(group, kind string) bool {
	return group == "" && kind == "Namespace" || group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition"
}

// orderValue is the pipecd.dev/order annotation; 0 when absent or not an
// integer (as PipeCD reads it).
func orderValue(u *unstructured.Unstructured) int {
	v, err := strconv.Atoi(strings.TrimSpace(u.GetAnnotations()[AnnotationOrder]))
	if err != nil {
		return 0
	}
	return v
}

// Step is a set of objects that may be applied concurrently; the steps of
// an Order are applied one after the other.
type Step struct {
	// Foundation steps hold Namespaces and CRDs; CRDs are waited for
	// (Established) before the next step.
	Foundation bool
	Objects    []*unstructured.Unstructured
}

// Order arranges objects into apply steps: first Namespaces, then CRDs,
// then the rest. Within each phase objects sort by the pipecd.dev/order
// annotation (lower first, default 0), then by kind (kindOrder), then keep
// their input order; each distinct (order, kind rank) is one step.
func Order(objs []*unstructured.Unstructured) []Step {
	type item struct {
		u                  *unstructured.Unstructured
		phase, order, rank int
		index              int
	}
	items := make([]item, len(objs))
	for i, u := range objs {
		gvk := u.GroupVersionKind()
		it := item{u: u, order: orderValue(u), rank: kindRank(gvk.Group, gvk.Kind), index: i, phase: 1}
		if isFoundation(gvk.Group, gvk.Kind) {
			it.phase = 0
		}
		items[i] = it
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.phase != b.phase {
			return a.phase < b.phase
		}
		if a.order != b.order {
			return a.order < b.order
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.index < b.index
	})
	var steps []Step
	for i, it := range items {
		if i == 0 || it.phase != items[i-1].phase || it.order != items[i-1].order || it.rank != items[i-1].rank {
			steps = append(steps, Step{Foundation: it.phase == 0})
		}
		s := &steps[len(steps)-1]
		s.Objects = append(s.Objects, it.u)
	}
	return steps
}

// Flatten returns the objects of steps in order.
func Flatten(steps []Step) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, s := range steps {
		out = append(out, s.Objects...)
	}
	return out
}
