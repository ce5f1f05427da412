package kubernetes

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// objs parses YAML documents separated by "---".
func objs(t testing.TB, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("parse %q: %v", d, err)
		}
		out = append(out, u)
	}
	return out
}

func obj(t testing.TB, doc string) *unstructured.Unstructured { return objs(t, doc)[0] }

func keysOf(us []*unstructured.Unstructured) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.GetKind() + "/" + u.GetName()
	}
	return out
}
