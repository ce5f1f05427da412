package kubernetes

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

func TestPrunable(t *testing.T) {
	app := App{ID: "shop"}
	mark := func(u *unstructured.Unstructured, a App, key string) *unstructured.Unstructured {
		labels, ann := a.ownership(manifest.KeyOf(u), u.GetAPIVersion())
		if key != "" {
			ann[LabelResourceKey] = key
		}
		u.SetLabels(labels)
		u.SetAnnotations(ann)
		return u
	}
	ns := func(u *unstructured.Unstructured, n string) *unstructured.Unstructured { u.SetNamespace(n); return u }

	kept := mark(ns(mk("v1", "ConfigMap", "kept"), "shop"), app, "")
	gone := mark(ns(mk("v1", "ConfigMap", "gone"), "shop"), app, "")
	goneDep := mark(ns(mk("apps/v1", "Deployment", "old"), "shop"), app, "")
	goneNS := mark(mk("v1", "Namespace", "old-ns"), app, "")
	pipecdV0 := mark(ns(mk("v1", "Service", "legacy"), "shop"), app, "v1:Service:shop:legacy")
	// Same labels, but the resource key names another object: copied
	// labels (e.g. a ConfigMap generated from a template).
	copied := mark(ns(mk("v1", "ConfigMap", "copy"), "shop"), app, ":ConfigMap:shop:kept")
	// Same labels, no annotations at all.
	labelsOnly := ns(mk("v1", "ConfigMap", "labels-only"), "shop")
	labelsOnly.SetLabels(map[string]string{LabelManagedBy: "piped", LabelApplication: "shop"})
	other := mark(ns(mk("v1", "ConfigMap", "other-app"), "shop"), App{ID: "other"}, "")
	owned := mark(ns(mk("apps/v1", "ReplicaSet", "rs"), "shop"), app, "")
	yes := true
	owned.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "x", UID: "u", Controller: &yes}})
	deleting := mark(ns(mk("v1", "ConfigMap", "deleting"), "shop"), app, "")
	now := metav1.Now()
	deleting.SetDeletionTimestamp(&now)

	live := []*unstructured.Unstructured{goneNS, kept, gone, pipecdV0, copied, labelsOnly, other, owned, deleting, goneDep}
	desired := map[Key]bool{manifest.KeyOf(kept): true}
	got := keysOf(Prunable(live, desired, app))
	want := []string{"Deployment/old", "Service/legacy", "ConfigMap/gone", "Namespace/old-ns"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prunable:\n got %v\nwant %v", got, want)
	}
}
