package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func testdataRoot(t testing.TB) string {
	root, err := filepath.Abs("testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func containerImage(t testing.TB, u *unstructured.Unstructured) string {
	c, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(c) == 0 {
		t.Fatalf("%s has no containers", u.GetName())
	}
	return c[0].(map[string]any)["image"].(string)
}

func TestHelmLocalChart(t *testing.T) {
	root := testdataRoot(t)
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/web"}}
	m := mustRender(t, &Renderer{}, app(root, "apps/helm", in))
	if m.Method != MethodHelm {
		t.Fatalf("method = %s", m.Method)
	}
	// CRDs first, then Helm's install order; no hooks, no tests, no NOTES.
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:default:demo-web",
		"apps:Deployment:default:demo-web",
		"example.com:Widget::demo-web",
	)
	crd, dep := m.Objects[0], m.Objects[2]
	if crd.Source.File != "charts/web/crds/widgets.yaml" || crd.Source.Chart != "charts/web" {
		t.Errorf("CRD source = %+v", crd.Source)
	}
	if dep.Source.File != "charts/web/templates/deployment.yaml" || dep.Source.Line != 0 {
		t.Errorf("deployment source = %+v", dep.Source)
	}
	if img := containerImage(t, dep.Object); img != "ghcr.io/example/web:1.0.0" {
		t.Errorf("image = %s", img)
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object.Object, "spec", "replicas"); r != 2 {
		t.Errorf("replicas = %d", r)
	}
}

