package render

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// chartFiles is the testdata chart web as files below dir.
func chartFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	src := filepath.Join(testdataRoot(t), "charts", "web")
	files := map[string]string{}
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		files[dir+"/"+filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func helmKustomizeApp(t *testing.T, files map[string]string, opts map[string]string) KubernetesApp {
	t.Helper()
	all := chartFiles(t, "app/charts/web")
	for k, v := range files {
		all[k] = v
	}
	if opts == nil {
		opts = map[string]string{}
	}
	if _, ok := opts["enable-helm"]; !ok {
		opts["enable-helm"] = "true"
	}
	return app(writeFiles(t, t.TempDir(), all), "app", config.KubernetesDeploymentInput{KustomizeOptions: opts})
}

func replicasIn(t *testing.T, m *Manifests, ns, name string) int64 {
	t.Helper()
	o := m.Get(manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name})
	if o == nil {
		t.Fatalf("no deployment %s/%s in %v", ns, name, keyStrings(m))
	}
	n, _, _ := unstructuredInt(o.Object.Object, "spec", "replicas")
	return n
}

// The chart's objects come where kustomize puts its Helm generator's:
// after the resources and the generated ConfigMaps, before the
// components'; the kustomization's namespace is Helm's, and is not set on
// the chart's objects (kustomize leaves Helm's output to Helm).
func TestKustomizeHelmChartsLocal(t *testing.T) {
	a := helmKustomizeApp(t, map[string]string{
		"app/kustomization.yaml": `namespace: team
resources: [cm.yaml]
configMapGenerator:
- name: gen
  literals: [a=b]
  options: {disableNameSuffixHash: true}
helmCharts:
- name: web
  releaseName: rel
  valuesInline:
    replicaCount: 3
components: [comp]
`,
		"app/cm.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: res}\n",
		"app/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [sa.yaml]\n",
		"app/comp/sa.yaml":            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: comp}\n",
	}, map[string]string{"reorder": "none"})
	m := mustRender(t, &Renderer{}, a)
	wantKeys(t, m,
		":ConfigMap:team:res",
		":ConfigMap:team:gen",
		":Service:team:rel-web",
		"apps:Deployment:default:rel-web",
		"example.com:Widget:default:rel-web",
		// Hooks, tests included, after the manifests: kustomize runs
		// `helm template` without --no-hooks unless skipHooks is set.
		":Pod:default:rel-web-test",
		"batch:Job:default:rel-web-migrate",
		":ServiceAccount:team:comp",
	)
	if n := replicasIn(t, m, "default", "rel-web"); n != 3 {
		t.Errorf("replicas %d, want 3 (valuesInline)", n)
	}
	// skipTests leaves the test hooks out (--skip-tests), skipHooks all
	// of them (--no-hooks).
	for flag, keys := range map[string][]string{
		"skipTests: true": {":Service:default:rel-web", "apps:Deployment:default:rel-web", "example.com:Widget:default:rel-web", "batch:Job:default:rel-web-migrate"},
		"skipHooks: true": {":Service:default:rel-web", "apps:Deployment:default:rel-web", "example.com:Widget:default:rel-web"},
	} {
		m := mustRender(t, &Renderer{}, helmKustomizeApp(t, map[string]string{
			"app/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: rel\n  " + flag + "\n",
		}, map[string]string{"reorder": "none"}))
		wantKeys(t, m, keys...)
	}
	for _, o := range m.Objects {
		if a := o.Object.GetAnnotations(); len(a) != 0 && (len(a) != 1 || a["helm.sh/hook"] == "") {
			t.Errorf("%s: annotations %v (only hooks keep Helm's)", o.Key, a)
		}
		if o.Source.File != "app/kustomization.yaml" {
			t.Errorf("%s: source %+v", o.Key, o.Source)
		}
	}

	// includeCRDs, the legacy order, the chart's own namespace.
	a = helmKustomizeApp(t, map[string]string{
		"app/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: rel\n  namespace: web\n  includeCRDs: true\n",
	}, nil)
	m = mustRender(t, &Renderer{}, a)
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:web:rel-web",
		"apps:Deployment:default:rel-web",
		"batch:Job:default:rel-web-migrate",
		"example.com:Widget::rel-web", // the CRD says Widgets are cluster-scoped
		":Pod:default:rel-web-test",
	)
}

