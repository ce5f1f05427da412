package render

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestPlainDirectory(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"apps/web/app.pipecd.yaml":   "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: web\n",
		"apps/web/other.pipecd.yaml": "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: other\n",
		"apps/web/.pipe.yaml":        "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: third\n",
		"apps/web/b-deploy.yaml":     fmt.Sprintf(deployment, "web"),
		"apps/web/a-svc.yml":         "# leading comment\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{port: 80}]\n---\n# only a comment\n---\n",
		"apps/web/c-cm.json":         `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "team"}, "data": {"a": "1"}}`,
		"apps/web/README.md":         "not a manifest",
		"apps/web/sub/ignored.yaml":  fmt.Sprintf(deployment, "nested"),
	})
	m := mustRender(t, &Renderer{}, app(root, "apps/web", config.KubernetesDeploymentInput{}))
	if m.Method != MethodPlain {
		t.Errorf("method = %s", m.Method)
	}
	wantKeys(t, m, ":Service:default:web", "apps:Deployment:default:web", ":ConfigMap:team:web")
	svc := m.Objects[0]
	if svc.Source.File != "apps/web/a-svc.yml" || svc.Source.Line != 3 || svc.Source.Doc != 0 || svc.Source.Item != -1 {
		t.Errorf("service source = %+v", svc.Source)
	}
	if got := svc.Source.String(); got != "apps/web/a-svc.yml:3 (document 1)" {
		t.Errorf("source string = %q", got)
	}
	if o := m.Get(manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "web"}); o == nil || o.Object.GetName() != "web" {
		t.Errorf("Get = %v", o)
	}
	// Numbers are int64, as unstructured requires (DeepCopy panics on int).
	dep := m.Objects[1].Object.DeepCopy()
	if r, ok := dep.Object["spec"].(map[string]any)["replicas"].(int64); !ok || r != 1 {
		t.Errorf("replicas = %#v", dep.Object["spec"].(map[string]any)["replicas"])
	}
}

func TestPlainManifestsListAndMultiDoc(t *testing.T) {
	list := `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: one}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: two}
`
	root := writeFiles(t, t.TempDir(), map[string]string{
		"app/multi.yaml":  fmt.Sprintf(deployment, "a") + "---\n" + fmt.Sprintf(deployment, "b") + "\n---\n\n---\n" + list,
		"app/unused.yaml": fmt.Sprintf(deployment, "unused"),
	})
	m := mustRender(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{Manifests: []string{"multi.yaml"}}))
	wantKeys(t, m, "apps:Deployment:default:a", "apps:Deployment:default:b", ":ConfigMap:default:one", ":ConfigMap:default:two")
	two := m.Objects[3].Source
	if two.Doc != 2 || two.Item != 1 || two.Line != 36 {
		t.Errorf("List item source = %+v", two)
	}
	if got := two.String(); got != "app/multi.yaml:36 (document 3, item 2)" {
		t.Errorf("source string = %q", got)
	}
}

func TestPlainNamespaceOverride(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"app/all.yaml": `apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: elsewhere}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
---
apiVersion: example.com/v1
kind: Sprocket
metadata: {name: s}
`,
	})
	in := config.KubernetesDeploymentInput{Namespace: "prod"}
	m := mustRender(t, &Renderer{}, app(root, "app", in))
	wantKeys(t, m,
		":Namespace::prod",
		"rbac.authorization.k8s.io:ClusterRole::reader",
		":ConfigMap:prod:cm",
		":Service:prod:svc",
		"apiextensions.k8s.io:CustomResourceDefinition::gadgets.example.com",
		"example.com:Gadget::g",
		"example.com:Sprocket:prod:s",
	)
	for _, o := range m.Objects {
		ns := o.Object.GetNamespace()
		if (o.Key.Namespace == "") != (ns == "") || (ns != "" && ns != "prod") {
			t.Errorf("%s: metadata.namespace = %q", o.Key, ns)
		}
	}
	if !m.ClusterScoped(schema.GroupKind{Group: "example.com", Kind: "Gadget"}) || m.ClusterScoped(schema.GroupKind{Group: "example.com", Kind: "Sprocket"}) {
		t.Error("ClusterScoped does not follow the CRD of the render")
	}

	// Without an override, objects keep their namespace and the default
	// namespace is the renderer's.
	m = mustRender(t, &Renderer{DefaultNamespace: "ctx-ns"}, app(root, "app", config.KubernetesDeploymentInput{}))
	if got := keyStrings(m)[2:4]; got[0] != ":ConfigMap:elsewhere:cm" || got[1] != ":Service:ctx-ns:svc" {
		t.Errorf("keys = %v", got)
	}
	if m.Objects[3].Object.GetNamespace() != "" {
		t.Error("the default namespace was written into the object")
	}
}