func TestHelmOptions(t *testing.T) {
	root := testdataRoot(t)
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/values.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("service:\n  port: 8443\nreplicaCount: 4\n"))
	}))
	defer remote.Close()
	in := config.KubernetesDeploymentInput{
		Namespace: "prod",
		HelmChart: &config.InputHelmChart{Path: "../../charts/web"},
		HelmOptions: &config.InputHelmOptions{
			ReleaseName: "shop",
			ValueFiles:  []string{"values.yaml", remote.URL + "/values.yaml"},
			SetValues:   map[string]string{"image.repository": "ghcr.io/example/shop", "widget.enabled": "false"},
			SetFiles:    map[string]string{"config": "config.txt"},
			APIVersions: []string{"monitoring.example.com/v1"},
			KubeVersion: "v1.31.4",
		},
	}
	m := mustRender(t, &Renderer{HTTP: remote.Client()}, app(root, "apps/helm", in))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:prod:shop-web",
		"apps:Deployment:prod:shop-web",
		"monitoring.example.com:ServiceMonitor:prod:shop-web",
	)
	dep := m.Objects[2].Object
	if img := containerImage(t, dep); img != "ghcr.io/example/shop:2.0.0" {
		t.Errorf("image = %s (values.yaml sets the tag, setValues the repository)", img)
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 4 {
		t.Errorf("replicas = %d, want the remote values file's 4", r)
	}
	c, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	env := c[0].(map[string]any)["env"].([]any)[0].(map[string]any)
	if env["value"] != "from a file\n" {
		t.Errorf("setFiles value = %q", env["value"])
	}
	svc := m.Objects[1].Object
	if svc.GetNamespace() != "prod" {
		t.Errorf(".Release.Namespace = %q", svc.GetNamespace())
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if p := ports[0].(map[string]any)["port"]; p != int64(8443) {
		t.Errorf("port = %v", p)
	}
	kv, _, _ := unstructured.NestedString(m.Objects[3].Object.Object, "spec", "kubeVersion")
	if kv != "v1.31.4" {
		t.Errorf("Capabilities.KubeVersion = %q", kv)
	}
}

func TestHelmErrors(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{"private/values.yaml": "a: 1\n"})
	root := filepath.Join(outer, "repo")
	chart := map[string]string{
		"charts/bad/Chart.yaml":            "apiVersion: v2\nname: bad\nversion: 0.1.0\n",
		"charts/bad/values.yaml":           "mode: ok\n",
		"charts/bad/templates/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  tag: {{ required \"image.tag is required\" .Values.tag }}\n",
		"charts/bad/templates/fail.yaml":   "{{- if eq .Values.mode \"fail\" }}\n{{ fail \"mode fail is not supported\" }}\n{{- end }}\n",
		"charts/bad/templates/broken.yaml": "{{- if eq .Values.mode \"broken\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  bad\n{{- end }}\n",
		"charts/deps/Chart.yaml":           "apiVersion: v2\nname: deps\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n",
		"charts/deps/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		"charts/old/Chart.yaml":            "apiVersion: v2\nname: old\nversion: 0.1.0\nkubeVersion: \"<1.20.0\"\n",
		"charts/old/templates/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		"app/values.yaml":                  "tag: v1\n",
		"app/fail.yaml":                    "tag: v1\nmode: fail\n",
		"app/broken.yaml":                  "tag: v1\nmode: broken\n",
		"app/syntax.yaml":                  "tag: v1\nmode: [\n",
		"app/dup.yaml":                     "tag: v1\n",
		"app/extra/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		"elsewhere/values.yaml":            "tag: v1\n",
	}
	writeFiles(t, root, chart)
	helm := func(path string, opts *config.InputHelmOptions) config.KubernetesDeploymentInput {
		return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: path}, HelmOptions: opts}
	}
	cases := []struct {
		name string
		in   config.KubernetesDeploymentInput
		r    *Renderer
		want []string
		file string
		line int
	}{
		{name: "required value", in: helm("../charts/bad", nil),
			want: []string{"helm template charts/bad", "image.tag is required"}, file: "charts/bad/templates/cm.yaml", line: 6},
		{name: "fail", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"fail.yaml"}}),
			want: []string{"helm template charts/bad", "mode fail is not supported"}, file: "charts/bad/templates/fail.yaml", line: 2},
		{name: "rendered YAML is broken", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"broken.yaml"}}),
			want: []string{"helm template charts/bad", "bad/templates/broken.yaml"}, file: "charts/bad/templates/broken.yaml"},
		{name: "values file syntax", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"syntax.yaml"}}),
			want: []string{"app/syntax.yaml:"}, file: "app/syntax.yaml"},
		{name: "values file outside the app dir", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"../elsewhere/values.yaml"}}),
			want: []string{"valueFiles[0]", "outside the application directory"}, file: "app/app.pipecd.yaml"},
		{name: "values file outside the repository", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"../../private/values.yaml"}}),
			want: []string{"valueFiles[0]", "outside the repository"}},
		{name: "missing values file", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"nope.yaml"}}),
			want: []string{"valueFiles[0]", "app/nope.yaml does not exist"}},
		{name: "remote values without a client", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"https://example.com/v.yaml"}}),
			want: []string{"valueFiles[0]", "no HTTP client"}},
		{name: "values file scheme", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"s3://bucket/v.yaml"}}),
			want: []string{`scheme "s3" is not allowed`}},
		{name: "setFiles outside", in: helm("../charts/bad", &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}, SetFiles: map[string]string{"x": "../../private/values.yaml"}}),
			want: []string{"setFiles.x", "outside the repository"}},
		{name: "missing chart", in: helm("../charts/none", nil),
			want: []string{"load chart", "charts/none does not exist"}},
		{name: "chart outside the repository", in: helm("../../private", nil),
			want: []string{"helmChart.path", "outside the repository"}},
		{name: "missing dependencies", in: helm("../charts/deps", nil),
			want: []string{"chart charts/deps: dependency redis is missing in charts/ and the chart has no Chart.lock", "helm dependency update charts/deps"}, file: "charts/deps/Chart.yaml"},
		{name: "kubeVersion", in: helm("../charts/old", &config.InputHelmOptions{KubeVersion: "1.30.0"}),
			want: []string{"chart requires kubeVersion: <1.20.0"}},
		{name: "bad kubeVersion", in: helm("../charts/old", &config.InputHelmOptions{KubeVersion: "latest"}),
			want: []string{`kubeVersion "latest"`}},
		{name: "chart repository not configured", in: config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: "stable", Name: "web"}},
			want: []string{`"stable"`, "no chart repository is configured"}},
		{name: "git chart without a fetcher", in: config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{GitRemote: "https://example.com/charts.git", Ref: "main", Path: "web"}},
			want: []string{"chart https://example.com/charts.git//web?ref=main", "no Git fetcher"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			if r == nil {
				r = &Renderer{}
			}
			err := renderErr(t, r, app(root, "app", c.in))
			re := wantErr(t, err, c.want...)
			if c.file != "" && (re == nil || re.File != c.file || (c.line != 0 && re.Line != c.line)) {
				t.Errorf("error location = %+v, want %s:%d", re, c.file, c.line)
			}
		})
	}
}

func TestHelmChartSymlinkOutside(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"})
	root := writeFiles(t, filepath.Join(outer, "repo"), map[string]string{
		"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"app/.keep":        "",
	})
	if err := os.MkdirAll(filepath.Join(root, "chart", "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outer, "secret.yaml"), filepath.Join(root, "chart", "templates", "secret.yaml")); err != nil {
		t.Skip(err)
	}
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../chart"}}
	err := renderErr(t, &Renderer{}, app(root, "app", in))
	wantErr(t, err, "chart/templates/secret.yaml", "outside the repository")
}

func TestHelmCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/web"},
		HelmOptions: &config.InputHelmOptions{ValueFiles: []string{"http://127.0.0.1:1/values.yaml"}}}
	_, err := (&Renderer{HTTP: http.DefaultClient}).Kubernetes(ctx, app(testdataRoot(t), "apps/helm", in))
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v", err)
	}
}