func TestKustomizeHelmChartsValues(t *testing.T) {
	files := map[string]string{
		"app/my-values.yaml": "replicaCount: 5\nimage:\n  tag: \"1.5.0\"\n",
		"app/extra.yaml":     "replicaCount: 7\n",
	}
	for _, c := range []struct {
		chart    string
		replicas int64
		image    string
	}{
		{"valuesFile: my-values.yaml\n  valuesInline: {image: {tag: \"2.0.0\"}}", 5, "2.0.0"},
		{"valuesFile: my-values.yaml\n  valuesMerge: override\n  valuesInline: {replicaCount: 9}", 9, "1.5.0"},
		{"valuesFile: my-values.yaml\n  valuesMerge: merge\n  valuesInline: {replicaCount: 9, config: x}", 5, "1.5.0"},
		{"valuesFile: my-values.yaml\n  valuesMerge: replace\n  valuesInline: {image: {tag: \"3.0.0\"}}", 2, "3.0.0"},
		{"valuesFile: my-values.yaml\n  additionalValuesFiles: [extra.yaml]", 7, "1.5.0"},
		{"valuesInline: {replicaCount: 4}\n  additionalValuesFiles: [extra.yaml]", 7, "1.0.0"},
		{"apiVersions: [monitoring.example.com/v1]\n  kubeVersion: \"1.29.0\"", 2, "1.0.0"},
	} {
		all := map[string]string{"app/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: rel\n  " + c.chart + "\n"}
		for k, v := range files {
			all[k] = v
		}
		m := mustRender(t, &Renderer{}, helmKustomizeApp(t, all, nil))
		if n := replicasIn(t, m, "default", "rel-web"); n != c.replicas {
			t.Errorf("%s: replicas %d, want %d", c.chart, n, c.replicas)
		}
		dep := m.Get(manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "rel-web"})
		if img := containerImage(t, dep.Object); img != "ghcr.io/example/web:"+c.image {
			t.Errorf("%s: image %s", c.chart, img)
		}
	}
	// The options of kustomize's command line win over the chart's.
	all := map[string]string{"app/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: rel\n  kubeVersion: \"1.20.0\"\n"}
	m := mustRender(t, &Renderer{}, helmKustomizeApp(t, all, map[string]string{"helm-api-versions": "monitoring.example.com/v1", "helm-kube-version": "1.30.1", "helm-command": "helm"}))
	sm := m.Get(manifest.Key{Group: "monitoring.example.com", Kind: "ServiceMonitor", Namespace: "default", Name: "rel-web"})
	if sm == nil {
		t.Fatalf("no ServiceMonitor in %v", keyStrings(m))
	}
	if v, _, _ := unstructured.NestedString(sm.Object.Object, "spec", "kubeVersion"); v != "v1.30.1" {
		t.Errorf("kubeVersion %q", v)
	}
	// A values file over HTTP.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/values.yaml" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "replicaCount: 11\n")
	}))
	t.Cleanup(srv.Close)
	all = map[string]string{"app/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: rel\n  valuesFile: " + srv.URL + "/values.yaml\n"}
	m = mustRender(t, &Renderer{HTTP: srv.Client()}, helmKustomizeApp(t, all, nil))
	if n := replicasIn(t, m, "default", "rel-web"); n != 11 {
		t.Errorf("remote valuesFile: replicas %d, want 11", n)
	}
	// A name template instead of a release name.
	all = map[string]string{"app/kustomization.yaml": "helmCharts:\n- name: web\n  nameTemplate: '{{ printf \"%s-%s\" \"tpl\" (lower \"REL\") }}'\n"}
	m = mustRender(t, &Renderer{}, helmKustomizeApp(t, all, nil))
	if n := replicasIn(t, m, "default", "tpl-rel-web"); n != 2 {
		t.Errorf("replicas %d", n)
	}
}

