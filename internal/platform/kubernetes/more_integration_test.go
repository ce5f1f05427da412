package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// TestForbidden runs a sync as a ServiceAccount that may manage
// ConfigMaps in its namespace but not Deployments: the error names the
// verb, the resource and the namespace.
func TestForbidden(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	admin := newClient(t, ns, Options{})
	ctx := t.Context()
	_, err := admin.Apply(ctx, manifests(t, ns, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmaps}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps}
subjects: [{kind: ServiceAccount, name: deployer, namespace: NS}]
`), ApplyOptions{App: App{ID: "rbac-setup"}})
	if err != nil {
		t.Fatal(err)
	}
	// A token for the ServiceAccount (TokenRequest), as a CI job would get.
	var tr struct {
		Status struct{ Token string }
	}
	raw, err := admin.rest.Post().AbsPath("/api/v1/namespaces/" + ns + "/serviceaccounts/deployer/token").
		Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`)).Do(ctx).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("token request: %v %s", err, raw)
	}
	cl, err := NewForConfig(&rest.Config{Host: c.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}}, ns, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := cl.Apply(ctx, manifests(t, ns, `
apiVersion: v1
kind: ConfigMap
metadata: {name: allowed}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
`), ApplyOptions{App: App{ID: "rbac"}, Events: rec.fn})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("apply: %v, want forbidden", err)
	}
	want := `apply Deployment ` + ns + `/web: forbidden: user "system:serviceaccount:` + ns + `:deployer" cannot patch deployments.apps in namespace "` + ns + `"`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("message\n%s\nlacks\n%s", err, want)
	}
	if got := keyStrings(res.Applied()); len(got) != 1 || got[0] != "ConfigMap "+ns+"/allowed" {
		t.Errorf("applied %v", got)
	}
	// Listing cluster-wide was forbidden: it fell back to the namespace,
	// where listing Deployments is forbidden too, which is said.
	warned := false
	for _, e := range rec.events {
		if e.Action == ActionWarning && strings.Contains(e.Message, "cannot list deployments.apps in namespace") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about the Deployments that cannot be listed: %+v", rec.events)
	}
	t.Logf("forbidden error: %v", err)
}

// TestUnreachable stops the apiserver in the middle of a sync: after
// bounded retries the error says which objects were applied and which not.
func TestUnreachable(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{Retry: Backoff{Attempts: 3, Initial: 100 * time.Millisecond}})
	ctx := t.Context()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			if err := c.StartAPIServer(context.Background()); err != nil {
				t.Errorf("restart apiserver: %v", err)
			}
		}
	})
	rec := &recorder{}
	events := func(e Event) {
		rec.fn(e)
		if e.Action == ActionCreated && e.Key.Kind == "ConfigMap" && !stopped {
			stopped = true
			c.StopAPIServer()
		}
	}
	res, err := cl.Apply(ctx, manifests(t, ns, unreachableYAML), ApplyOptions{App: App{ID: "unreachable"}, Events: events})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("apply: %v, want unreachable", err)
	}
	if got := keyStrings(res.Applied()); len(got) != 1 || got[0] != "ConfigMap "+ns+"/first" {
		t.Errorf("applied %v", got)
	}
	if got := keyStrings(res.NotApplied()); len(got) != 2 {
		t.Errorf("not applied %v", got)
	}
	if !strings.Contains(err.Error(), "sync stopped: 1 of 3 objects applied, not applied: Service "+ns+"/second, Deployment "+ns+"/third") {
		t.Errorf("message lacks where it stopped: %v", err)
	}
	if n := len(rec.actions(ActionRetrying)); n != 2 {
		t.Errorf("%d retries, want 2", n)
	}
	t.Logf("unreachable error: %v", err)
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = false
	// Resuming: the same sync completes.
	res, err = cl.Apply(ctx, manifests(t, ns, unreachableYAML), ApplyOptions{App: App{ID: "unreachable"}})
	if err != nil {
		t.Fatalf("apply after restart: %v", err)
	}
	if a := actionsOf(res); a["ConfigMap "+ns+"/first"] != ActionUnchanged || a["Service "+ns+"/second"] != ActionCreated {
		t.Errorf("after restart: %v", a)
	}
}

const unreachableYAML = `
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
apiVersion: v1
kind: Service
metadata: {name: second}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: third}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
`

