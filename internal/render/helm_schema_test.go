package render

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func TestHelmSchemaViolations(t *testing.T) {
	root := testdataRoot(t)
	shop := func(set map[string]string) config.KubernetesDeploymentInput {
		return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/shop"},
			HelmOptions: &config.InputHelmOptions{KubeVersion: "1.30.0", SetValues: set}}
	}
	cases := []struct {
		name string
		set  map[string]string
		file string
		want []string
	}{
		{"aliased subchart", map[string]string{"worker-b.replicas": "three"}, "charts/shop/charts/worker/values.schema.json",
			[]string{"helm template charts/shop", "the values do not match the chart's values.schema.json", "worker-b:", "at '/replicas'", "want integer"}},
		{"both aliases", map[string]string{"worker-a.replicas": "0", "worker-b.enabled": "yes"}, "charts/shop/charts/worker/values.schema.json",
			[]string{"worker-a:\n- at '/replicas': minimum", "worker-b:\n- at '/enabled': got string, want boolean"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := renderErr(t, &Renderer{}, app(root, "apps/helm", shop(c.set)))
			re := wantErr(t, err, c.want...)
			if re == nil || re.File != c.file {
				t.Errorf("error location = %+v, want %s", re, c.file)
			}
		})
	}
	err := renderErr(t, &Renderer{}, app(root, "apps/helm", shop(map[string]string{"worker-a": "x"})))
	wantErr(t, err, "helm template charts/shop: the values of subchart worker-a must be a map, not a string")
	// A disabled subchart's schema is not checked.
	mustRender(t, &Renderer{}, app(root, "apps/helm", shop(map[string]string{"worker-b.enabled": "false", "worker-b.replicas": "many"})))
}

func TestHelmSchemaReferences(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/port.json":
			w.Write([]byte(`{"type": "integer", "maximum": 65535}`))
		case "/broken.json":
			w.Write([]byte(`{"type": `))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	chart := func(schema string) map[string]string {
		return map[string]string{
			"chart/Chart.yaml":         "apiVersion: v2\nname: c\nversion: 0.1.0\n",
			"chart/values.yaml":        "port: 8080\n",
			"chart/values.schema.json": schema,
			"chart/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {port: {{ .Values.port | quote }}}\n",
			"app/.keep":                "",
		}
	}
	in := func(port string) config.KubernetesDeploymentInput {
		return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../chart"},
			HelmOptions: &config.InputHelmOptions{SetValues: map[string]string{"port": port}}}
	}
	ref := func(u string) string {
		return `{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"port": {"$ref": "` + u + `"}}, "required": ["port"]}`
	}
	r := &Renderer{HTTP: srv.Client()}

	root := writeFiles(t, t.TempDir(), chart(ref(srv.URL+"/port.json")))
	mustRender(t, r, app(root, "app", in("443")))
	if hits.Load() != 1 {
		t.Errorf("the referenced schema was downloaded %d times, want 1", hits.Load())
	}
	err := renderErr(t, r, app(root, "app", in("70000")))
	if re := wantErr(t, err, "values.schema.json", "c:\n- at '/port': maximum: got 70,000, want 65,535"); re == nil || re.File != "chart/values.schema.json" {
		t.Errorf("error location = %+v", re)
	}

	cases := []struct {
		name, schema string
		r            *Renderer
		want         []string
	}{
		{"a file of the machine", ref("file:///etc/hostname"), r,
			[]string{"chart/values.schema.json", "invalid schema", "file:///etc/hostname", "http(s) documents only"}},
		{"a relative reference", ref("defs.json"), r,
			[]string{"chart/values.schema.json", "file:///defs.json", "not to files of the machine"}},
		{"missing remote document", ref(srv.URL + "/nope.json"), r,
			[]string{"chart/values.schema.json", "/nope.json", "404"}},
		{"broken remote document", ref(srv.URL + "/broken.json"), r,
			[]string{"chart/values.schema.json", "/broken.json"}},
		{"no HTTP client", ref(srv.URL + "/port.json"), &Renderer{},
			[]string{"chart/values.schema.json", "no HTTP client"}},
		{"not JSON", "{type: object", r,
			[]string{"chart/values.schema.json", "not valid JSON"}},
		{"not a schema", `{"type": 12}`, r,
			[]string{"chart/values.schema.json", "invalid schema"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeFiles(t, t.TempDir(), chart(c.schema))
			err := renderErr(t, c.r, app(root, "app", in("443")))
			if re := wantErr(t, err, c.want...); re == nil || re.File != "chart/values.schema.json" {
				t.Errorf("error location = %+v", re)
			}
		})
	}
}

func TestHelmSchemaRemoteBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"type": "integer"}`))
	}))
	defer srv.Close()
	props := ""
	for i := range maxRemoteSchemas + 1 {
		if i > 0 {
			props += ","
		}
		props += `"p` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `": {"$ref": "` + srv.URL + `/s` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `.json"}`
	}
	root := writeFiles(t, t.TempDir(), map[string]string{
		"chart/Chart.yaml":         "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.schema.json": `{"properties": {` + props + `}}`,
		"chart/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
		"app/.keep":                "",
	})
	err := renderErr(t, &Renderer{HTTP: srv.Client()}, app(root, "app", config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../chart"}}))
	wantErr(t, err, "chart/values.schema.json", "more than 32 remote documents")
}
