package kubernetes

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const appYAML = `
apiVersion: v1
kind: Namespace
metadata: {name: NS}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:IMAGE
        envFrom: [{configMapRef: {name: web-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: NS}
data: {GREETING: CONFIG}
---
apiVersion: shop.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {size: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.shop.example.com}
spec:
  group: shop.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`

func appManifests(t *testing.T, ns, image, config string) []*unstructured.Unstructured {
	y := strings.ReplaceAll(strings.ReplaceAll(appYAML, "IMAGE", image), "CONFIG", config)
	return manifests(t, ns, y)
}

// TestSync applies an application (Namespace, CRD and a custom object of
// it, ConfigMap, Deployment of 3 replicas, Service) and waits for it; syncs
// it again unchanged (a no-op); then changes the image and the config, and
// waits for the rollouts.
func TestSync(t *testing.T) {
	ns := uniqueName("sync")
	cl := newClient(t, "default", Options{})
	deleteLater(t, cl, namespacesGVR, ns)
	deleteLater(t, cl, crdsGVR, "widgets.shop.example.com")
	ctx := t.Context()
	app := App{ID: "shop", CommitHash: "c1"}
	rec := &recorder{}

	start := time.Now()
	res, err := cl.Apply(ctx, appManifests(t, ns, "1", "hello"), ApplyOptions{App: app, Events: rec.fn})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	order := strings.Join(keyStrings(res.Keys()), ", ")
	wantOrder := "Namespace " + ns + ", CustomResourceDefinition widgets.shop.example.com, ConfigMap " + ns + "/web-config, Service " + ns + "/web, Deployment " + ns + "/web, Widget.shop.example.com " + ns + "/w1"
	if order != wantOrder {
		t.Errorf("apply order\n got %s\nwant %s", order, wantOrder)
	}
	for k, a := range actionsOf(res) {
		if a != ActionCreated {
			t.Errorf("%s: %s, want created", k, a)
		}
	}
	if err := cl.Wait(ctx, res.Keys(), WaitOptions{App: app, Timeout: time.Minute, Events: rec.fn}); err != nil {
		t.Fatalf("wait: %v", err)
	}
	t.Logf("first sync of %d objects applied and ready in %s", len(res.Objects), time.Since(start).Round(time.Millisecond))
	if got := len(rec.actions(ActionReady)); got < len(res.Objects) {
		t.Errorf("%d ready events, want %d", got, len(res.Objects))
	}

	// Ownership and config hash, as PipeCD writes them.
	dep := get(t, cl, deploymentsGVR, ns, "web")
	ann := dep.GetAnnotations()
	for k, v := range map[string]string{
		LabelManagedBy: "piped", LabelApplication: "shop", LabelCommitHash: "c1",
		LabelResourceKey: "apps:Deployment:" + ns + ":web", LabelOriginalAPIVersion: "apps/v1", LabelVariant: "primary",
	} {
		if ann[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	if dep.GetLabels()[LabelApplication] != "shop" {
		t.Errorf("labels %v", dep.GetLabels())
	}
	hash1 := podTemplateAnnotation(dep, AnnotationConfigHash)
	if hash1 == "" {
		t.Errorf("no config hash on the pod template")
	}
	if n, _, _ := unstructured.NestedInt64(dep.Object, "status", "availableReplicas"); n != 3 {
		t.Errorf("%d replicas available, want 3", n)
	}

	// The same sync again changes nothing.
	rec.reset()
	res, err = cl.Apply(ctx, appManifests(t, ns, "1", "hello"), ApplyOptions{App: app, Events: rec.fn})
	if err != nil {
		t.Fatalf("re-apply: %v", err)
	}
	for k, a := range actionsOf(res) {
		if a != ActionUnchanged {
			t.Errorf("re-apply %s: %s, want unchanged", k, a)
		}
	}
	if got := get(t, cl, deploymentsGVR, ns, "web").GetResourceVersion(); got != dep.GetResourceVersion() {
		t.Errorf("re-apply changed the Deployment (resourceVersion %s -> %s)", dep.GetResourceVersion(), got)
	}
	if err := cl.Wait(ctx, res.Keys(), WaitOptions{App: app, Timeout: time.Minute}); err != nil {
		t.Fatalf("wait after re-apply: %v", err)
	}

	// New image: the Deployment rolls out.
	app.CommitHash = "c2"
	res, err = cl.Apply(ctx, appManifests(t, ns, "2", "hello"), ApplyOptions{App: app})
	if err != nil {
		t.Fatalf("apply image 2: %v", err)
	}
	if a := actionsOf(res)["Deployment "+ns+"/web"]; a != ActionConfigured {
		t.Errorf("deployment %s, want configured", a)
	}
	start = time.Now()
	if err := cl.Wait(ctx, res.Keys(), WaitOptions{App: app, Timeout: time.Minute}); err != nil {
		t.Fatalf("wait for rollout: %v", err)
	}
	t.Logf("image rollout of 3 replicas ready in %s", time.Since(start).Round(time.Millisecond))
	dep = get(t, cl, deploymentsGVR, ns, "web")
	if img := containerImage(dep); img != "registry.invalid/web:2" {
		t.Errorf("image %q after rollout", img)
	}
	if n, _, _ := unstructured.NestedInt64(dep.Object, "status", "updatedReplicas"); n != 3 {
		t.Errorf("%d replicas updated, want 3", n)
	}

	// New config: the config hash changes, so the pods roll.
	res, err = cl.Apply(ctx, appManifests(t, ns, "2", "bonjour"), ApplyOptions{App: app})
	if err != nil {
		t.Fatalf("apply config: %v", err)
	}
	if err := cl.Wait(ctx, res.Keys(), WaitOptions{App: app, Timeout: time.Minute}); err != nil {
		t.Fatalf("wait for config rollout: %v", err)
	}
	dep = get(t, cl, deploymentsGVR, ns, "web")
	if h := podTemplateAnnotation(dep, AnnotationConfigHash); h == hash1 || h == "" {
		t.Errorf("config hash %q did not change (was %q)", h, hash1)
	}
}

func keyStrings(keys []Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Readable()
	}
	return out
}

func podTemplateAnnotation(u *unstructured.Unstructured, name string) string {
	v, _, _ := unstructured.NestedString(u.Object, "spec", "template", "metadata", "annotations", name)
	return v
}

func containerImage(u *unstructured.Unstructured) string {
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		return ""
	}
	img, _ := cs[0].(map[string]any)["image"].(string)
	return img
}

