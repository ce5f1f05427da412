package render

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func TestHelmKubeVersionConstraint(t *testing.T) {
	root := testdataRoot(t)
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/shop"},
		HelmOptions: &config.InputHelmOptions{KubeVersion: "v1.24.9"}}
	err := renderErr(t, &Renderer{}, app(root, "apps/helm", in))
	re := wantErr(t, err, "chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.9", "set helmOptions.kubeVersion")
	if re == nil || re.File != "charts/shop/Chart.yaml" {
		t.Errorf("error location = %+v, want charts/shop/Chart.yaml", re)
	}
}

func TestHelmReleaseName(t *testing.T) {
	root := testdataRoot(t)
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/web"},
		HelmOptions: &config.InputHelmOptions{ReleaseName: "Web_Release"}}
	wantErr(t, renderErr(t, &Renderer{}, app(root, "apps/helm", in)), `release name "Web_Release"`, "helmOptions.releaseName")
}

// TestHelmTemplateChartAgain renders one loaded chart twice with different
// values: dependency processing (conditions, aliases, import-values) must
// not leak from one rendering into the next.
func TestHelmTemplateChartAgain(t *testing.T) {
	tr, err := newTree(testdataRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	a := &appTree{tree: tr, dir: filepath.Join(tr.root, "apps", "helm")}
	ch, err := a.localChart("../../charts/shop")
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{}
	rel := helmRelease{Name: "demo", Namespace: "default", KubeVersion: "1.30.0"}
	names := func(vals map[string]any) []string {
		t.Helper()
		out, err := r.templateChart(context.Background(), ch, vals, rel)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, o := range out {
			s = append(s, o.obj.GetKind()+"/"+o.obj.GetName())
		}
		return s
	}
	first := names(map[string]any{"worker-b": map[string]any{"enabled": false}, "db": map[string]any{"enabled": true}})
	second := names(nil)
	third := names(map[string]any{"worker-b": map[string]any{"enabled": false}, "db": map[string]any{"enabled": true}})
	if len(first) != len(third) || len(first) == len(second) {
		t.Fatalf("renderings differ:\n%v\n%v\n%v", first, second, third)
	}
	for i := range first {
		if first[i] != third[i] {
			t.Fatalf("the same values rendered differently after another rendering:\n%v\n%v", first, third)
		}
	}
	if len(ch.chart.Dependencies()) != 5 || ch.chart.Metadata.Dependencies[4].Name != "worker" {
		t.Errorf("the loaded chart was modified: %d dependencies, %+v", len(ch.chart.Dependencies()), ch.chart.Metadata.Dependencies[4])
	}
}

func TestHelmAliasedTemplateError(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"chart/Chart.yaml":                   "apiVersion: v2\nname: top\nversion: 0.1.0\ndependencies:\n  - {name: sub, version: 0.1.0, alias: first}\n",
		"chart/charts/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		"chart/charts/sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.name }}\n",
		"app/.keep":                          "",
	})
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../chart"}}
	re := wantErr(t, renderErr(t, &Renderer{}, app(root, "app", in)), "name is required")
	if re == nil || re.File != "chart/charts/sub/templates/cm.yaml" || re.Line != 4 {
		t.Errorf("error location = %+v, want chart/charts/sub/templates/cm.yaml:4", re)
	}
}

func TestHelmTemplateFile(t *testing.T) {
	c := &helmChart{repoDir: "deploy/chart", aliases: map[string]string{
		"top/charts/a1":              "sub",
		"top/charts/sub/charts/deep": "leaf",
	}}
	for name, want := range map[string]string{
		"top/templates/x.yaml":                        "deploy/chart/templates/x.yaml",
		"top/charts/a1/templates/x.yaml":              "deploy/chart/charts/sub/templates/x.yaml",
		"top/charts/a1/charts/deep/templates/x.yaml":  "deploy/chart/charts/sub/charts/leaf/templates/x.yaml",
		"top/charts/other/templates/charts/a1/x.yaml": "deploy/chart/charts/other/templates/charts/a1/x.yaml",
		"top": "top",
		"":    "",
	} {
		if got := c.templateFile(name); got != want {
			t.Errorf("templateFile(%q) = %q, want %q", name, got, want)
		}
	}
	if got := (&helmChart{}).templateFile("top/charts/a1/templates/x.yaml"); got != "top/charts/a1/templates/x.yaml" {
		t.Errorf("a chart outside the repository: %q", got)
	}
}
