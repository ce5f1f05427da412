package kubernetes

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// clusterScoped are the kinds the test objects may use without a namespace.
var clusterScoped = map[string]bool{"Namespace": true, "ClusterRole": true, "CustomResourceDefinition": true}

// objects parses multi-document YAML into keyed objects, namespaced
// objects without a namespace keyed in "default" as render keys them.
func objects(t *testing.T, docs string) []planObject {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(docs))
	var out []planObject
	for i := 0; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: jsonValue(m).(map[string]any)}
		k := manifest.KeyOf(u)
		if k.Namespace == "" && !clusterScoped[k.Kind] {
			k.Namespace = "default"
		}
		out = append(out, planObject{Key: k.String(), Object: u})
	}
	return out
}

// jsonValue deep-copies a value decoded by yaml.v3 into the types of
// decoded JSON that unstructured objects hold (int64 and float64 numbers),
// dropping nulls.
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				m[k] = jsonValue(e)
			}
		}
		return m
	case []any:
		s := make([]any, 0, len(x))
		for _, e := range x {
			s = append(s, jsonValue(e))
		}
		return s
	case int:
		return int64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	}
	return v
}

// yamlDoc renders an object as a YAML document, keys sorted, two-space
// indentation (as the diffs show objects).
func yamlDoc(t *testing.T, obj map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(obj); err != nil {
		t.Fatal(err)
	}
	_ = enc.Close()
	return b.String()
}

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

// deployment renders a Deployment named name with one container "app".
func deployment(name, image string, replicas int, extra string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  replicas: ` + itoa(replicas) + `
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
        - name: app
          image: ` + image + `
` + extra
}

// itoa writes a replicas value; negative means null.
func itoa(i int) string {
	if i < 0 {
		return "null"
	}
	return strconv.Itoa(i)
}

var testTime = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenAt(t, filepath.Join("testdata", name), got)
}

// planGolden compares got with one of internal/plan's golden files: the
// plan package builds the same plans by hand, and one copy of each file
// keeps the two in step.
func planGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenAt(t, filepath.Join("..", "..", "plan", "testdata", name), got)
}

func goldenAt(t *testing.T, path string, got []byte) {
	t.Helper()
	name := filepath.Base(path)
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
