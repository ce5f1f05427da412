package render

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// PipeCD's example helm-remote-chart (repository oci://ghcr.io/pipe-cd,
// name chart/helloworld, version v0.30.0), rendered from a local registry
// holding a helloworld chart at chart/helloworld:v0.30.0; then again with
// the registry gone, offline, from the cache.
func TestPipeCDExampleHelmRemoteChart(t *testing.T) {
	examples, err := filepath.Abs("../../../shared/pipecd-examples/v0")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(examples, "kubernetes", "helm-remote-chart")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("PipeCD examples not available: %v", err)
	}
	isolateDockerConfig(t)
	reg := newOCIRegistry(t, "", "")
	// The helloworld chart, built from PipeCD's local chart as the one
	// PipeCD publishes at that tag.
	ch, err := loader.LoadDir(filepath.Join(examples, "local-modules", "helm-charts", "helloworld"))
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version, ch.Metadata.AppVersion = "v0.30.0", "v0.30.0"
	for _, f := range ch.Raw {
		if f.Name == "values.yaml" {
			f.Data = []byte(strings.Replace(string(f.Data), "  repository: gcr.io/pipecd/helloworld\n", "  repository: gcr.io/pipecd/helloworld\n  tag: v0.30.0\n", 1))
		}
	}
	reg.push(t, "chart/helloworld", "v0.30.0", ch, helmChartLayerMediaType)

	// The example's files, the registry rewritten to the local one.
	root := t.TempDir()
	for _, f := range []string{"app.pipecd.yaml", "values.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "oci://ghcr.io/pipe-cd", "oci://"+reg.Host))
		writeFiles(t, root, map[string]string{"helm-remote-chart/" + f: string(b)})
	}
	f := config.ReadFile(filepath.Join(root, "helm-remote-chart", "app.pipecd.yaml"), "helm-remote-chart/app.pipecd.yaml")
	spec, ok := f.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		t.Fatalf("the example does not decode as a KubernetesApp: %s", f.Diags.Error())
	}
	a, err := KubernetesAppOf(root, &config.App{Name: spec.Name, Kind: f.Kind, File: "helm-remote-chart/app.pipecd.yaml", Dir: "helm-remote-chart", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	check := func(r *Renderer) {
		t.Helper()
		m := mustRender(t, r, a)
		wantKeys(t, m, ":ServiceAccount:default:helm-remote-chart-helloworld", ":Service:default:helm-remote-chart-helloworld", "apps:Deployment:default:helm-remote-chart-helloworld")
		dep := m.Objects[2]
		if dep.Source.Chart != "oci://"+reg.Host+"/chart/helloworld@v0.30.0" || dep.Source.File != "helloworld/templates/deployment.yaml" {
			t.Errorf("source = %+v", dep.Source)
		}
		if img := containerImage(t, dep.Object); img != "gcr.io/pipecd/helloworld:v0.30.0" {
			t.Errorf("image = %s", img)
		}
		if l := dep.Object.GetLabels()["app.kubernetes.io/instance"]; l != "helm-remote-chart" {
			t.Errorf("release name: labels = %v", dep.Object.GetLabels())
		}
	}
	check(&Renderer{HTTP: &http.Client{}, CacheDir: cacheDir})
	reg.Close()
	check(&Renderer{CacheDir: cacheDir, Offline: true})
}
