package kubernetes

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/plan"
)

// renderChanges is the golden form of a list of changes.
func renderChanges(cs []plan.Change) []byte {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "=== %s %s\n", c.Action, c.Key)
		if c.Note != "" {
			fmt.Fprintf(&b, "note: %s\n", c.Note)
		}
		b.WriteString(c.Diff)
	}
	fmt.Fprintf(&b, "=== %s\n", plan.Summarize(cs))
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
			var from, to []planObject
			if tc.from != "" {
				from = objects(t, tc.from)
			}
			if tc.to != "" {
				to = objects(t, tc.to)
			}
			got := renderChanges(diffObjects(from, to, diffOptions{From: "last deployed 1111111", To: "head 2222222"}))
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
	for _, c := range diffObjects(from, to, diffOptions{}) {
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

// TestDiffObjectsEqual checks that diffObjects lists no change where
// manifest.EqualInOrder finds none although the normalised objects differ:
// an empty value against an absent one, a number against its decimal
// string; keyed list items in another order are a change (the pods roll).
func TestDiffObjectsEqual(t *testing.T) {
	base := deployment("web", "a:1", 2, "          env: [{name: A, value: '1'}, {name: B, value: '2'}]\n")
	for name, to := range map[string]string{
		"empty map":        base + "          resources: {}\n",
		"decimal string":   strings.Replace(base, "replicas: 2", "replicas: '2'", 1),
		"null and nothing": base + "          args: null\n",
	} {
		if cs := diffObjects(objects(t, base), objects(t, to), diffOptions{}); len(cs) != 0 {
			t.Errorf("%s: %s", name, renderChanges(cs))
		}
	}
	for name, to := range map[string]string{
		"changed env value": strings.Replace(base, "value: '2'", "value: '3'", 1),
		"reordered env":     strings.Replace(base, "[{name: A, value: '1'}, {name: B, value: '2'}]", "[{name: B, value: '2'}, {name: A, value: '1'}]", 1),
	} {
		if cs := diffObjects(objects(t, base), objects(t, to), diffOptions{}); len(cs) != 1 || cs[0].Action != plan.ActionChange {
			t.Errorf("%s: %s", name, renderChanges(cs))
		}
	}
}
