package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// The integration tests run the Kubernetes stages against one real control
// plane per test binary.

const relV1 = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: rel, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: rel}}
  template:
    metadata: {labels: {app: rel}}
    spec: {containers: [{name: rel, image: "rel:IMAGE"}]}
`

const relExtra = `
apiVersion: v1
kind: ConfigMap
metadata: {name: rel-extra, namespace: NS}
data: {a: "1"}
`

func relObjs(t *testing.T, ns, image string, extra bool) []*unstructured.Unstructured {
	t.Helper()
	docs := []string{strings.NewReplacer("NS", ns, "IMAGE", image).Replace(relV1)}
	if extra {
		docs = append(docs, strings.ReplaceAll(relExtra, "NS", ns))
	}
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestApiserverStoppedDuringPrimaryRollout stops the apiserver in the
// middle of K8S_PRIMARY_ROLLOUT (after the new ConfigMap was created): the
// stage fails clearly, the rollback waits for the apiserver to come back,
// then re-applies the running commit and deletes what the failed commit
// introduced; the record tells the story.
func TestApiserverStoppedDuringPrimaryRollout(t *testing.T) {
	c := kube.Shared(t)
	ns := c.NewNamespace(t)
	kc := c.Kubeconfig()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &kc, &ns
	cl, err := New(flags, Options{Retry: Backoff{Attempts: 3, Initial: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	app := App{ID: "rel", CommitHash: "c1"}
	res, err := cl.Apply(ctx, relObjs(t, ns, "v1", false), ApplyOptions{App: app})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Wait(ctx, res.Applied(), WaitOptions{App: app}); err != nil {
		t.Fatal(err)
	}

	spec := &config.KubernetesApplicationSpec{}
	spec.Name = "rel"
	spec.Pipeline = &config.DeploymentPipeline{Stages: []config.PipelineStage{{Name: config.StageK8sPrimaryRollout}}}
	cfgApp := &config.App{Name: "rel", Kind: config.KindKubernetesApp, Spec: spec}
	d := executetest.NewDeployment(cfgApp, executetest.PlanOf(cfgApp, true, nil))
	pf := &Runner{Cluster: cl, AppID: "rel", Spec: spec, Head: "c2", Desired: relObjs(t, ns, "v2", true), Running: "c1",
		RunningObjects: func(context.Context) ([]*unstructured.Unstructured, error) { return relObjs(t, ns, "v1", false), nil }}

	var mu sync.Mutex
	stopped, restarted := false, make(chan error, 1)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			select {
			case <-restarted:
			case <-time.After(2 * time.Minute):
			}
		}
	})
	var log []string
	store := &executetest.Store{}
	e := &execute.Engine{Store: store, Platform: pf, Now: time.Now, Events: func(ev execute.Event) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf("[%s] %s", ev.Stage, ev.Message))
		switch {
		case !stopped && strings.HasPrefix(ev.Message, "created ConfigMap "+ns+"/rel-extra"):
			stopped = true
			c.StopAPIServer()
		case stopped && ev.Stage == string(config.StageK8sPrimaryRollout) && strings.HasPrefix(ev.Message, "failed:"):
			// Back a few seconds after the failure: the rollback must wait for it.
			go func() {
				time.Sleep(3 * time.Second)
				restarted <- c.StartAPIServer(context.Background())
			}()
		}
	}}
	err = e.Run(ctx, d)
	var f *execute.Failure
	if !errors.As(err, &f) || f.Status != state.StatusFailed || !f.RolledBack {
		t.Fatalf("err = %v\n%s", err, strings.Join(log, "\n"))
	}
	rec := store.Current()
	if got := fmt.Sprint(store.Statuses()); got != "[RUNNING ROLLING_BACK FAILED]" {
		t.Errorf("statuses %s", got)
	}
	if r := rec.Stages[0].Reason; rec.Stages[0].Status != state.StageFailed || !strings.Contains(r, "did not answer") || !strings.Contains(r, "not applied: Deployment "+ns+"/rel") {
		t.Errorf("stage: %s %q", rec.Stages[0].Status, r)
	}
	if rb := rec.Stages[1]; rb.Status != state.StageSucceeded || !strings.Contains(rb.Metadata[MetaDeleted], "ConfigMap "+ns+"/rel-extra") {
		t.Errorf("rollback: %s %v", rb.Status, rb.Metadata)
	}
	if !strings.Contains(strings.Join(log, "\n"), "trying the rollback again") {
		t.Errorf("the rollback did not wait for the apiserver:\n%s", strings.Join(log, "\n"))
	}
	// The cluster is back at the running commit, without the new ConfigMap.
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(rc)
	dep, err := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(ns).Get(ctx, "rel", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers"); fmt.Sprint(img[0].(map[string]any)["image"]) != "rel:v1" {
		t.Errorf("image %v", img[0].(map[string]any)["image"])
	}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns).Get(ctx, "rel-extra", metav1.GetOptions{}); err == nil {
		t.Error("the ConfigMap the failed commit introduced is still there")
	}
	t.Logf("reason: %s", rec.Reason)
}
