package kubernetes

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/drift"
)

func driftObj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func paths(ds []drift.FieldDiff) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Op+" "+d.Path)
	}
	return strings.Join(out, "; ")
}

const driftLiveDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations: {example.com/scanned: "yes"}
  managedFields:
    - manager: pipe
      operation: Apply
      apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1: {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}
    - manager: kubectl-edit
      operation: Update
      apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1: {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:env": {".": {}, "k:{\"name\":\"DEBUG\"}": {".": {}, "f:name": {}, "f:value": {}}}}}}}}}
    - manager: scanner
      operation: Update
      apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1: {"f:metadata": {"f:annotations": {"f:example.com/scanned": {}}}}
    - manager: kubectl
      operation: Update
      subresource: scale
      apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1: {"f:spec": {"f:replicas": {}}}
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: web
          image: web:v1
          env: [{name: DEBUG, value: "1"}]
          terminationMessagePath: /dev/termination-log
status: {replicas: 4}
`

func TestCompareObjectFieldOwnership(t *testing.T) {
	live := driftObj(t, driftLiveDeployment)
	desired := driftObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: web, image: web:v1}]
`)
	// The forced dry run: Git's replicas back, other managers' env kept.
	wouldBe := live.DeepCopy()
	_ = unstructured.SetNestedField(wouldBe.Object, int64(2), "spec", "replicas")
	k := Key{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}

	got := compareObject(k, desired, wouldBe, live, nil)
	want := "changed spec.replicas; live-only spec.template.spec.containers[name=web].env[name=DEBUG]"
	if paths(got) != want {
		t.Fatalf("got %q, want %q", paths(got), want)
	}
	if m := fmt.Sprint(got[0].Managers); m != "[kubectl]" {
		t.Errorf("replicas managers %s, want [kubectl]", m)
	}
	if m := fmt.Sprint(got[1].Managers); m != "[kubectl-edit]" {
		t.Errorf("env managers %s, want [kubectl-edit]", m)
	}

	rules := parseIgnoreRules([]string{"apps/v1:Deployment:prod:web#spec.replicas",
		"apps/v1:Deployment:prod:web#spec.template.spec.containers.0.env"})
	if got := compareObject(k, desired, wouldBe, live, rules); len(got) != 0 {
		t.Fatalf("with ignoreFields: %q, want none", paths(got))
	}
	other := parseIgnoreRules([]string{"apps/v1:Deployment:staging:web#spec.replicas"})
	if got := compareObject(k, desired, wouldBe, live, other); len(got) != 2 {
		t.Fatalf("a rule for another object applied: %q", paths(got))
	}
}

func TestCompareMasksConfigValues(t *testing.T) {
	live := driftObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {a: b2xk, extra: eA==}}`)
	would := driftObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {a: bmV3}}`)
	desired := driftObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {a: new}}`)
	live.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl-patch", Operation: metav1.ManagedFieldsOperationUpdate,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{"f:a":{},"f:extra":{}}}`)}}})
	got := compareObject(Key{Kind: "Secret", Name: "s"}, desired, would, live, nil)
	if paths(got) != "changed data.a; live-only data.extra" {
		t.Fatalf("got %q", paths(got))
	}
	for _, f := range got {
		for _, v := range []any{f.Git, f.Live} {
			if v != nil && v != drift.Mask {
				t.Errorf("%s: value %v not masked", f.Path, v)
			}
		}
	}
}
