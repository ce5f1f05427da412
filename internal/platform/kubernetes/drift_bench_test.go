package kubernetes_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

const (
	benchApps       = 200
	benchObjects    = 20
	benchNamespaces = 10
)

// benchManifests are the 20 objects of one application.
func benchManifests(app string) string {
	var docs []string
	docs = append(docs, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 0
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/%[1]s:v1
          env: [{name: MODE, value: prod}]
          ports: [{containerPort: 8080}]
`, app), fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, app))
	for i := 0; i < 6; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-cm-%d}\ndata: {key: value-%d, other: \"%d\"}\n", app, i, i, i))
	}
	for i := 0; i < 4; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s-secret-%d}\nstringData: {password: p%d}\n", app, i, i))
	}
	for i := 0; i < 4; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s-sa-%d}\n", app, i))
	}
	for i := 0; i < 2; i++ {
		docs = append(docs, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s-role-%[2]d}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
`, app, i), fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s-rb-%[2]d}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s-role-%[2]d}
subjects: [{kind: ServiceAccount, name: %[1]s-sa-%[2]d}]
`, app, i))
	}
	if len(docs) != benchObjects {
		panic(fmt.Sprintf("%d objects", len(docs)))
	}
	return strings.Join(docs, "---\n")
}

type benchEnv struct {
	root    string
	cluster *kube.Cluster
	// kubectlDirs are what kubectl diffs: each app's objects as pipe
	// applied them (ownership labels and annotations included).
	kubectlDirs []string
}

var (
	benchOnce sync.Once
	bench     *benchEnv
	benchErr  error
)

func newBenchClient(c *kube.Cluster, ns string) (*kubernetes.Client, error) {
	kc := c.Kubeconfig()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &kc, &ns
	return kubernetes.New(flags, kubernetes.Options{})
}

// setupBench deploys 200 applications of 20 objects each (once per test
// binary) and writes the repository and kubectl's manifests.
func setupBench(b *testing.B) *benchEnv {
	benchOnce.Do(func() {
		c := kube.Shared(b)
		e := &benchEnv{root: b.TempDir(), cluster: c}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		run := fmt.Sprintf("%d", time.Now().UnixNano()%100000)
		var nss []string
		for i := 0; i < benchNamespaces; i++ {
			ns := fmt.Sprintf("drift-bench-%s-%d", run, i)
			if out, err := c.Kubectl(ctx, "create", "namespace", ns).CombinedOutput(); err != nil {
				benchErr = fmt.Errorf("create namespace: %v: %s", err, out)
				return
			}
			nss = append(nss, ns)
		}
		client, err := newBenchClient(c, "default")
		if err != nil {
			benchErr = err
			return
		}
		renderer := &render.Renderer{}
		errs := make([]error, benchApps)
		e.kubectlDirs = make([]string, benchApps)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := 0; i < benchApps; i++ {
			name := fmt.Sprintf("bench-%s-%03d", run, i)
			dir := filepath.Join(e.root, "apps", name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				benchErr = err
				return
			}
			cfg := fmt.Sprintf("apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: %s\n  input:\n    namespace: %s\n", name, nss[i%benchNamespaces])
			if err := os.WriteFile(filepath.Join(dir, "app.pipecd.yaml"), []byte(cfg), 0o644); err != nil {
				benchErr = err
				return
			}
			if err := os.WriteFile(filepath.Join(dir, "manifests.yaml"), []byte(benchManifests(name)), 0o644); err != nil {
				benchErr = err
				return
			}
			e.kubectlDirs[i] = filepath.Join(e.root, "kubectl", name)
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs[i] = e.deploy(ctx, client, renderer, name, dir, i)
			}()
		}
		wg.Wait()
		if benchErr = errors.Join(errs...); benchErr == nil {
			bench = e
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

// deploy applies one app as pipe sync does, and writes the objects as sent
// for kubectl diff.
func (e *benchEnv) deploy(ctx context.Context, client *kubernetes.Client, r *render.Renderer, name, dir string, i int) error {
	repo, err := config.LoadRepo(e.root, filepath.Join("apps", name, "app.pipecd.yaml"))
	if err != nil {
		return err
	}
	if len(repo.Apps) != 1 {
		return fmt.Errorf("%s: %d apps", name, len(repo.Apps))
	}
	ka, err := render.KubernetesAppOf(e.root, repo.Apps[0])
	if err != nil {
		return err
	}
	m, err := r.Kubernetes(ctx, ka)
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	for _, o := range m.Objects {
		objs = append(objs, o.Object)
	}
	app := kubernetes.App{ID: name, CommitHash: strings.Repeat("b", 40)}
	if _, err := client.Apply(ctx, objs, kubernetes.ApplyOptions{App: app}); err != nil {
		return fmt.Errorf("apply %s: %w", name, err)
	}
	prepared, err := client.Prepare(ctx, objs, app)
	if err != nil {
		return err
	}
	var docs []string
	for _, u := range prepared {
		y, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		docs = append(docs, string(y))
	}
	if err := os.MkdirAll(e.kubectlDirs[i], 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.kubectlDirs[i], "all.yaml"), []byte(strings.Join(docs, "---\n")), 0o644)
}

// pipeDrift is one `pipe drift` over every app, from a cold start: the
// repository read, a new client (discovery included), render and check.
func (e *benchEnv) pipeDrift(ctx context.Context) (*drift.Report, error) {
	repo, err := config.LoadRepo(e.root)
	if err != nil {
		return nil, err
	}
	client, err := newBenchClient(e.cluster, "default")
	if err != nil {
		return nil, err
	}
	pf := kubernetes.NewConnectedPlatform(client, kubernetes.PlatformOptions{Root: e.root})
	ch := &drift.Checker{Platforms: func(config.Kind) (drift.Platform, error) { return pf, nil }}
	return ch.Check(ctx, repo.Apps), nil
}

// kubectlDiffs is the peer: `kubectl diff --server-side --force-conflicts`
// once per app, one after the other as a CI loop runs them.
func (e *benchEnv) kubectlDiffs(ctx context.Context) error {
	for _, dir := range e.kubectlDirs {
		cmd := e.cluster.Kubectl(ctx, "diff", "--server-side", "--force-conflicts", "--field-manager", kubernetes.FieldManager, "-f", dir)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return fmt.Errorf("kubectl diff found changes in %s (the setup is not in sync):\n%s", dir, out)
		}
		if err != nil {
			return fmt.Errorf("kubectl diff %s: %v\n%s", dir, err, out)
		}
	}
	return nil
}

// BenchmarkDriftVsKubectlDiff: 200 apps × 20 objects, all in sync. Reports
// the seconds of one pipe drift over all apps, of the kubectl diff loop,
// and their ratio (goal ≤ 0.05). Run with -benchtime=1x.
func BenchmarkDriftVsKubectlDiff(b *testing.B) {
	e := setupBench(b)
	ctx := context.Background()
	// Warm the apiserver's caches for both.
	if rep, err := e.pipeDrift(ctx); err != nil || rep.Drifted() || rep.Failed() {
		b.Fatalf("warm-up: %v %s", err, summary(rep))
	}
	var pipeTotal, kubectlTotal time.Duration
	var last *drift.Report
	for b.Loop() {
		t0 := time.Now()
		rep, err := e.pipeDrift(ctx)
		if err != nil {
			b.Fatal(err)
		}
		pipeTotal += time.Since(t0)
		if rep.Drifted() || rep.Failed() || len(rep.Apps) != benchApps {
			b.Fatalf("pipe drift: %s", summary(rep))
		}
		last = rep
		t1 := time.Now()
		if err := e.kubectlDiffs(ctx); err != nil {
			b.Fatal(err)
		}
		kubectlTotal += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(pipeTotal.Seconds()/n, "pipe-s")
	b.ReportMetric(kubectlTotal.Seconds()/n, "kubectl-s")
	b.ReportMetric(pipeTotal.Seconds()/kubectlTotal.Seconds(), "ratio")
	b.ReportMetric(float64(last.Stats.ListCalls), "lists")
	b.ReportMetric(float64(last.Stats.DryRuns), "dryruns")
}

func summary(r *drift.Report) string {
	if r == nil {
		return "no report"
	}
	var b strings.Builder
	for _, a := range r.Apps {
		if a.Status != drift.InSync {
			fmt.Fprintf(&b, "%s %s %s %v\n", a.App, a.Status, a.Error, a.Drift)
		}
	}
	return b.String()
}
