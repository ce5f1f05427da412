package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

const appConfig = `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: APP
  input:
    namespace: NS
`

var baseManifests = map[string]string{
	"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  minReadySeconds: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:v1
          env:
            - name: A
              value: "1"
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 64Mi}
`,
	"service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
`,
	"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  LOG_LEVEL: info
  RETRIES: "3"
`,
	"secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: web-secret
type: Opaque
stringData:
  password: s3cret
`,
}

// fixture is one application deployed by pipe into its own namespace; the
// application's name is the namespace, so that concurrent tests' objects
// never look like each other's.
type fixture struct {
	t       *testing.T
	cluster *kube.Cluster
	ns      string
	root    string
	dir     string
	client  *kubernetes.Client
}

func newFixture(t *testing.T, config string, extra map[string]string) *fixture {
	t.Helper()
	c := kube.Shared(t)
	ns := c.NewNamespace(t)
	f := &fixture{t: t, cluster: c, ns: ns, root: t.TempDir()}
	f.dir = filepath.Join(f.root, "apps", "web")
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if config == "" {
		config = appConfig
	}
	f.write("app.pipecd.yaml", strings.NewReplacer("APP", ns, "NS", ns).Replace(config))
	for name, content := range baseManifests {
		f.write(name, content)
	}
	for name, content := range extra {
		f.write(name, strings.ReplaceAll(content, "NS", ns))
	}
	kc := c.Kubeconfig()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &kc, &ns
	cl, err := kubernetes.New(flags, kubernetes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.client = cl
	// Deploy as pipe sync does.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cl.Apply(ctx, f.render(), kubernetes.ApplyOptions{App: kubernetes.App{ID: ns, CommitHash: strings.Repeat("a", 40)}}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return f
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(name string) {
	f.t.Helper()
	if err := os.Remove(filepath.Join(f.dir, name)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) app() *config.App {
	f.t.Helper()
	repo, err := config.LoadRepo(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(repo.Apps) != 1 {
		f.t.Fatalf("%d apps", len(repo.Apps))
	}
	for _, file := range repo.Files {
		if errs := file.Diags.Errors(); len(errs) > 0 {
			f.t.Fatalf("config: %v", errs)
		}
	}
	return repo.Apps[0]
}

func (f *fixture) render() []*unstructured.Unstructured {
	f.t.Helper()
	ap := f.app()
	ka, err := render.KubernetesAppOf(f.root, ap)
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := (&render.Renderer{DefaultNamespace: f.ns}).Kubernetes(context.Background(), ka)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, o := range m.Objects {
		out = append(out, o.Object)
	}
	return out
}

func (f *fixture) kubectl(args ...string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := f.cluster.Kubectl(ctx, append([]string{"-n", f.ns}, args...)...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (f *fixture) check() drift.AppResult {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pf := kubernetes.NewConnectedPlatform(f.client, kubernetes.PlatformOptions{Root: f.root})
	ch := &drift.Checker{Platforms: func(config.Kind) (drift.Platform, error) { return pf, nil }}
	rep := ch.Check(ctx, []*config.App{f.app()})
	return rep.Apps[0]
}

// lines renders a verdict as "ACTION Kind name" per object and
// "  OP path" per field, for exact comparison.
func lines(r drift.AppResult) []string {
	var out []string
	for _, d := range r.Drift {
		k, _ := manifest.ParseKey(d.Key)
		out = append(out, d.Action+" "+k.Kind+" "+k.Name)
		for _, fd := range d.Fields {
			out = append(out, "  "+fd.Op+" "+fd.Path)
		}
	}
	return out
}

var crdOnce sync.Once

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.drift.example.com
spec:
  group: drift.example.com
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
                color: {type: string, default: blue}
`

func ensureCRD(t *testing.T) {
	crdOnce.Do(func() {
		c := kube.Shared(t)
		p := filepath.Join(t.TempDir(), "crd.yaml")
		if err := os.WriteFile(p, []byte(crd), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, args := range [][]string{{"apply", "-f", p}, {"wait", "--for", "condition=Established", "crd/widgets.drift.example.com"}} {
			if out, err := c.Kubectl(ctx, args...).CombinedOutput(); err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, out)
			}
		}
	})
}

func TestScenarios(t *testing.T) {
	hpaConfig := appConfig + `  driftDetection:
    ignoreFields:
      - apps/v1:Deployment:NS:web#spec.replicas
`
	hpa := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 80}
`
	widget := `apiVersion: drift.example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 1
`
	ignored := strings.Replace(baseManifests["deployment.yaml"], "  name: web\n", "  name: web\n  annotations:\n    pipecd.dev/ignore-drift-detection: \"true\"\n", 1)
	tests := []struct {
		name   string
		config string
		extra  map[string]string
		before func(t *testing.T)
		change func(f *fixture)
		want   []string
		check  func(t *testing.T, r drift.AppResult)
	}{
		{
			name: "server defaults are not drift",
		},
		{
			name:   "manual scale",
			change: func(f *fixture) { f.kubectl("scale", "deployment/web", "--replicas=5") },
			want:   []string{"changed Deployment web", "  changed spec.replicas"},
			check: func(t *testing.T, r drift.AppResult) {
				fd := r.Drift[0].Fields[0]
				if drift.Value(fd.Git) != "2" || drift.Value(fd.Live) != "5" || !slices.Contains(fd.Managers, "kubectl") {
					t.Errorf("field = %+v, want git 2, live 5, manager kubectl", fd)
				}
			},
		},
		{
			name:   "image edited by another manager",
			change: func(f *fixture) { f.kubectl("set", "image", "deployment/web", "web=ghcr.io/acme/web:hotfix") },
			want:   []string{"changed Deployment web", "  changed spec.template.spec.containers[name=web].image"},
			check: func(t *testing.T, r drift.AppResult) {
				fd := r.Drift[0].Fields[0]
				if fd.Git != "ghcr.io/acme/web:v1" || fd.Live != "ghcr.io/acme/web:hotfix" || !slices.Contains(fd.Managers, "kubectl-set") {
					t.Errorf("field = %+v, want v1 -> hotfix by kubectl-set", fd)
				}
			},
		},
		{
			name:   "env var added live",
			change: func(f *fixture) { f.kubectl("set", "env", "deployment/web", "EXTRA=yes") },
			want:   []string{"changed Deployment web", "  live-only spec.template.spec.containers[name=web].env[name=EXTRA]"},
		},
		{
			name:   "env var removed live",
			change: func(f *fixture) { f.kubectl("set", "env", "deployment/web", "A-") },
			want:   []string{"changed Deployment web", "  missing spec.template.spec.containers[name=web].env[name=A]"},
		},
		{
			name: "labels and annotations added by controllers are ignored",
			change: func(f *fixture) {
				f.kubectl("annotate", "deployment/web", "example.com/scanned=yes")
				f.kubectl("label", "service/web", "example.com/team=payments")
			},
		},
		{
			name: "field removed in Git but still live",
			change: func(f *fixture) {
				f.write("deployment.yaml", strings.Replace(baseManifests["deployment.yaml"], "  minReadySeconds: 5\n", "", 1))
			},
			want: []string{"changed Deployment web", "  live-only spec.minReadySeconds"},
		},
		{
			name:   "object deleted live",
			change: func(f *fixture) { f.kubectl("delete", "configmap/web-config") },
			want:   []string{"added ConfigMap web-config"},
		},
		{
			name: "object added in Git",
			change: func(f *fixture) {
				f.write("extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  K: v\n")
			},
			want: []string{"added ConfigMap extra"},
		},
		{
			name:   "object removed from Git",
			change: func(f *fixture) { f.remove("service.yaml") },
			want:   []string{"deleted Service web"},
		},
		{
			name: "ConfigMap edit, values masked",
			change: func(f *fixture) {
				f.kubectl("patch", "configmap/web-config", "--type=merge", "-p", `{"data":{"LOG_LEVEL":"debug"}}`)
			},
			want: []string{"changed ConfigMap web-config", "  changed data.LOG_LEVEL"},
			check: func(t *testing.T, r drift.AppResult) {
				fd := r.Drift[0].Fields[0]
				if fd.Git != drift.Mask || fd.Live != drift.Mask {
					t.Errorf("ConfigMap values not masked: %+v", fd)
				}
			},
		},
		{
			name: "Secret edit, values masked",
			change: func(f *fixture) {
				f.kubectl("patch", "secret/web-secret", "--type=merge", "-p", `{"stringData":{"password":"hunter2","token":"t0k3n"}}`)
			},
			want: []string{"changed Secret web-secret", "  changed data.password", "  live-only data.token"},
			check: func(t *testing.T, r drift.AppResult) {
				var b bytes.Buffer
				if err := (&drift.Report{Apps: []drift.AppResult{r}}).WriteJSON(&b); err != nil {
					t.Fatal(err)
				}
				if err := (&drift.Report{Apps: []drift.AppResult{r}}).WriteText(&b, drift.TextOptions{}); err != nil {
					t.Fatal(err)
				}
				for _, secret := range []string{"hunter2", "s3cret", "t0k3n"} {
					for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
						if strings.Contains(b.String(), form) {
							t.Errorf("the report shows a secret value %q:\n%s", form, b.String())
						}
					}
				}
			},
		},
		{
			name:   "HPA-owned replicas ignored through ignoreFields",
			config: hpaConfig,
			extra:  map[string]string{"hpa.yaml": hpa},
			change: func(f *fixture) { f.kubectl("scale", "deployment/web", "--replicas=4") },
		},
		{
			name:   "custom resource edited",
			before: ensureCRD,
			extra:  map[string]string{"widget.yaml": widget},
			change: func(f *fixture) {
				f.kubectl("patch", "widgets.drift.example.com/w1", "--type=merge", "-p", `{"spec":{"size":3}}`)
			},
			want: []string{"changed Widget w1", "  changed spec.size"},
		},
		{
			name:   "custom resource with schema defaults in sync",
			before: ensureCRD,
			extra:  map[string]string{"widget.yaml": widget},
		},
		{
			name:   "ignore-drift-detection annotation",
			extra:  map[string]string{"deployment.yaml": ignored},
			change: func(f *fixture) { f.kubectl("scale", "deployment/web", "--replicas=3") },
			check: func(t *testing.T, r drift.AppResult) {
				if len(r.Ignored) != 1 || !strings.Contains(r.Ignored[0], ":Deployment:") {
					t.Errorf("ignored = %v, want the Deployment", r.Ignored)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.before != nil {
				tc.before(t)
			}
			f := newFixture(t, tc.config, tc.extra)
			if tc.change != nil {
				tc.change(f)
			}
			r := f.check()
			if r.Error != "" {
				t.Fatalf("check failed: %s", r.Error)
			}
			want := drift.InSync
			if len(tc.want) > 0 {
				want = drift.OutOfSync
			}
			got := lines(r)
			if r.Status != want || !slices.Equal(got, tc.want) {
				t.Fatalf("verdict %s with\n%s\nwant %s with\n%s", r.Status, strings.Join(got, "\n"), want, strings.Join(tc.want, "\n"))
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
