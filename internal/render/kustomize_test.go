package render

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func TestKustomizeLocalBaseElsewhereInTheRepository(t *testing.T) {
	root, _ := filepath.Abs("testdata/repo")
	m := mustRender(t, &Renderer{}, app(root, "apps/kustomize", config.KubernetesDeploymentInput{}))
	if m.Method != MethodKustomize {
		t.Fatalf("method = %s", m.Method)
	}
	// kustomize's legacy order: ConfigMap, Service, Deployment.
	wantKeys(t, m, ":ConfigMap:team-a:settings-prod", ":Service:team-a:web-prod", "apps:Deployment:team-a:web-prod")
	dep := m.Objects[2].Object
	c, _, _ := unstructuredSlice(dep.Object, "spec", "template", "spec", "containers")
	if img := c[0].(map[string]any)["image"]; img != "ghcr.io/example/web:1.2.3" {
		t.Errorf("image = %v", img)
	}
	if s := m.Objects[0].Source; s.File != "apps/kustomize/kustomization.yaml" || s.Doc != 0 {
		t.Errorf("source = %+v", s)
	}
	// input.namespace overrides the kustomization's.
	m = mustRender(t, &Renderer{}, app(root, "apps/kustomize", config.KubernetesDeploymentInput{Namespace: "override"}))
	wantKeys(t, m, ":ConfigMap:override:settings-prod", ":Service:override:web-prod", "apps:Deployment:override:web-prod")
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		cur = cur.(map[string]any)[f]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

func TestKustomizeRefusals(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{
		"outside/kustomization.yaml": "resources: [cm.yaml]\n",
		"outside/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n",
	})
	cases := []struct {
		name string
		kust string
		opts map[string]string
		want []string
	}{
		{
			name: "remote git base without a Git fetcher",
			kust: "resources:\n  - github.com/example/repo//deploy?ref=v1.0.0\n",
			want: []string{"app/kustomization.yaml:2: resources", "github.com/example/repo//deploy?ref=v1.0.0", "no Git fetcher"},
		},
		{
			name: "remote https resource without an HTTP client",
			kust: "resources:\n  - https://example.com/manifests/app.yaml\n",
			want: []string{"app/kustomization.yaml:2: resources", "no HTTP client"},
		},
		{
			name: "unpinned remote base in a local base",
			kust: "resources:\n  - ../base\n",
			want: []string{"base/kustomization.yaml:2: components", "git@github.com:example/repo.git//component", "no ref", "?ref=<tag or commit>"},
		},
		{
			name: "file:// base",
			kust: "resources:\n  - file:///etc/repo//x?ref=v1\n",
			want: []string{"app/kustomization.yaml:2: resources", "reads the files of the machine"},
		},
		{
			name: "git:// base",
			kust: "bases:\n  - git://example.com/org/repo//x?ref=v1\n",
			want: []string{"app/kustomization.yaml:2: bases", "does not fetch git:// URLs"},
		},
		{
			name: "not a remote kustomize knows",
			kust: "resources:\n  - gh:org/repo\n",
			want: []string{"app/kustomization.yaml:2: resources", "not a remote kustomize fetches"},
		},
		{
			name: "remote file as a component",
			kust: "components:\n  - https://example.com/c.yaml\n",
			want: []string{"app/kustomization.yaml:2: components", "a component is a directory"},
		},
		{
			name: "remote patch",
			kust: "resources: [cm.yaml]\npatches:\n  - path: https://example.com/patch.yaml\n",
			want: []string{"app/kustomization.yaml:3: patches.path", "is remote", "vendor the file"},
		},
		{
			name: "remote path in a transformer config file",
			kust: "resources: [cm.yaml]\ntransformers: [patch.yaml]\n",
			want: []string{"app/patch.yaml", "transformers: PatchTransformer refers to \"https://example.com/p.yaml\"", "remote"},
		},
		{
			name: "inline Helm generator",
			kust: "generators:\n  - |\n    apiVersion: builtin\n    kind: HelmChartInflationGenerator\n    metadata: {name: x}\n    chartName: web\n",
			want: []string{"app/kustomization.yaml", "generators: a HelmChartInflationGenerator configuration runs the helm program", "helmCharts"},
		},
		{
			name: "helm charts without enable-helm",
			kust: "resources: [cm.yaml]\nhelmCharts:\n  - name: web\n    repo: https://charts.example.com\n",
			want: []string{"app/kustomization.yaml:2: helmCharts", "only with --enable-helm", "`enable-helm: \"true\"` in input.kustomizeOptions (app/app.pipecd.yaml)"},
		},
		{
			name: "enable-helm not a boolean",
			kust: "resources: [cm.yaml]\n",
			opts: map[string]string{"enable-helm": "yes"},
			want: []string{"app/app.pipecd.yaml", "kustomizeOptions.enable-helm", `"yes" is not a boolean`},
		},
		{
			name: "alpha plugins",
			kust: "resources: [cm.yaml]\n",
			opts: map[string]string{"enable-alpha-plugins": "true"},
			want: []string{"kustomizeOptions.enable-alpha-plugins", "in-process"},
		},
		{
			name: "unknown option",
			kust: "resources: [cm.yaml]\n",
			opts: map[string]string{"frobnicate": "yes"},
			want: []string{"kustomizeOptions.frobnicate", "supported: load-restrictor"},
		},
		{
			name: "bad load restrictor",
			kust: "resources: [cm.yaml]\n",
			opts: map[string]string{"load-restrictor": "Everything"},
			want: []string{`"Everything" is not a load restrictor`},
		},
		{
			name: "base outside the repository",
			kust: "resources:\n  - ../../outside\n",
			want: []string{"app/kustomization.yaml", "kustomize build", "outside the repository"},
		},
		{
			name: "file outside the repository, restrictions off",
			kust: "resources:\n  - ../../outside/cm.yaml\n",
			opts: map[string]string{"load-restrictor": "LoadRestrictionsNone"},
			want: []string{"kustomize build", "outside the repository"},
		},
		{
			name: "kustomize's own error",
			kust: "resources:\n  - missing.yaml\n",
			want: []string{"app/kustomization.yaml: kustomize build", "missing.yaml"},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeFiles(t, filepath.Join(outer, fmt.Sprintf("repo%d", i)), map[string]string{
				"app/kustomization.yaml":  c.kust,
				"app/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
				"app/patch.yaml":          "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: https://example.com/p.yaml\n",
				"base/kustomization.yaml": "components:\n  - git@github.com:example/repo.git//component\n",
			})
			err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{KustomizeOptions: c.opts}))
			wantErr(t, err, c.want...)
			if _, err := os.Stat(filepath.Join(outer, "outside", "kustomization.yaml")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKustomizeOptions(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"app/kustomization.yaml": "resources:\n  - ../shared/cm.yaml\n  - svc.yaml\n",
		"app/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n",
		"shared/cm.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n",
	})
	// kustomize's default restrictor refuses a file outside the kustomization.
	err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
	wantErr(t, err, "kustomize build")
	opts := map[string]string{"load-restrictor": "LoadRestrictionsNone", "--enable-managedby-label": "", "reorder": "none"}
	m := mustRender(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{KustomizeOptions: opts}))
	wantKeys(t, m, ":ConfigMap:default:shared", ":Service:default:svc")
	if l := m.Objects[0].Object.GetLabels()["app.kubernetes.io/managed-by"]; l == "" {
		t.Errorf("enable-managedby-label: labels = %v", m.Objects[0].Object.GetLabels())
	}
}

func TestIsRemoteRef(t *testing.T) {
	for s, want := range map[string]bool{
		"github.com/org/repo//path?ref=v1": true,
		"git::https://gitlab.com/org/repo": true,
		"https://example.com/a.yaml":       true,
		"ssh://git@host/org/repo":          true,
		"git@github.com:org/repo.git":      true,
		"file:///tmp/repo":                 true,
		"../base":                          false,
		"base/overlay":                     false,
		"deployment.yaml":                  false,
		"gitlab.com/org/repo":              false, // kustomize needs a scheme for other hosts
	} {
		if got := isRemoteRef(s); got != want {
			t.Errorf("isRemoteRef(%q) = %v", s, got)
		}
	}
}
