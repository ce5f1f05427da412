package render

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// TestPipeCDExamples renders PipeCD's own example applications (shared,
// read in place) and checks what PipeCD would deploy for them.
func TestPipeCDExamples(t *testing.T) {
	root, err := filepath.Abs("../../../shared/pipecd-examples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("PipeCD examples not available: %v", err)
	}
	cases := []struct {
		dir    string
		method Method
		keys   []string
		check  func(t *testing.T, m *Manifests)
	}{
		{dir: "v0/kubernetes/simple", method: MethodPlain, keys: []string{
			"apps:Deployment:default:simple", ":Service:default:simple"}},
		{dir: "v0/kubernetes/canary", method: MethodPlain, keys: []string{
			"apps:Deployment:default:canary", ":Service:default:canary"}},
		{dir: "v0/kubernetes/kustomize-local-base", method: MethodKustomize, keys: []string{
			":Service:default:kustomize-local-base", "apps:Deployment:default:kustomize-local-base"},
			check: func(t *testing.T, m *Manifests) {
				dep := m.Objects[1].Object
				if img := containerImage(t, dep); img != "gcr.io/pipecd/helloworld:v0.6.0" {
					t.Errorf("image = %s", img)
				}
				if l := dep.GetLabels()["app"]; l != "kustomize-local-base" {
					t.Errorf("commonLabels: labels = %v", dep.GetLabels())
				}
			}},
		{dir: "v0/kubernetes/helm-local-chart", method: MethodHelm, keys: []string{
			":ServiceAccount:default:helm-local-chart", ":Service:default:helm-local-chart", "apps:Deployment:default:helm-local-chart"},
			check: func(t *testing.T, m *Manifests) {
				dep := m.Objects[2]
				if img := containerImage(t, dep.Object); img != "gcr.io/pipecd/helloworld:v0.5.0" {
					t.Errorf("image = %s", img)
				}
				if dep.Source.File != "v0/local-modules/helm-charts/helloworld/templates/deployment.yaml" {
					t.Errorf("source = %+v", dep.Source)
				}
				if l := dep.Object.GetLabels()["app.kubernetes.io/instance"]; l != "helm-local-chart" {
					t.Errorf("release name: labels = %v", dep.Object.GetLabels())
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			rel := c.dir + "/app.pipecd.yaml"
			f := config.ReadFile(filepath.Join(root, filepath.FromSlash(rel)), rel)
			spec, ok := f.Spec.(*config.KubernetesApplicationSpec)
			if !ok {
				t.Fatalf("%s does not decode as a KubernetesApp: %s", rel, f.Diags.Error())
			}
			a, err := KubernetesAppOf(root, &config.App{Name: spec.Name, Kind: f.Kind, File: rel, Dir: c.dir, Spec: spec})
			if err != nil {
				t.Fatal(err)
			}
			m, err := (&Renderer{}).Kubernetes(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			if m.Method != c.method {
				t.Errorf("method = %s, want %s", m.Method, c.method)
			}
			wantKeys(t, m, c.keys...)
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}