// TestLivePlan pairs dry-run answers with live objects, and changes
// nothing.
func TestLivePlan(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "plan", CommitHash: "c1"}
	base := `
apiVersion: v1
kind: ConfigMap
metadata: {name: changes}
data: {k: before}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: leaves}
spec: {ports: [{port: 80}]}
`
	if _, err := cl.Apply(ctx, manifests(t, ns, base), ApplyOptions{App: app}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Create(ctx,
		manifests(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: adopted}\ndata: {k: theirs}\n")[0], createOpts); err != nil {
		t.Fatal(err)
	}
	newNS := uniqueName("plan-new")
	head := strings.Replace(strings.Split(base, "---\napiVersion: v1\nkind: Service")[0], "before", "after", 1) + `---
apiVersion: v1
kind: ConfigMap
metadata: {name: adopted}
data: {k: ours}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: added}
---
apiVersion: v1
kind: Namespace
metadata: {name: ` + newNS + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: in-new-ns, namespace: ` + newNS + `}
`
	app.CommitHash = "c2"
	// Adopting "adopted" takes its fields from the manager that created it.
	_, err := cl.LivePlan(ctx, manifests(t, ns, head), DryRunOptions{App: app})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("live plan adopting a foreign object without force: %v", err)
	}
	plan, err := cl.LivePlan(ctx, manifests(t, ns, head), DryRunOptions{App: app, ForceConflicts: true})
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string]Pair{}
	var order []string
	for _, p := range plan.Pairs {
		pairs[p.Key.Readable()] = p
		order = append(order, p.Key.Readable())
	}
	t.Logf("pairs: %v", order)
	data := func(u *unstructured.Unstructured) string {
		if u == nil {
			return "<nil>"
		}
		v, _, _ := unstructured.NestedString(u.Object, "data", "k")
		return v
	}
	if p := pairs["ConfigMap "+ns+"/changes"]; data(p.Live) != "before" || data(p.Desired) != "after" || !p.Owned {
		t.Errorf("changes: %+v", p)
	}
	if p := pairs["Deployment "+ns+"/web"]; p.Live == nil || !equalObjects(p.Live, p.Desired) {
		live, _ := json.Marshal(manifest.Normalize(p.Live))
		desired, _ := json.Marshal(manifest.Normalize(p.Desired))
		t.Errorf("unchanged Deployment differs after normalisation:\nlive    %s\ndesired %s", live, desired)
	}
	if p := pairs["ConfigMap "+ns+"/adopted"]; data(p.Live) != "theirs" || data(p.Desired) != "ours" || p.Owned {
		t.Errorf("adopted: %+v", p)
	}
	if p := pairs["ConfigMap "+ns+"/added"]; p.Live != nil || p.Desired == nil {
		t.Errorf("added: %+v", p)
	}
	if p := pairs["Service "+ns+"/leaves"]; p.Live == nil || p.Desired != nil {
		t.Errorf("leaves: %+v", p)
	}
	if p := pairs["ConfigMap "+newNS+"/in-new-ns"]; p.Live != nil || p.Desired == nil || !strings.Contains(p.Note, "created by this sync") {
		t.Errorf("in a new namespace: %+v", p)
	}
	if got := plan.Prunable(app); len(got) != 1 || got[0].Name != "leaves" {
		t.Errorf("prunable %v", got)
	}
	// The dry-run answer has the server's defaults.
	if v, _, _ := unstructured.NestedString(pairs["ConfigMap "+ns+"/added"].Desired.Object, "metadata", "annotations", LabelResourceKey); v != ":ConfigMap:"+ns+":added" {
		t.Errorf("dry-run answer lacks the ownership annotations: %v", pairs["ConfigMap "+ns+"/added"].Desired)
	}
	if v, _, _ := unstructured.NestedString(pairs["Deployment "+ns+"/web"].Desired.Object, "spec", "strategy", "type"); v != "RollingUpdate" {
		t.Errorf("no server defaults in the dry-run answer (strategy %q)", v)
	}
	// The objects the live state shows unchanged were not dry-run; a plan
	// that dry-runs every object agrees.
	full, err := cl.LivePlan(ctx, manifests(t, ns, head), DryRunOptions{App: app, ForceConflicts: true, DryRunAll: true})
	if err != nil {
		t.Fatal(err)
	}
	comparePlans(t, plan, full)
	// Nothing changed.
	if data(get(t, cl, configMapsGVR, ns, "changes")) != "before" {
		t.Errorf("the dry run changed the cluster")
	}
	if _, err := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Get(ctx, "added", getOpts); err == nil {
		t.Errorf("the dry run created an object")
	}
}

// TestReplace: pipecd.dev/sync-by-replace replaces the whole object (fields
// of other managers go); force-sync-by-replace deletes and creates it.
func TestReplace(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "replace"}
	y := `
