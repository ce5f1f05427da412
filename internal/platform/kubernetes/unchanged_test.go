package kubernetes

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const liveDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, extra-by-other: "1"}
  annotations: {pipecd.dev/application: shop, deployment.kubernetes.io/revision: "2"}
  finalizers: [example.com/x]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:1
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 8080, protocol: TCP}]
        resources: {requests: {cpu: 10m}}
status: {replicas: 1}
`

const pipeFields = `{
 "f:metadata": {"f:annotations": {"f:pipecd.dev/application": {}}, "f:finalizers": {"v:\"example.com/x\"": {}}, "f:labels": {"f:app": {}}},
 "f:spec": {"f:replicas": {}, "f:selector": {},
  "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
   "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
     "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
     "f:resources": {"f:requests": {"f:cpu": {}}}}}}}}}`

const desiredDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {pipecd.dev/application: shop}
  finalizers: [example.com/x]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:1
        ports: [{containerPort: 8080}]
        resources: {requests: {cpu: 10m}}
`

func withFields(t *testing.T, live *unstructured.Unstructured, manager, apiVersion, fields string) *unstructured.Unstructured {
	live.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", FieldsType: "FieldsV1",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:replicas":{}}}`)}},
		{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: apiVersion, FieldsType: "FieldsV1",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}},
	})
	return live
}

func TestAppliedUnchanged(t *testing.T) {
	live := func() *unstructured.Unstructured {
		return withFields(t, obj(t, liveDeployment), FieldManager, "apps/v1", pipeFields)
	}
	edit := func(f func(d *unstructured.Unstructured)) *unstructured.Unstructured {
		d := obj(t, desiredDeployment)
		f(d)
		return d
	}
	for _, tc := range []struct {
		name    string
		desired *unstructured.Unstructured
		live    *unstructured.Unstructured
		want    bool
	}{
		{"same (defaults and other managers' fields in live)", obj(t, desiredDeployment), live(), true},
		{"new image", edit(func(d *unstructured.Unstructured) {
			c, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			c[0].(map[string]any)["image"] = "web:2"
			_ = unstructured.SetNestedSlice(d.Object, c, "spec", "template", "spec", "containers")
		}), live(), false},
		{"field removed from the manifest", edit(func(d *unstructured.Unstructured) {
			unstructured.RemoveNestedField(d.Object, "spec", "replicas")
		}), live(), false},
		{"field added to the manifest", edit(func(d *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(d.Object, int64(5), "spec", "minReadySeconds")
		}), live(), false},
		{"label added", edit(func(d *unstructured.Unstructured) {
			d.SetLabels(map[string]string{"app": "web", "tier": "front"})
		}), live(), false},
		{"quantity written differently", edit(func(d *unstructured.Unstructured) {
			c, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			c[0].(map[string]any)["resources"] = map[string]any{"requests": map[string]any{"cpu": "0.01"}}
			_ = unstructured.SetNestedSlice(d.Object, c, "spec", "template", "spec", "containers")
		}), live(), false},
		{"selector (atomic) changed", edit(func(d *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringMap(d.Object, map[string]string{"app": "web", "v": "2"}, "spec", "selector", "matchLabels")
		}), live(), false},
		{"finalizer added", edit(func(d *unstructured.Unstructured) {
			d.SetFinalizers([]string{"example.com/x", "example.com/y"})
		}), live(), false},
		{"another manager", obj(t, desiredDeployment), withFields(t, obj(t, liveDeployment), "kubectl", "apps/v1", pipeFields), false},
		{"another API version", obj(t, desiredDeployment), withFields(t, obj(t, liveDeployment), FieldManager, "apps/v1beta2", pipeFields), false},
		{"no managed fields", obj(t, desiredDeployment), obj(t, liveDeployment), false},
	} {
		if got := appliedUnchanged(tc.desired, tc.live); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
