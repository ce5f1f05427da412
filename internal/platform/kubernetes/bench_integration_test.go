package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// benchApp is one application of 300 objects: 100 ConfigMaps, 100
// Services and 100 Deployments of 1 replica (each reading its ConfigMap).
func benchApp(t testing.TB, ns, image string) []*unstructured.Unstructured {
	var b strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg-%[1]d, namespace: %[2]s}
data: {GREETING: hello-%[1]d, LEVEL: info}
---
apiVersion: v1
kind: Service
metadata: {name: web-%[1]d, namespace: %[2]s, labels: {app: web-%[1]d}}
spec:
  selector: {app: web-%[1]d}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-%[1]d, namespace: %[2]s, labels: {app: web-%[1]d}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%[1]d}}
  template:
    metadata: {labels: {app: web-%[1]d}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:%[3]s
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: cfg-%[1]d}}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
`, i, ns, image)
	}
	return objs(t, splitDocs(strings.TrimSuffix(b.String(), "---\n"))...)
}

var benchApp300 = App{ID: "bench", CommitHash: "c1"}

// writeManifests writes objs to dir/app.yaml for kubectl.
func writeManifests(t testing.TB, dir string, objs []*unstructured.Unstructured) {
	var buf bytes.Buffer
	for _, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// benchNamespace creates a namespace; done deletes it and waits until it
// is gone, so that its deletion does not load the next measurement.
func benchNamespace(b *testing.B, cl *Client, prefix string) (ns string, done func()) {
	ctx := context.Background()
	ns = uniqueName(prefix)
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := cl.dynamic.Resource(namespacesGVR).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	return ns, func() {
		if err := cl.dynamic.Resource(namespacesGVR).Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			_, err := cl.dynamic.Resource(namespacesGVR).Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.Fatalf("namespace %s still there after 3 minutes", ns)
	}
}

// kubectlCache is kubectl's discovery cache, shared by the benchmarks'
// invocations (warm after the first, as on a workstation).
var kubectlCache = filepath.Join(os.TempDir(), fmt.Sprintf("pipe-bench-kubecache-%d", os.Getpid()))

func kubectl(b *testing.B, args ...string) ([]byte, error) {
	c := kubeShared(b)
	cmd := c.Kubectl(context.Background(), args...)
	cmd.Env = append(cmd.Env, "KUBECACHEDIR="+kubectlCache)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if testing.Verbose() {
		b.Logf("kubectl %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	}
	return out, err
}

// BenchmarkApplyWait300 syncs 300 objects into a new namespace (pre-flight
// dry run, apply) and waits until every object is ready (the Deployments
// Available), against `kubectl apply --server-side -f` followed by
// `kubectl wait --for=condition=Available deployment --all`.
func BenchmarkApplyWait300(b *testing.B) {
	b.Cleanup(func() { os.RemoveAll(kubectlCache) })
	cl := newClient(b, "default", Options{})
	var pipeNs, kubectlNs atomic.Int64
	b.Run("pipe", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ns, done := benchNamespace(b, cl, "bench-pipe")
			in := benchApp(b, ns, "1")
			b.StartTimer()
			start := time.Now()
			// A sync is pre-flight, apply, wait: the dry run of every
			// object before anything is applied counts.
			if err := cl.PreFlight(context.Background(), in, DryRunOptions{App: benchApp300}); err != nil {
				b.Fatal(err)
			}
			checked := time.Since(start)
			res, err := cl.Apply(context.Background(), in, ApplyOptions{App: benchApp300})
			if err != nil {
				b.Fatal(err)
			}
			applied := time.Since(start)
			if err := cl.Wait(context.Background(), res.Keys(), WaitOptions{App: benchApp300, Timeout: 5 * time.Minute}); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			if testing.Verbose() {
				b.Logf("pipe pre-flight: %s, apply: %s, wait: %s", checked.Round(time.Millisecond), (applied - checked).Round(time.Millisecond), (time.Since(start) - applied).Round(time.Millisecond))
			}
			b.StopTimer()
			done()
			b.StartTimer()
		}
		pipeNs.Store(int64(total) / int64(b.N))
	})
	b.Run("kubectl", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ns, done := benchNamespace(b, cl, "bench-kubectl")
			prepared, err := cl.Prepare(context.Background(), benchApp(b, ns, "1"), benchApp300)
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			writeManifests(b, dir, prepared)
			b.StartTimer()
			start := time.Now()
			if out, err := kubectl(b, "apply", "--server-side", "-f", dir); err != nil {
				b.Fatalf("kubectl apply: %v\n%s", err, out)
			}
			if out, err := kubectl(b, "wait", "--for=condition=Available", "deployment", "--all", "-n", ns, "--timeout=5m"); err != nil {
				b.Fatalf("kubectl wait: %v\n%s", err, out)
			}
			total += time.Since(start)
			b.StopTimer()
			done()
			b.StartTimer()
		}
		kubectlNs.Store(int64(total) / int64(b.N))
	})
	if p, k := pipeNs.Load(), kubectlNs.Load(); p > 0 && k > 0 {
		b.Logf("apply+wait of 300 objects: pipe %s, kubectl %s: ratio %.3f (goal <= 0.5)",
			time.Duration(p).Round(time.Millisecond), time.Duration(k).Round(time.Millisecond), float64(p)/float64(k))
	}
}

// BenchmarkLivePlan300 computes the live plan of an application of 300
// objects (10 of its Deployments with a new image) against
// `kubectl diff --server-side -f` on the same manifests, and reports the
// live plan's peak heap.
func BenchmarkLivePlan300(b *testing.B) {
	b.Cleanup(func() { os.RemoveAll(kubectlCache) })
	cl := newClient(b, "default", Options{})
	ns, done := benchNamespace(b, cl, "bench-plan")
	defer done()
	ctx := context.Background()
	res, err := cl.Apply(ctx, benchApp(b, ns, "1"), ApplyOptions{App: benchApp300})
	if err != nil {
		b.Fatal(err)
	}
	if err := cl.Wait(ctx, res.Keys(), WaitOptions{App: benchApp300, Timeout: 5 * time.Minute}); err != nil {
		b.Fatal(err)
	}
	head := benchApp(b, ns, "1")
	changed := 0
	for _, u := range head {
		if u.GetKind() == "Deployment" && changed < 10 {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"name": "web", "image": "registry.invalid/web:2",
				"ports": []any{map[string]any{"containerPort": int64(8080)}}, "envFrom": []any{map[string]any{"configMapRef": map[string]any{"name": strings.Replace(u.GetName(), "web-", "cfg-", 1)}}},
				"resources": map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "16Mi"}}}}, "spec", "template", "spec", "containers")
			changed++
		}
	}
	app := benchApp300
	app.CommitHash = "c2"

	var pipeNs, kubectlNs atomic.Int64
	b.Run("pipe", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			plan, err := cl.LivePlan(ctx, head, DryRunOptions{App: app})
			if err != nil {
				b.Fatal(err)
			}
			if n := changedPairs(plan); n != 10 {
				b.Fatalf("%d changed objects, want 10", n)
			}
		}
		pipeNs.Store(int64(b.Elapsed()) / int64(b.N))
		b.StopTimer()
		peak, hwm := peakHeap(func() {
			if _, err := cl.LivePlan(ctx, head, DryRunOptions{App: app}); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(hwm)/(1<<20), "process-VmHWM-MB")
	})
	// The same plan with a dry-run of every object: what the shortcut
	// saves, and a check that it agrees.
	var fullNs atomic.Int64
	b.Run("pipe-dry-run-all", func(b *testing.B) {
		var plan *LivePlan
		for i := 0; i < b.N; i++ {
			var err error
			if plan, err = cl.LivePlan(ctx, head, DryRunOptions{App: app, DryRunAll: true}); err != nil {
				b.Fatal(err)
			}
		}
		fullNs.Store(int64(b.Elapsed()) / int64(b.N))
		b.StopTimer()
		fast, err := cl.LivePlan(ctx, head, DryRunOptions{App: app})
		if err != nil {
			b.Fatal(err)
		}
		comparePlans(b, fast, plan)
	})
	b.Run("kubectl", func(b *testing.B) {
		prepared, err := cl.Prepare(ctx, head, app)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		writeManifests(b, dir, prepared)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out, err := kubectl(b, "diff", "--server-side", "--field-manager="+FieldManager, "--force-conflicts", "-f", dir)
			if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
				b.Fatalf("kubectl diff: %v\n%s", err, out)
			}
			if n := bytes.Count(out, []byte("+        image: registry.invalid/web:2")); n != 10 {
				b.Fatalf("kubectl diff shows %d image changes, want 10:\n%.2000s", n, out)
			}
		}
		kubectlNs.Store(int64(b.Elapsed()) / int64(b.N))
	})
	if p, k := pipeNs.Load(), kubectlNs.Load(); p > 0 && k > 0 {
		b.Logf("live plan of 300 objects: pipe %s, kubectl diff %s: ratio %.3f (goal <= 0.25); dry-running all 300: %s, ratio %.3f",
			time.Duration(p).Round(time.Millisecond), time.Duration(k).Round(time.Millisecond), float64(p)/float64(k),
			time.Duration(fullNs.Load()).Round(time.Millisecond), float64(fullNs.Load())/float64(k))
	}
}

func changedPairs(p *LivePlan) int {
	n := 0
	for _, pr := range p.Pairs {
		if pr.Live == nil || pr.Desired == nil {
			n++
			continue
		}
		if !manifest.Equal(manifest.Normalize(pr.Live), manifest.Normalize(pr.Desired)) {
			n++
		}
	}
	return n
}

// peakHeap runs fn while sampling the heap every millisecond; it returns
// the peak of live heap objects above the level before fn, and the
// process's peak resident set (VmHWM) afterwards.
func peakHeap(fn func()) (peak uint64, vmHWM uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var max atomic.Uint64
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > max.Load() {
					max.Store(v)
				}
			}
		}
	}()
	fn()
	close(stop)
	<-finished
	if m := max.Load(); m > base {
		peak = m - base
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				var kb uint64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
				vmHWM = kb << 10
			}
		}
	}
	return peak, vmHWM
}