apiVersion: v1
kind: ConfigMap
metadata:
  name: replaced
  annotations: {pipecd.dev/sync-by-replace: enabled}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: recreated
  annotations: {pipecd.dev/force-sync-by-replace: enabled}
data: {k: v}
`
	res, err := cl.Apply(ctx, manifests(t, ns, y), ApplyOptions{App: app})
	if err != nil {
		t.Fatal(err)
	}
	if a := actionsOf(res); a["ConfigMap "+ns+"/replaced"] != ActionCreated || a["ConfigMap "+ns+"/recreated"] != ActionCreated {
		t.Errorf("first: %v", a)
	}
	uid := get(t, cl, configMapsGVR, ns, "recreated").GetUID()
	extra := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"replaced"},"data":{"other":"x"}}`)
	if _, err := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Patch(ctx, "replaced", applyPatchType, extra, patchOpts("someone", true)); err != nil {
		t.Fatal(err)
	}
	res, err = cl.Apply(ctx, manifests(t, ns, y), ApplyOptions{App: app})
	if err != nil {
		t.Fatal(err)
	}
	if a := actionsOf(res); a["ConfigMap "+ns+"/replaced"] != ActionReplaced || a["ConfigMap "+ns+"/recreated"] != ActionRecreated {
		t.Errorf("second: %v", a)
	}
	if d, _, _ := unstructured.NestedStringMap(get(t, cl, configMapsGVR, ns, "replaced").Object, "data"); !reflect.DeepEqual(d, map[string]string{"k": "v"}) {
		t.Errorf("replaced data %v: another manager's field survived a replace", d)
	}
	if get(t, cl, configMapsGVR, ns, "recreated").GetUID() == uid {
		t.Errorf("force-sync-by-replace did not re-create the object")
	}
}

// TestAutoCreateNamespace creates input.namespace when missing.
func TestAutoCreateNamespace(t *testing.T) {
	ns := uniqueName("auto")
	cl := newClient(t, ns, Options{})
	deleteLater(t, cl, namespacesGVR, ns)
	ctx := t.Context()
	in := manifests(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
	_, err := cl.Apply(ctx, in, ApplyOptions{App: App{ID: "auto"}})
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrNotFound) || !strings.Contains(pe.Hint, "autoCreateNamespace") {
		t.Errorf("without autoCreateNamespace: %v", err)
	}
	res, err := cl.Apply(ctx, in, ApplyOptions{App: App{ID: "auto"}, CreateNamespace: ns})
	if err != nil || !res.NamespaceCreated {
		t.Fatalf("apply: %v (namespace created: %v)", err, res.NamespaceCreated)
	}
	res, err = cl.Apply(ctx, in, ApplyOptions{App: App{ID: "auto"}, CreateNamespace: ns})
	if err != nil || res.NamespaceCreated {
		t.Errorf("second apply: %v (namespace created: %v)", err, res.NamespaceCreated)
	}
}

var (
	_ = metav1.Now
	_ = schema.GroupVersionResource{}
)

// comparePlans fails the test unless two plans pair the same objects.
func comparePlans(t testing.TB, a, b *LivePlan) {
	t.Helper()
	if len(a.Pairs) != len(b.Pairs) {
		t.Fatalf("%d pairs and %d pairs", len(a.Pairs), len(b.Pairs))
	}
	for i := range a.Pairs {
		pa, pb := a.Pairs[i], b.Pairs[i]
		if pa.Key != pb.Key || !equalObjects(pa.Live, pb.Live) || !equalObjects(pa.Desired, pb.Desired) {
			ja, _ := json.Marshal(pa)
			jb, _ := json.Marshal(pb)
			t.Errorf("pair %d differs:\n%s\n%s", i, ja, jb)
		}
	}
}

// equalObjects compares two objects of live plans as the planner does,
// normalised.
func equalObjects(a, b *unstructured.Unstructured) bool {
	if a == nil || b == nil {
		return a == b
	}
	return manifest.Equal(manifest.Normalize(a), manifest.Normalize(b))
}
