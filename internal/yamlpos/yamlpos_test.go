package yamlpos

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAt(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\nspec:\n  template:\n    Concurency: 2\n"), &n); err != nil {
		t.Fatal(err)
	}
	if got := At("f.yaml", &n, "concurency"); got != "f.yaml:4:5" {
		t.Errorf("At = %q", got)
	}
	if got := At("f.yaml", &n, "missing"); got != "f.yaml" {
		t.Errorf("At = %q", got)
	}
	var v struct{ A int }
	dec := json.NewDecoder(strings.NewReader(`{"A":1,"b":2}`))
	dec.DisallowUnknownFields()
	if got := UnknownField(dec.Decode(&v)); got != "b" {
		t.Errorf("UnknownField = %q", got)
	}
}