func TestKustomizeHelmChartsErrors(t *testing.T) {
	for _, c := range []struct {
		name, kust string
		opts       map[string]string
		want       []string
	}{
		{"no release name", "helmCharts:\n- name: web\n", nil,
			[]string{"app/kustomization.yaml:2: helmCharts[0] (chart web): no releaseName", "set releaseName"}},
		{"no such chart", "resources: []\nhelmCharts:\n- name: web\n  releaseName: r\n- name: nope\n  releaseName: r\n", nil,
			[]string{"app/kustomization.yaml:5: helmCharts[1] (chart nope): no chart at app/charts/nope, and no repo"}},
		{"bad valuesMerge", "helmCharts:\n- name: web\n  releaseName: r\n  valuesMerge: mix\n  valuesInline: {a: 1}\n", nil,
			[]string{"helmCharts[0]", `valuesMerge "mix": must be one of override, merge, replace`}},
		{"values file outside the kustomization", "helmCharts:\n- name: web\n  releaseName: r\n  valuesFile: ../v.yaml\n", nil,
			[]string{"helmCharts[0]", "v.yaml is not in or below the kustomization's directory", "LoadRestrictionsNone"}},
		{"values file outside the repository", "helmCharts:\n- name: web\n  releaseName: r\n  valuesFile: ../../v.yaml\n", map[string]string{"load-restrictor": "LoadRestrictionsNone"},
			[]string{"helmCharts[0]", `"../../v.yaml" points outside the repository`}},
		{"missing values file", "helmCharts:\n- name: web\n  releaseName: r\n  additionalValuesFiles: [none.yaml]\n", nil,
			[]string{"helmCharts[0] (chart web): additionalValuesFiles[0]: app/none.yaml does not exist"}},
		{"remote additional values file", "helmCharts:\n- name: web\n  releaseName: r\n  additionalValuesFiles: [https://example.com/v.yaml]\n", nil,
			[]string{"additionalValuesFiles[0]", "is a URL"}},
		{"name template reading the environment", "helmCharts:\n- name: web\n  nameTemplate: '{{ env \"HOME\" }}'\n", nil,
			[]string{"helmCharts[0]", "nameTemplate", `function "env" not defined`}},
		{"name and name template", "helmCharts:\n- name: web\n  releaseName: r\n  nameTemplate: x\n", nil,
			[]string{"releaseName and nameTemplate are both set"}},
		{"absolute chart home", "helmGlobals: {chartHome: /charts}\nhelmCharts:\n- name: web\n  releaseName: r\n", nil,
			[]string{"helmGlobals.chartHome \"/charts\" is an absolute path"}},
		{"chart home outside", "helmGlobals: {chartHome: ../../..}\nhelmCharts:\n- name: web\n  releaseName: r\n", nil,
			[]string{"helmCharts[0]", `helmGlobals.chartHome "../../.." with the chart "web" leads outside the repository`}},
		{"template error", "helmCharts:\n- name: web\n  releaseName: r\n  valuesInline: {image: {tag: \"\"}}\n", nil,
			[]string{"helmCharts[0]", "image.tag is required"}},
		{"not a repository URL", "helmCharts:\n- name: other\n  releaseName: r\n  repo: stable\n", nil,
			[]string{"helmCharts[0]", `repo "stable" is not the URL of a chart repository`}},
		{"helm disabled", "helmCharts:\n- name: web\n  releaseName: r\n", map[string]string{"enable-helm": "false"},
			[]string{"app/kustomization.yaml:1: helmCharts", "--enable-helm"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := renderErr(t, &Renderer{}, helmKustomizeApp(t, map[string]string{"app/kustomization.yaml": c.kust, "v.yaml": "a: 1\n"}, c.opts))
			wantErr(t, err, c.want...)
		})
	}
}

