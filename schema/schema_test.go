package schema

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestJSON(t *testing.T) {
	kinds := Kinds()
	if !slices.Contains(kinds, "KubernetesApp") || !slices.IsSorted(kinds) {
		t.Fatalf("Kinds() = %v, want the sorted kinds with KubernetesApp", kinds)
	}
	for _, k := range kinds {
		b, ok := JSON(k)
		if !ok || !json.Valid(b) {
			t.Errorf("JSON(%s): ok %v, valid JSON %v", k, ok, json.Valid(b))
		}
	}
	for _, k := range []string{"", "Nope", "../schema/KubernetesApp", "KubernetesApp.json", "."} {
		if _, ok := JSON(k); ok {
			t.Errorf("JSON(%q) found a schema", k)
		}
	}
}
