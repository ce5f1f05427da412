package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestNormalize compares two objects after normalisation: the fields PipeCD
// ignores for planning are ignored, real changes are not.
func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{
			name: "status and server metadata are ignored",
			a:    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: ClusterIP}\n",
			b: `apiVersion: v1
kind: Service
metadata:
  name: web
  uid: 0b6e5a5e-1111-2222-3333-444455556666
  resourceVersion: "4242"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  selfLink: /api/v1/namespaces/default/services/web
  deletionTimestamp: "2026-01-02T00:00:00Z"
  deletionGracePeriodSeconds: 30
  managedFields:
    - manager: pipe
      operation: Apply
spec: {type: ClusterIP}
status: {loadBalancer: {}}
`,
			equal: true,
		},
		{
			name: "bookkeeping annotations are ignored, an emptied map too",
			a:    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			b: `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    pipecd.dev/managed-by: piped
    pipecd.dev/piped: p
    pipecd.dev/application: web
    pipecd.dev/resource-key: ":ConfigMap:default:c"
    pipecd.dev/commit-hash: 0123456
    pipecd.dev/original-api-version: v1
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1"}'
    deployment.kubernetes.io/revision: "7"
`,
			equal: true,
		},
		{
			name:  "the commit-hash label is ignored",
			a:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: web}}\n",
			b:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: web, pipecd.dev/commit-hash: abc}}\n",
			equal: true,
		},
		{
			name:  "ownership labels are compared",
			a:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			b:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {pipecd.dev/application: web}}\n",
			equal: false,
		},
		{
			name:  "directive annotations are compared",
			a:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			b:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {pipecd.dev/order: '1'}}\n",
			equal: false,
		},
		{
			name:  "user annotations are compared",
			a:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {team: a}}\n",
			b:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {team: b}}\n",
			equal: false,
		},
		{
			name:  "nulls are absent values",
			a:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: null}\ndata: {a: x, b: null}\n",
			b:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\n",
			equal: true,
		},
		{
			name:  "integral floats are integers",
			a:     deployment("web", "a:1", 3, ""),
			b:     strings.Replace(deployment("web", "a:1", 3, ""), "replicas: 3", "replicas: 3.0", 1),
			equal: true,
		},
		{
			name:  "quantities are canonical",
			a:     deployment("web", "a:1", 1, "          resources: {limits: {memory: 1.5Gi, cpu: 1}, requests: {cpu: 500m}}\n"),
			b:     deployment("web", "a:1", 1, "          resources: {limits: {memory: 1536Mi, cpu: '1'}, requests: {cpu: 0.5}}\n"),
			equal: true,
		},
		{
			name:  "quantities that differ",
			a:     deployment("web", "a:1", 1, "          resources: {limits: {memory: 1Gi}}\n"),
			b:     deployment("web", "a:1", 1, "          resources: {limits: {memory: 1G}}\n"),
			equal: false,
		},
		{
			name:  "Secret stringData is data",
			a:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n",
			b:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\n",
			equal: true,
		},
		{
			name:  "Secret stringData wins over data",
			a:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: b2xk}\nstringData: {password: hunter2}\n",
			b:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\n",
			equal: true,
		},
		{
			name:  "Secret stringData numbers are their decimal text",
			a:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {port: 5432, tls: true}\n",
			b:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {port: NTQzMg==, tls: dHJ1ZQ==}\n",
			equal: true,
		},
		{
			name:  "stringData of another kind is not merged",
			a:     "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n",
			b:     "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\n",
			equal: false,
		},
		{
			name:  "pod template labels are compared",
			a:     deployment("web", "a:1", 1, ""),
			b:     strings.Replace(deployment("web", "a:1", 1, ""), "labels: {app: web}", "labels: {app: web, v: '2'}", 1),
			equal: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := obj(t, tc.a), obj(t, tc.b)
			na, nb := Normalize(a), Normalize(b)
			if got := Equal(na, nb); got != tc.equal {
				t.Errorf("equal = %v, want %v\na: %v\nb: %v", got, tc.equal, na, nb)
			}
			// Normalize makes the equal cases identical, not only Equal.
			if got := reflect.DeepEqual(na, nb); got != tc.equal {
				t.Errorf("DeepEqual = %v, want %v\na: %v\nb: %v", got, tc.equal, na, nb)
			}
			if !reflect.DeepEqual(a.Object, obj(t, tc.a).Object) {
				t.Error("Normalize modified its input")
			}
		})
	}
}

// TestNormalizeResult checks the whole normalised form of a live object.
func TestNormalizeResult(t *testing.T) {
	u := obj(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 1
  resourceVersion: "5"
  generation: 2
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: pipe}]
  labels: {pipecd.dev/commit-hash: abc}
  annotations:
    pipecd.dev/commit-hash: abc
    deployment.kubernetes.io/revision: "3"
    keep: me
spec: {replicas: 3, template: {spec: {containers: [{name: a, resources: {requests: {memory: 1.5Gi}}, args: [], env: null}]}}}
status: {availableReplicas: 3}
`)
	n := Normalize(u)
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{"keep":"me"},"name":"web","namespace":"shop"},` +
		`"spec":{"replicas":3,"template":{"spec":{"containers":[{"args":[],"name":"a","resources":{"requests":{"memory":"1536Mi"}}}]}}}}`
	if got, _ := json.Marshal(n); string(got) != want {
		t.Errorf("normalised\n got %s\nwant %s", got, want)
	}
	if _, ok := n["spec"].(map[string]any)["replicas"].(int64); !ok {
		t.Errorf("replicas is %T, want int64", n["spec"].(map[string]any)["replicas"])
	}
	if u.Object["status"] == nil {
		t.Errorf("Normalize changed its input")
	}
	if Normalize(nil) != nil {
		t.Error("Normalize(nil) is not nil")
	}
}