func TestPlainDuplicateKeys(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"app/a.yaml": fmt.Sprintf(deployment, "web"),
		"app/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + fmt.Sprintf(deployment, "web"),
	})
	err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
	re := wantErr(t, err, "duplicate object apps:Deployment:default:web", "app/a.yaml:1 (document 1)", "app/b.yaml:5 (document 2)")
	if re == nil || re.File != "app/b.yaml" || re.Line != 5 {
		t.Errorf("error location = %+v", re)
	}
	// The same name in another namespace is another object.
	root = writeFiles(t, t.TempDir(), map[string]string{
		"app/a.yaml": fmt.Sprintf(deployment, "web"),
		"app/b.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: other}\n",
	})
	mustRender(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
}

func TestPlainErrors(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		file2 string
		want  []string
		line  int
	}{
		{
			name: "syntax error in the second document",
			file: fmt.Sprintf(deployment, "a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: indent\n",
			want: []string{"app/m.yaml:21: invalid YAML"},
			line: 21,
		},
		{
			name: "tab indentation",
			file: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
			want: []string{"app/m.yaml:4: invalid YAML"},
			line: 4,
		},
		{
			name: "duplicate mapping key",
			file: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: 1\n  a: 2\n",
			want: []string{"app/m.yaml:7: invalid YAML", `key "a" already set`},
			line: 7,
		},
		{
			name: "no kind",
			file: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: x}\n",
			want: []string{"app/m.yaml:5: the object has no kind"},
			line: 5,
		},
		{
			name: "no name",
			file: "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
			want: []string{"app/m.yaml:1:", "generateName but no name"},
			line: 1,
		},
		{
			name: "a scalar document",
			file: "just a string\n",
			want: []string{"app/m.yaml:1: the document is not a Kubernetes object", "string"},
			line: 1,
		},
		{
			name: "bad List item",
			file: "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, metadata: {name: a}}\n",
			want: []string{"app/m.yaml:1: List item 1: the object has no kind"},
			line: 1,
		},
		{
			name: "invalid JSON",
			file: "{\"apiVersion\": \"v1\",\n \"kind\": \"ConfigMap\",\n \"metadata\": {\"name\": \"x\"\n",
			want: []string{"app/m.yaml:", "invalid YAML"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeFiles(t, t.TempDir(), map[string]string{"app/m.yaml": c.file})
			err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
			re := wantErr(t, err, c.want...)
			if re == nil || re.File != "app/m.yaml" || (c.line != 0 && re.Line != c.line) {
				t.Errorf("error location = %+v", re)
			}
		})
	}
}

func TestPlainPathsStayInTheRepository(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"})
	root := writeFiles(t, filepath.Join(outer, "repo"), map[string]string{"app/ok.yaml": fmt.Sprintf(deployment, "a")})
	if err := os.Symlink(filepath.Join(outer, "secret.yaml"), filepath.Join(root, "app", "link.yaml")); err != nil {
		t.Skip(err)
	}
	for _, c := range []struct {
		manifests []string
		want      string
	}{
		{[]string{"../../secret.yaml"}, "outside the repository"},
		{[]string{"/etc/passwd"}, "absolute path"},
		{[]string{"link.yaml"}, "through a symlink"},
		{nil, "through a symlink"}, // found by listing the directory
		{[]string{"missing.yaml"}, "app/missing.yaml does not exist"},
	} {
		err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{Manifests: c.manifests}))
		wantErr(t, err, c.want)
	}
	err := renderErr(t, &Renderer{}, app(root, "../", config.KubernetesDeploymentInput{}))
	wantErr(t, err, "application directory", "outside the repository")
}
