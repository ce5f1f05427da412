package kubernetes

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSetIstioWeights(t *testing.T) {
	vs := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(`{
	  "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": {"name": "web"},
	  "spec": {"hosts": ["web"], "http": [
	    {"name": "main", "route": [
	      {"destination": {"host": "web", "subset": "primary"}, "weight": 90},
	      {"destination": {"host": "legacy"}, "weight": 10}]},
	    {"name": "admin", "route": [{"destination": {"host": "web", "subset": "primary"}}]}
	  ]}}`), &vs.Object); err != nil {
		t.Fatal(err)
	}
	order := []string{"primary", "canary", "baseline"}
	if err := SetIstioWeights(vs, "web", []string{"main"}, map[string]int{"primary": 80, "canary": 10, "baseline": 10}, order); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(vs.Object["spec"])
	want := `{"hosts":["web"],"http":[{"name":"main","route":[` +
		`{"destination":{"host":"web","subset":"primary"},"weight":72},` +
		`{"destination":{"host":"web","subset":"canary"},"weight":9},` +
		`{"destination":{"host":"web","subset":"baseline"},"weight":9},` +
		`{"destination":{"host":"legacy"},"weight":10}]},` +
		`{"name":"admin","route":[{"destination":{"host":"web","subset":"primary"}}]}]}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// All to the canary, every route editable.
	if err := SetIstioWeights(vs, "web", nil, map[string]int{"canary": 100}, order); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(vs.Object["spec"])
	want = `{"hosts":["web"],"http":[{"name":"main","route":[` +
		`{"destination":{"host":"web","subset":"canary"},"weight":90},` +
		`{"destination":{"host":"legacy"},"weight":10}]},` +
		`{"name":"admin","route":[{"destination":{"host":"web","subset":"canary"},"weight":100}]}]}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
