package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// k8sSpec decodes a KubernetesApp spec body (indented as under spec:).
func k8sSpec(t *testing.T, body string) *config.KubernetesApplicationSpec {
	t.Helper()
	doc := "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: web\n" + body
	f := config.ParseFile("app.pipecd.yaml", []byte(doc))
	if f.Diags.HasErrors() {
		t.Fatalf("config: %v", f.Diags)
	}
	spec, ok := f.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		t.Fatalf("spec is %T", f.Spec)
	}
	return spec
}

var testTime = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}