// TestPrune deletes the application's objects that left Git, and never an
// object that merely carries the same labels.
func TestPrune(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "prune-app"}
	all := manifests(t, ns, `
apiVersion: v1
kind: ConfigMap
metadata: {name: stays}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: leaves}
---
apiVersion: v1
kind: Secret
metadata: {name: leaves-too}
stringData: {a: b}
`)
	if _, err := cl.Apply(ctx, all, ApplyOptions{App: app}); err != nil {
		t.Fatal(err)
	}
	// A foreign object with the application's labels (and even its
	// annotations, but a resource key naming another object), and one
	// with the labels only.
	foreign := manifests(t, ns, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: foreign
  labels: {pipecd.dev/managed-by: piped, pipecd.dev/application: prune-app}
  annotations: {pipecd.dev/managed-by: piped, pipecd.dev/application: prune-app, pipecd.dev/resource-key: ":ConfigMap:NS:leaves"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: labels-only
  labels: {pipecd.dev/managed-by: piped, pipecd.dev/application: prune-app}
`)
	for _, u := range foreign {
		if _, err := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Create(ctx, u, createOpts); err != nil {
			t.Fatal(err)
		}
	}
	// Another application's object.
	if _, err := cl.Apply(ctx, manifests(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other-app}\n"), ApplyOptions{App: App{ID: "other"}}); err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	res, err := cl.Apply(ctx, all[:1], ApplyOptions{App: app, Prune: true, Events: rec.fn})
	if err != nil {
		t.Fatalf("apply with prune: %v", err)
	}
	got := strings.Join(keyStrings(res.Pruned), ", ")
	if want := "Secret " + ns + "/leaves-too, ConfigMap " + ns + "/leaves"; got != want && got != "ConfigMap "+ns+"/leaves, Secret "+ns+"/leaves-too" {
		t.Errorf("pruned %q, want %q", got, want)
	}
	if len(rec.actions(ActionPruned)) != 2 {
		t.Errorf("pruned events %v", rec.actions(ActionPruned))
	}
	for _, name := range []string{"stays", "foreign", "labels-only", "other-app"} {
		get(t, cl, configMapsGVR, ns, name) // fails the test when gone
	}
	if _, err := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Get(ctx, "leaves", getOpts); err == nil {
		t.Errorf("ConfigMap leaves was not pruned")
	}
	// Nothing left to prune.
	res, err = cl.Apply(ctx, all[:1], ApplyOptions{App: app, Prune: true})
	if err != nil || len(res.Pruned) != 0 {
		t.Errorf("second prune: %v, pruned %v", err, res.Pruned)
	}
}

// TestConflict: another field manager owns .spec.replicas; without
// ForceConflicts the sync fails naming the field and the manager, with it
// pipe takes the field over.
func TestConflict(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "conflict"}
	dep := manifests(t, ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
`)
	if _, err := cl.Apply(ctx, dep, ApplyOptions{App: app}); err != nil {
		t.Fatal(err)
	}
	// Someone scales it with their own server-side apply.
	patch := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}}`)
	if _, err := cl.dynamic.Resource(deploymentsGVR).Namespace(ns).Patch(ctx, "web", applyPatchType, patch,
		patchOpts("hpa-like-scaler", true)); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Apply(ctx, dep, ApplyOptions{App: app})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("apply: %v, want a conflict", err)
	}
	msg := err.Error()
	for _, want := range []string{"Deployment " + ns + "/web", ".spec.replicas", "hpa-like-scaler"} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q lacks %q", msg, want)
		}
	}
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Hint, "--force-conflicts") {
		t.Errorf("hint: %+v", pe)
	}
	if len(res.NotApplied()) != 1 {
		t.Errorf("not applied %v", res.NotApplied())
	}
	t.Logf("conflict error: %v\nhint: %s", err, pe.Hint)

	if _, err := cl.Apply(ctx, dep, ApplyOptions{App: app, ForceConflicts: true}); err != nil {
		t.Fatalf("apply with force: %v", err)
	}
	if n, _, _ := unstructured.NestedInt64(get(t, cl, deploymentsGVR, ns, "web").Object, "spec", "replicas"); n != 2 {
		t.Errorf("replicas %d after forced apply, want 2", n)
	}
}

// TestInvalidManifests: problems found before anything is sent, and those
// only the apiserver finds (unknown field under Strict validation, a kind
// without CRD).
func TestInvalidManifests(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "bad"}

	_, err := cl.Apply(ctx, manifests(t, ns, "apiVersion: v1\nmetadata: {name: x}\n"), ApplyOptions{App: app})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `object 1 ("x"): no kind`) {
		t.Errorf("no kind: %v", err)
	}

	_, err = cl.Apply(ctx, manifests(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: foo.example.com/v1\nkind: Foo\nmetadata: {name: x}\n"), ApplyOptions{App: app})
	if !errors.Is(err, ErrNoKind) || !strings.Contains(err.Error(), "no resource type Foo.foo.example.com/v1 in the cluster: install its CRD first") {
		t.Errorf("no CRD: %v", err)
	}
	if _, gerr := cl.dynamic.Resource(configMapsGVR).Namespace(ns).Get(ctx, "ok", getOpts); gerr == nil {
		t.Errorf("an object was applied although another's kind does not exist")
	}

	res, err := cl.Apply(ctx, manifests(t, ns, `
