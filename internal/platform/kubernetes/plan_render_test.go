package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
)

// TestPlanObjectsOfRender plans from what the renderer produces for a plain
// manifest directory.
func TestPlanObjectsOfRender(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "apps", "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deployment.yaml"), []byte(deployment("web", "web:1", 1, "")+"---\n"+serviceV1), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := k8sSpec(t, "")
	m, err := (&render.Renderer{}).Kubernetes(context.Background(), render.KubernetesApp{Name: "web", Root: root, Dir: "apps/web", ConfigFile: "app.pipecd.yaml", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	objs := planObjectsOfRender(m)
	if len(objs) != 2 || objs[0].Key != "apps:Deployment:default:web" || objs[1].Key != ":Service:default:web" {
		t.Fatalf("objects %+v", objs)
	}
	if objs[0].Source == "" {
		t.Error("no source")
	}
	// A rendered object and the same object read back from the API server
	// have the same key.
	if k := manifest.KeyOf(objs[1].Object).String(); k != ":Service::web" {
		t.Errorf("KeyOf of a rendered object without namespace: %s", k)
	}
	p, err := planKubernetes(kubernetesInput{Input: plan.Input{App: plan.AppOf(&config.App{Name: "web", Kind: config.KindKubernetesApp, Dir: "apps/web"}), Now: testTime}, Spec: spec, Desired: objs})
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary != (plan.Summary{Added: 2}) {
		t.Errorf("summary %+v", p.Summary)
	}
	if planObjectsOfRender(nil) != nil {
		t.Error("planObjectsOfRender(nil) is not empty")
	}
}
