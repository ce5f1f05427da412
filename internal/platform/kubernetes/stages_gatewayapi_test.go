package kubernetes

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func httpRouteFixture(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(`{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web"}, "spec": `+spec+`}`), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func variants(p, c, b int) []GatewayBackend {
	return []GatewayBackend{{"web", p}, {"web-canary", c}, {"web-baseline", b}}
}

func TestSetHTTPRouteWeights(t *testing.T) {
	const spec = `{"parentRefs": [{"name": "gw"}], "rules": [
	  {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [
	    {"name": "web", "port": 80, "weight": 100},
	    {"name": "legacy", "port": 8080, "weight": 25}]},
	  {"backendRefs": [{"name": "admin", "port": 80}]},
	  {"backendRefs": [{"name": "web", "port": 80}]}
	]}`
	for _, tc := range []struct {
		name    string
		p, c, b int
		want    string
	}{
		{"canary 20", 80, 20, 0, `{"parentRefs":[{"name":"gw"}],"rules":[` +
			`{"backendRefs":[{"name":"web","port":80,"weight":80},{"name":"web-canary","port":80,"weight":20},{"name":"legacy","port":8080,"weight":25}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]},` +
			`{"backendRefs":[{"name":"admin","port":80}]},` +
			// the default weight 1 is scaled to 100, the split exact
			`{"backendRefs":[{"name":"web","port":80,"weight":80},{"name":"web-canary","port":80,"weight":20}]}]}`},
		{"three ways", 80, 10, 10, `{"parentRefs":[{"name":"gw"}],"rules":[` +
			`{"backendRefs":[{"name":"web","port":80,"weight":80},{"name":"web-canary","port":80,"weight":10},{"name":"web-baseline","port":80,"weight":10},{"name":"legacy","port":8080,"weight":25}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]},` +
			`{"backendRefs":[{"name":"admin","port":80}]},` +
			`{"backendRefs":[{"name":"web","port":80,"weight":80},{"name":"web-canary","port":80,"weight":10},{"name":"web-baseline","port":80,"weight":10}]}]}`},
		{"all canary", 0, 100, 0, `{"parentRefs":[{"name":"gw"}],"rules":[` +
			`{"backendRefs":[{"name":"web-canary","port":80,"weight":100},{"name":"legacy","port":8080,"weight":25}],"matches":[{"path":{"type":"PathPrefix","value":"/"}}]},` +
			`{"backendRefs":[{"name":"admin","port":80}]},` +
			`{"backendRefs":[{"name":"web-canary","port":80,"weight":100}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			route := httpRouteFixture(t, spec)
			n, err := SetHTTPRouteWeights(route, variants(tc.p, tc.c, tc.b))
			if err != nil || n != 2 {
				t.Fatalf("changed %d rules, err %v", n, err)
			}
			got, _ := json.Marshal(route.Object["spec"])
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestSetHTTPRouteWeightsRoundTrip(t *testing.T) {
	// A canary split, then everything back to the primary: the variants'
	// share (90) is scaled exactly (x10), the other backend keeps its 10%.
	route := httpRouteFixture(t, `{"rules": [{"backendRefs": [
	  {"name": "web", "port": 80, "weight": 90}, {"name": "web-canary", "port": 80, "weight": 0},
	  {"group": "", "kind": "Service", "name": "legacy", "port": 80, "weight": 10}]}]}`)
	if _, err := SetHTTPRouteWeights(route, variants(75, 25, 0)); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(route.Object["spec"])
	want := `{"rules":[{"backendRefs":[{"name":"web","port":80,"weight":675},{"name":"web-canary","port":80,"weight":225},{"group":"","kind":"Service","name":"legacy","port":80,"weight":100}]}]}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := SetHTTPRouteWeights(route, variants(100, 0, 0)); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(route.Object["spec"])
	want = `{"rules":[{"backendRefs":[{"name":"web","port":80,"weight":900},{"group":"","kind":"Service","name":"legacy","port":80,"weight":100}]}]}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSetHTTPRouteWeightsEdges(t *testing.T) {
	// Rounding: the remainder goes to the first variant with traffic.
	route := httpRouteFixture(t, `{"rules": [{"backendRefs": [{"name": "web", "weight": 101}]}]}`)
	if _, err := SetHTTPRouteWeights(route, variants(0, 50, 50)); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(route.Object["spec"])
	if want := `{"rules":[{"backendRefs":[{"name":"web-canary","weight":51},{"name":"web-baseline","weight":50}]}]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A rule giving the app no traffic keeps the primary at weight 0.
	route = httpRouteFixture(t, `{"rules": [{"backendRefs": [{"name": "web", "weight": 0}, {"name": "other", "weight": 1}]}]}`)
	if _, err := SetHTTPRouteWeights(route, variants(50, 50, 0)); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(route.Object["spec"])
	if want := `{"rules":[{"backendRefs":[{"name":"web","weight":0},{"name":"other","weight":1}]}]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Backends of another kind named like the Service are not variants.
	route = httpRouteFixture(t, `{"rules": [{"backendRefs": [{"group": "example.com", "kind": "Bucket", "name": "web"}]}]}`)
	if n, err := SetHTTPRouteWeights(route, variants(80, 20, 0)); err != nil || n != 0 {
		t.Errorf("changed %d rules, err %v", n, err)
	}
	// Weights over the Gateway API's maximum are refused.
	route = httpRouteFixture(t, `{"rules": [{"backendRefs": [{"name": "web", "weight": 99}, {"name": "other", "weight": 999999}]}]}`)
	if _, err := SetHTTPRouteWeights(route, variants(80, 20, 0)); err == nil {
		t.Error("want an error for a weight over 1000000")
	}
	// No rules at all.
	if _, err := SetHTTPRouteWeights(httpRouteFixture(t, `{}`), variants(100, 0, 0)); err == nil {
		t.Error("want an error for a route without rules")
	}
}