apiVersion: v1
kind: ConfigMap
metadata: {name: before}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replicass: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
`), ApplyOptions{App: app})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ".spec.replicass: field not declared in schema") ||
		!strings.Contains(err.Error(), "Deployment "+ns+"/typo") {
		t.Errorf("unknown field: %v", err)
	}
	if got := keyStrings(res.Applied()); len(got) != 1 || got[0] != "ConfigMap "+ns+"/before" {
		t.Errorf("applied %v", got)
	}
	t.Logf("unknown field error: %v", err)

	// A dry run meets the same error.
	_, err = cl.DryRun(ctx, manifests(t, ns, "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {portz: []}\n"), DryRunOptions{App: app})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ".spec.portz: field not declared in schema") {
		t.Errorf("dry-run unknown field: %v", err)
	}
}

// TestWaitTimeout: pods that can never be scheduled; the wait names the
// stuck Deployment and why.
func TestWaitTimeout(t *testing.T) {
	c := kubeShared(t)
	ns := c.NewNamespace(t)
	cl := newClient(t, ns, Options{})
	ctx := t.Context()
	app := App{ID: "stuck"}
	res, err := cl.Apply(ctx, manifests(t, ns, `
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {disktype: ssd}
      containers: [{name: web, image: web:1}]
`), ApplyOptions{App: app})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = cl.Wait(ctx, res.Keys(), WaitOptions{App: app, Timeout: 5 * time.Second})
	if !errors.Is(err, ErrNotReady) {
		t.Fatalf("wait: %v, want ErrNotReady", err)
	}
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("wait took %s with a 5s timeout", took)
	}
	var pe *Error
	errors.As(err, &pe)
	if len(pe.Stuck) != 1 || pe.Stuck[0].Key.Name != "web" {
		t.Fatalf("stuck %+v", pe.Stuck)
	}
	want := "Deployment " + ns + "/web: 0 of 3 replicas available: pods unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("message\n%s\nlacks\n%s", err, want)
	}
	t.Logf("timeout error: %v", err)
}
