package manifest

import (
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// value decodes a YAML value as written: integers as int, other numbers as
// float64, nulls kept.
func value(t *testing.T, y string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(y), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// obj decodes a YAML object without normalising it (ints stay int: only
// Normalize reads these objects).
func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	m, ok := value(t, y).(map[string]any)
	if !ok {
		t.Fatalf("not an object: %s", y)
	}
	return &unstructured.Unstructured{Object: m}
}

// deployment renders a Deployment named name with one container "app".
func deployment(name, image string, replicas int, extra string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  replicas: ` + strconv.Itoa(replicas) + `
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
