package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// writeBenchApp writes an application of n services, each a Deployment, a
// Service and a ConfigMap in one file of three documents (3n objects).
func writeBenchApp(tb testing.TB, dir string, n int) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc-%03d", i)
		var b strings.Builder
		fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s, tier: backend}
  annotations:
    example.com/owner: team-%[2]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s, tier: backend}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/%[1]s:1.%[2]d.0
          args: ["--port=8080", "--log-level=info"]
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: CONFIG_PATH
              value: /etc/app/config.yaml
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
          volumeMounts:
            - {name: config, mountPath: /etc/app}
      volumes:
        - name: config
          configMap: {name: %[1]s}
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
data:
  config.yaml: |
    server:
      port: 8080
    feature: %[2]d
`, name, i)
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRenderPlain300 renders an application of 300 plain objects (100
// files): the render half of `pipe plan`, to be set against kubectl reading
// the same files.
func BenchmarkRenderPlain300(b *testing.B) {
	root := b.TempDir()
	writeBenchApp(b, filepath.Join(root, "app"), 100)
	a := app(root, "app", config.KubernetesDeploymentInput{})
	r := &Renderer{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, err := r.Kubernetes(ctx, a)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Objects) != 300 {
			b.Fatalf("%d objects", len(m.Objects))
		}
	}
	b.ReportMetric(300, "objects/op")
}

func TestBenchApp(t *testing.T) {
	root := t.TempDir()
	writeBenchApp(t, filepath.Join(root, "app"), 100)
	m := mustRender(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
	if len(m.Objects) != 300 {
		t.Fatalf("%d objects", len(m.Objects))
	}
}
