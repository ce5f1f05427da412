package plan

import (
	"fmt"
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
			name:  "pod template labels are compared",
			a:     deployment("web", "a:1", 1, ""),
			b:     strings.Replace(deployment("web", "a:1", 1, ""), "labels: {app: web}", "labels: {app: web, v: '2'}", 1),
			equal: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := objects(t, tc.a)[0], objects(t, tc.b)[0]
			na, nb := normalize(a.Object), normalize(b.Object)
			if got := reflect.DeepEqual(na, nb); got != tc.equal {
				t.Errorf("equal = %v, want %v\na: %v\nb: %v", got, tc.equal, na, nb)
			}
			if !reflect.DeepEqual(a.Object.Object, objects(t, tc.a)[0].Object.Object) {
				t.Error("normalize modified its input")
			}
		})
	}
}

// renderChanges is the golden form of a list of changes.
func renderChanges(cs []Change) []byte {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "=== %s %s\n", c.Action, c.Key)
		if c.Note != "" {
			fmt.Fprintf(&b, "note: %s\n", c.Note)
		}
		b.WriteString(c.Diff)
	}
	fmt.Fprintf(&b, "=== %s\n", Summarize(cs))
	return []byte(b.String())
}

// TestDiffObjectsGolden checks representative diffs against
// testdata/diff_*.golden (go test -update rewrites them).
func TestDiffObjectsGolden(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
	}{
		{
			name: "deployment_image_and_replicas",
			from: deployment("web", "gcr.io/pipecd/helloworld:v0.1.0", 2, "          ports: [{containerPort: 9085}]\n          env: [{name: LEVEL, value: info}]\n"),
			to:   deployment("web", "gcr.io/pipecd/helloworld:v0.2.0", 3, "          ports: [{containerPort: 9085}]\n          env: [{name: LEVEL, value: info}]\n"),
		},
		{
			name: "added_deleted_and_unchanged",
			from: docs(serviceV1, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: old}\n"),
			to: docs(serviceV1, `apiVersion: v1
kind: ConfigMap
metadata:
  name: nginx
  labels: {app: web}
data:
  nginx.conf: |
    server {
      listen 80;
    }
  enabled: "true"
`),
		},
		{
			name: "secret_values_masked",
			from: `apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
data:
  same: c2FtZQ==
  changed: b2xk
  removed: Z29uZQ==
`,
			to: `apiVersion: v1
kind: Secret
metadata: {name: creds, labels: {rotated: "yes"}}
type: Opaque
stringData:
  same: same
  changed: new-value
  added: brand-new
`,
		},
		{
			name: "secret_added_masked",
			to:   "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData: {token: s3cr3t-t0ken}\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var from, to []Object
			if tc.from != "" {
				from = objects(t, tc.from)
			}
			if tc.to != "" {
				to = objects(t, tc.to)
			}
			got := renderChanges(DiffObjects(from, to, DiffOptions{From: "last deployed 1111111", To: "head 2222222"}))
			for _, secret := range []string{"hunter2", "new-value", "brand-new", "s3cr3t", "b2xk", "c2FtZQ", "Z29uZQ"} {
				if strings.Contains(string(got), secret) {
					t.Errorf("the diff shows the secret value %q", secret)
				}
			}
			golden(t, "diff_"+tc.name+".golden", got)
		})
	}
}

func TestDiffObjectsOrder(t *testing.T) {
	from := objects(t, docs(serviceV1, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n"))
	to := objects(t, docs(configMapV1, serviceV2, deployment("web", "a:1", 1, "")))
	var got []string
	for _, c := range DiffObjects(from, to, DiffOptions{}) {
		got = append(got, string(c.Action)+" "+c.Key)
	}
	want := []string{
		"add :ConfigMap:default:cfg", "change :Service:default:web", "add apps:Deployment:default:web",
		"delete :ServiceAccount:default:b", "delete :ServiceAccount:default:a",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %q\nwant %q", got, want)
	}
}

func TestUnifiedDiff(t *testing.T) {
	if d := unifiedDiff(splitLines("a\nb\n"), splitLines("a\nb\n"), "x", "y", 3); d != "" {
		t.Errorf("equal sides: %q", d)
	}
	got := unifiedDiff(nil, splitLines("a\nb\n"), "x", "y", 3)
	want := "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n"
	if got != want {
		t.Errorf("added:\n%s\nwant:\n%s", got, want)
	}
	// A long object with many repeated lines still gets a minimal diff
	// (the matcher's junk heuristic is off).
	var a, b []string
	for i := 0; i < 300; i++ {
		a = append(a, "- name: x\n", fmt.Sprintf("  value: %d\n", i))
		v := i
		if i == 150 {
			v = -1
		}
		b = append(b, "- name: x\n", fmt.Sprintf("  value: %d\n", v))
	}
	d := unifiedDiff(a, b, "x", "y", 1)
	changed := 0
	for _, l := range splitLines(d)[2:] {
		if l[0] == '-' || l[0] == '+' {
			changed++
		}
	}
	if changed != 2 {
		t.Errorf("want one line removed and one added, got:\n%s", d)
	}
}
