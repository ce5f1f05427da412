package kubernetes

import (
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func mk(apiVersion, kind, name string, annotations ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	if len(annotations) > 0 {
		a := map[string]string{}
		for i := 0; i+1 < len(annotations); i += 2 {
			a[annotations[i]] = annotations[i+1]
		}
		u.SetAnnotations(a)
	}
	return u
}

func TestOrder(t *testing.T) {
	in := []*unstructured.Unstructured{
		mk("apps/v1", "Deployment", "web"),
		mk("v1", "Service", "web"),
		mk("example.com/v1", "Widget", "w"),
		mk("v1", "ConfigMap", "cfg"),
		mk("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "hook"),
		mk("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
		mk("v1", "Secret", "s"),
		mk("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
		mk("rbac.authorization.k8s.io/v1", "Role", "r"),
		mk("v1", "ServiceAccount", "sa"),
		mk("v1", "Namespace", "ns"),
		mk("networking.k8s.io/v1", "Ingress", "web"),
		mk("apps/v1", "Deployment", "api"),
		mk("example.com/v1", "Service", "fake"), // a CR named like a built-in kind
	}
	steps := Order(in)
	got := keysOf(Flatten(steps))
	want := []string{
		"Namespace/ns", "CustomResourceDefinition/widgets.example.com",
		"ServiceAccount/sa", "Secret/s", "ConfigMap/cfg", "Role/r", "RoleBinding/rb", "Service/web",
		"Deployment/web", "Deployment/api", "Ingress/web", "Widget/w", "Service/fake",
		"ValidatingWebhookConfiguration/hook",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
	if !steps[0].Foundation || !steps[1].Foundation || steps[2].Foundation {
		t.Errorf("foundation steps: %+v", steps[:3])
	}
	// One step per kind: the two Deployments go together, Widget and the
	// CR "Service" share the rank of unknown kinds.
	var sizes []int
	for _, s := range steps {
		sizes = append(sizes, len(s.Objects))
	}
	if want := []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("step sizes %v, want %v", sizes, want)
	}
}

func TestOrderAnnotation(t *testing.T) {
	in := []*unstructured.Unstructured{
		mk("v1", "ConfigMap", "late", AnnotationOrder, "10"),
		mk("apps/v1", "Deployment", "first", AnnotationOrder, "-1"),
		mk("v1", "ConfigMap", "cfg"),
		mk("v1", "Service", "bad", AnnotationOrder, "x"), // unparsable: 0, like PipeCD
		mk("v1", "Namespace", "ns", AnnotationOrder, "5"),
		mk("v1", "Namespace", "ns0"),
	}
	got := keysOf(Flatten(Order(in)))
	want := []string{"Namespace/ns0", "Namespace/ns", "Deployment/first", "ConfigMap/cfg", "Service/bad", "ConfigMap/late"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
}

func TestOrderStable(t *testing.T) {
	var in []*unstructured.Unstructured
	for i := 0; i < 50; i++ {
		in = append(in, mk("v1", "ConfigMap", fmt.Sprintf("c%02d", i)))
	}
	got := keysOf(Flatten(Order(in)))
	for i, k := range got {
		if k != fmt.Sprintf("ConfigMap/c%02d", i) {
			t.Fatalf("input order not kept: %v", got)
		}
	}
}
