package kubernetes

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func scopedObj(kind, ns, name string, app App) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(map[string]string{LabelManagedBy: ManagedByPiped, LabelApplication: labelValue(app.ID)})
	u.SetAnnotations(map[string]string{LabelManagedBy: ManagedByPiped, LabelApplication: app.ID})
	return u
}

// TestNamespaceScope: two deployments of an app named "web" in one cluster
// (two repositories, or two environments) never see each other's objects.
func TestNamespaceScope(t *testing.T) {
	desired := []*unstructured.Unstructured{scopedObj("ConfigMap", "team-a", "c", App{ID: "web"}), scopedObj("Namespace", "", "team-a", App{ID: "web"})}
	scope := ScopeOf(desired, "default")
	if !slices.Equal(scope, []string{"default", "team-a"}) {
		t.Fatalf("ScopeOf = %v", scope)
	}
	app := App{ID: "web", Namespaces: scope}
	mine := scopedObj("Deployment", "team-a", "web", app)
	theirs := scopedObj("Deployment", "team-b", "web", App{ID: "web"})
	cluster := scopedObj("ClusterRole", "", "web-reader", app)
	got := Owned([]*unstructured.Unstructured{mine, theirs, cluster}, app)
	if len(got) != 2 || got[0] != mine || got[1] != cluster {
		t.Errorf("Owned kept %d objects; want the app's own namespace and the cluster-scoped one", len(got))
	}
	if unscoped := Owned([]*unstructured.Unstructured{mine, theirs}, App{ID: "web"}); len(unscoped) != 2 {
		t.Errorf("without a scope every namespace is the app's: got %d", len(unscoped))
	}
}