// A chart of a chart repository (index.yaml and archives made with the
// Helm SDK); a copy at <chartHome>/<name>-<version>/<name> is used
// instead, as kustomize does.
func TestKustomizeHelmChartsFromARepository(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	url := srv.URL + "/charts"
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{{Name: url, URL: url, Username: "reader", Password: "s3cret"}}}
	kust := "namespace: apps\nhelmCharts:\n- name: web\n  repo: " + url + "\n  version: 0.2.0\n  releaseName: rel\n  valuesInline: {replicaCount: 6}\n"
	root := writeFiles(t, t.TempDir(), map[string]string{"app/kustomization.yaml": kust})
	in := config.KubernetesDeploymentInput{KustomizeOptions: map[string]string{"enable-helm": "true"}}
	m := mustRender(t, r, app(root, "app", in))
	wantKeys(t, m, ":Service:apps:rel-web", "apps:Deployment:default:rel-web", "batch:Job:default:rel-web-migrate", "example.com:Widget:default:rel-web", ":Pod:default:rel-web-test")
	if n := replicasIn(t, m, "default", "rel-web"); n != 6 {
		t.Errorf("replicas %d, want 6", n)
	}

	pulled := chartFiles(t, "app/charts/web-0.2.0/web")
	pulled["app/charts/web-0.2.0/web/values.yaml"] = "replicaCount: 8\nimage: {repository: ghcr.io/example/web, tag: \"8.0.0\"}\nservice: {port: 80}\nwidget: {enabled: false}\n"
	pulled["app/kustomization.yaml"] = "helmCharts:\n- name: web\n  repo: " + url + "\n  version: 0.2.0\n  releaseName: rel\n"
	root = writeFiles(t, t.TempDir(), pulled)
	m = mustRender(t, &Renderer{}, app(root, "app", in))
	wantKeys(t, m, ":Service:default:rel-web", "apps:Deployment:default:rel-web", "batch:Job:default:rel-web-migrate", ":Pod:default:rel-web-test")
	if n := replicasIn(t, m, "default", "rel-web"); n != 8 {
		t.Errorf("replicas %d, want the local copy's 8", n)
	}

	err := renderErr(t, r, app(writeFiles(t, t.TempDir(), map[string]string{
		"app/kustomization.yaml": "helmCharts:\n- name: web\n  repo: " + url + "\n  version: 9.9.9\n  releaseName: rel\n",
	}), "app", in))
	wantErr(t, err, "app/kustomization.yaml:2: helmCharts[0] (chart web)", "no version 9.9.9")
}

// helmCharts in a remote base: its local chart, the namespace it inherits
// from the overlay; and a base reached twice with two namespaces.
func TestKustomizeHelmChartsInARemoteBase(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	files := chartFiles(t, "base/charts/web")
	files["base/kustomization.yaml"] = "helmCharts:\n- name: web\n  releaseName: rel\n  skipHooks: true\n"
	files["a/kustomization.yaml"] = "namespace: a\nresources: [../base]\n"
	files["b/kustomization.yaml"] = "namespace: b\nnamePrefix: b-\nresources: [../base]\n"
	pushFiles(t, remotes, "charts.git", files, "v1")
	url := srv.RepoURL("charts.git")
	enabled := map[string]string{"enable-helm": "true"}
	root := writeFiles(t, t.TempDir(), map[string]string{"app/kustomization.yaml": "resources:\n- " + url + "//a?ref=v1\n"})
	r := gitRenderer(t, "", false)
	m := mustRender(t, r, app(root, "app", config.KubernetesDeploymentInput{KustomizeOptions: enabled}))
	wantKeys(t, m, ":Service:a:rel-web", "apps:Deployment:default:rel-web", "example.com:Widget:default:rel-web")
	if s := m.Objects[1].Source; s.File != "app/kustomization.yaml" {
		t.Errorf("source %+v", s)
	}

	err := renderErr(t, r, app(root, "app", config.KubernetesDeploymentInput{}))
	wantErr(t, err, "app/kustomization.yaml:2: resources", url+"@v1:base/kustomization.yaml:1: helmCharts", "--enable-helm")

	root = writeFiles(t, t.TempDir(), map[string]string{"app/kustomization.yaml": "resources:\n- " + url + "//a?ref=v1\n- " + url + "//b?ref=v1\n"})
	err = renderErr(t, r, app(root, "app", config.KubernetesDeploymentInput{KustomizeOptions: enabled}))
	wantErr(t, err, "app/kustomization.yaml:3: resources", "base/kustomization.yaml:2: helmCharts[0] (chart web)", "built twice", "set its namespace")
}
