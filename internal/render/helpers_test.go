package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// writeFiles writes files (slash paths relative to root) and returns root.
func writeFiles(t testing.TB, root string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func app(root, dir string, in config.KubernetesDeploymentInput) KubernetesApp {
	spec := &config.KubernetesApplicationSpec{Input: in}
	spec.Name = "demo"
	return KubernetesApp{Name: "demo", Root: root, Dir: dir, ConfigFile: "app.pipecd.yaml", Spec: spec}
}

func mustRender(t testing.TB, r *Renderer, a KubernetesApp) *Manifests {
	t.Helper()
	m, err := r.Kubernetes(context.Background(), a)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return m
}

func renderErr(t testing.TB, r *Renderer, a KubernetesApp) error {
	t.Helper()
	m, err := r.Kubernetes(context.Background(), a)
	if err == nil {
		t.Fatalf("render succeeded with keys %v, want an error", keyStrings(m))
	}
	return err
}

func keyStrings(m *Manifests) []string {
	var out []string
	for _, k := range m.Keys() {
		out = append(out, k.String())
	}
	return out
}

func wantKeys(t testing.TB, m *Manifests, want ...string) {
	t.Helper()
	got := keyStrings(m)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("keys:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// wantErr checks that err says every part, and returns the *Error if any.
func wantErr(t testing.TB, err error, parts ...string) *Error {
	t.Helper()
	t.Logf("error: %v", err)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not say %q", err, p)
		}
	}
	var re *Error
	errors.As(err, &re)
	return re
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/%[1]s:1.0.0
`
