package runemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	run "google.golang.org/api/run/v1"
)

// The emulator's wire format is checked against the Cloud Run Admin API's
// published discovery document, run-api.json of google.golang.org/api.

type schemaProp struct {
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Ref                  string                `json:"$ref"`
	Items                *schemaProp           `json:"items"`
	AdditionalProperties *schemaProp           `json:"additionalProperties"`
	Properties           map[string]schemaProp `json:"properties"`
	Enum                 []string              `json:"enum"`
}

type discoveryMethod struct {
	HTTPMethod string `json:"httpMethod"`
	FlatPath   string `json:"flatPath"`
	Request    *struct {
		Ref string `json:"$ref"`
	} `json:"request"`
	Response *struct {
		Ref string `json:"$ref"`
	} `json:"response"`
}

type discoveryResource struct {
	Methods   map[string]discoveryMethod   `json:"methods"`
	Resources map[string]discoveryResource `json:"resources"`
}

type discovery struct {
	Schemas   map[string]schemaProp        `json:"schemas"`
	Resources map[string]discoveryResource `json:"resources"`
}

type boundMethod struct {
	name     string
	method   string
	re       *regexp.Regexp
	req, res string
}

func loadDiscovery(t *testing.T) (*discovery, []boundMethod) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("google.golang.org/api's module directory not found: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "run", "v1", "run-api.json"))
	if err != nil {
		t.Skipf("discovery document: %v", err)
	}
	var d discovery
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var methods []boundMethod
	var walk func(prefix string, rs map[string]discoveryResource)
	walk = func(prefix string, rs map[string]discoveryResource) {
		for name, r := range rs {
			for mname, m := range r.Methods {
				pat := regexp.QuoteMeta(m.FlatPath)
				pat = regexp.MustCompile(`\\\{[A-Za-z0-9]+\\\}`).ReplaceAllString(pat, `[^/]+`)
				bm := boundMethod{name: prefix + name + "." + mname, method: m.HTTPMethod, re: regexp.MustCompile("^/" + pat + "$")}
				if m.Request != nil {
					bm.req = m.Request.Ref
				}
				if m.Response != nil {
					bm.res = m.Response.Ref
				}
				methods = append(methods, bm)
			}
			walk(prefix+name+".", r.Resources)
		}
	}
	walk("", d.Resources)
	return &d, methods
}

// check reports every field of v the schema does not have and every type
// that does not match.
func (d *discovery) check(p schemaProp, v any, path string, errs *[]string) {
	if p.Ref != "" {
		s, ok := d.Schemas[p.Ref]
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: unknown schema %s", path, p.Ref))
			return
		}
		p = s
	}
	bad := func(want string) { *errs = append(*errs, fmt.Sprintf("%s: %v (%T) is not %s", path, v, v, want)) }
	switch p.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if prop, ok := p.Properties[k]; ok {
				d.check(prop, m[k], path+"."+k, errs)
			} else if p.AdditionalProperties != nil {
				d.check(*p.AdditionalProperties, m[k], path+"."+k, errs)
			} else {
				*errs = append(*errs, fmt.Sprintf("%s.%s: no such field in the schema", path, k))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("an array")
			return
		}
		for i, x := range a {
			d.check(*p.Items, x, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("a string")
			return
		}
		switch p.Format {
		case "google-datetime":
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				bad("an RFC 3339 time")
			}
		case "int64", "uint64":
			if !regexp.MustCompile(`^-?[0-9]+$`).MatchString(s) {
				bad("an int64 as a string")
			}
		}
		if len(p.Enum) > 0 && !contains(p.Enum, s) {
			bad("one of " + strings.Join(p.Enum, ","))
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			bad("a JSON number")
			return
		}
		if _, err := n.Int64(); err != nil {
			bad("an integer")
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			bad("a JSON number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("a boolean")
		}
	case "any", "":
	default:
		*errs = append(*errs, fmt.Sprintf("%s: schema type %q not handled", path, p.Type))
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func decodeGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

type exchange struct {
	method, path string
	status       int
	req, res     []byte
}

// recorder is the client's transport: it keeps every exchange.
type recorder struct {
	mu  sync.Mutex
	log []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	res, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(res))
	r.mu.Lock()
	r.log = append(r.log, exchange{req.Method, req.URL.Path, resp.StatusCode, body, res})
	r.mu.Unlock()
	return resp, nil
}

// checkError checks a Google API error body.
func checkError(t *testing.T, what string, b []byte, code int, status string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    *int             `json:"code"`
			Message string           `json:"message"`
			Status  string           `json:"status"`
			Details []map[string]any `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Errorf("%s: error body %s: %v", what, b, err)
		return
	}
	if e.Error.Code == nil || *e.Error.Code != code || e.Error.Status != status || e.Error.Message == "" {
		t.Errorf("%s: error body %s, want code %d status %s and a message", what, b, code, status)
	}
	for _, d := range e.Error.Details {
		if ty, _ := d["@type"].(string); !strings.HasPrefix(ty, "type.googleapis.com/google.rpc.") {
			t.Errorf("%s: detail without a google.rpc @type: %v", what, d)
		}
	}
}

func TestSchema(t *testing.T) {
	d, methods := loadDiscovery(t)
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	e, srv := Start(Options{ReadyDelay: 5 * time.Second, Now: clk.Now})
	defer srv.Close()
	rec := &recorder{}
	c := newClient(t, srv.URL, &http.Client{Transport: rec})
	ns := "namespaces/" + DefaultProject
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The scenario.
	body := svcBody("shop", "img:v1")
	body.Metadata.Annotations = map[string]string{"run.googleapis.com/ingress": "all"}
	body.Spec.Template.Metadata.Annotations = map[string]string{"autoscaling.knative.dev/maxScale": "3"}
	body.Spec.Template.Spec.Containers[0].Env = []*run.EnvVar{{Name: "MODE", Value: "prod"}}
	body.Spec.Template.Spec.Containers[0].Ports = []*run.ContainerPort{{Name: "http1", ContainerPort: 8080}}
	created, err := c.Namespaces.Services.Create(ns, body).Do()
	must(err)
	clk.Add(5 * time.Second)
	got, err := c.Namespaces.Services.Get(ns + "/services/shop").Do()
	must(err)
	got.Spec.Template.Metadata.Name = "shop-v2"
	got.Spec.Template.Spec.Containers[0].Image = "img:v2"
	got.Spec.Traffic = []*run.TrafficTarget{
		{RevisionName: "shop-v2", Percent: 10, Tag: "canary"},
		{RevisionName: created.Status.LatestCreatedRevisionName, Percent: 90},
	}
	_, err = c.Namespaces.Services.ReplaceService(ns+"/services/shop", got).Do()
	must(err)
	_, err = c.Namespaces.Services.Get(ns + "/services/shop").Do() // pending
	must(err)
	clk.Add(5 * time.Second)
	_, err = c.Namespaces.Services.Get(ns + "/services/shop").Do()
	must(err)
	_, err = c.Namespaces.Services.List(ns).LabelSelector("app=shop").Do()
	must(err)
	revs, err := c.Namespaces.Revisions.List(ns).LabelSelector("serving.knative.dev/service=shop").Do()
	must(err)
	_, err = c.Namespaces.Revisions.Get(ns + "/revisions/" + revs.Items[0].Metadata.Name).Do()
	must(err)
	_, err = c.Namespaces.Routes.Get(ns + "/routes/shop").Do()
	must(err)
	_, err = c.Namespaces.Routes.List(ns).Do()
	must(err)
	_, err = c.Namespaces.Configurations.Get(ns + "/configurations/shop").Do()
	must(err)
	_, err = c.Namespaces.Configurations.List(ns).Do()
	must(err)
	e.FailRevision("img:bad", "The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable.")
	got, err = c.Namespaces.Services.Get(ns + "/services/shop").Do()
	must(err)
	got.Spec.Template.Metadata.Name = ""
	got.Spec.Template.Spec.Containers[0].Image = "img:bad"
	got.Spec.Traffic = []*run.TrafficTarget{{LatestRevision: true, Percent: 100}}
	_, err = c.Namespaces.Services.ReplaceService(ns+"/services/shop", got).Do()
	must(err)
	clk.Add(5 * time.Second)
	failed, err := c.Namespaces.Services.Get(ns + "/services/shop").Do()
	must(err)
	_, err = c.Namespaces.Revisions.Get(ns + "/revisions/" + failed.Status.LatestCreatedRevisionName).Do()
	must(err)
	_, err = c.Namespaces.Revisions.Delete(ns + "/revisions/" + created.Status.LatestCreatedRevisionName).Do()
	must(err)
	// Errors through the client.
	if _, err := c.Namespaces.Services.Get(ns + "/services/nope").Do(); apiCode(err) != 404 {
		t.Errorf("get missing: %v", err)
	}
	if _, err := c.Namespaces.Services.Create(ns, svcBody("shop", "img:v1")).Do(); apiCode(err) != 409 {
		t.Errorf("create twice: %v", err)
	}
	_, err = c.Namespaces.Services.Delete(ns + "/services/shop").Do()
	must(err)

	// Every exchange against the schema.
	rec.mu.Lock()
	log := append([]exchange(nil), rec.log...)
	rec.mu.Unlock()
	checked := map[string]bool{}
	for _, x := range log {
		var m *boundMethod
		for i := range methods {
			if methods[i].method == x.method && methods[i].re.MatchString(x.path) {
				m = &methods[i]
				break
			}
		}
		if m == nil {
			t.Errorf("%s %s: no method of the discovery document", x.method, x.path)
			continue
		}
		what := fmt.Sprintf("%s %s (%s)", x.method, x.path, m.name)
		if len(x.req) > 0 {
			v, err := decodeGeneric(x.req)
			if err != nil {
				t.Errorf("%s: request: %v", what, err)
			}
			var errs []string
			d.check(schemaProp{Ref: m.req}, v, "request", &errs)
			for _, e := range errs {
				t.Errorf("%s: %s", what, e)
			}
		}
		if x.status >= 400 {
			checkError(t, what, x.res, x.status, map[int]string{404: "NOT_FOUND", 409: "ALREADY_EXISTS"}[x.status])
			continue
		}
		checked[m.res] = true
		v, err := decodeGeneric(x.res)
		if err != nil {
			t.Errorf("%s: response: %v", what, err)
			continue
		}
		var errs []string
		d.check(schemaProp{Ref: m.res}, v, m.res, &errs)
		for _, e := range errs {
			t.Errorf("%s: %s", what, e)
		}
		roundTrip(t, what, m.res, x.res)
	}
	for _, s := range []string{"Service", "ListServicesResponse", "Revision", "ListRevisionsResponse", "Route", "ListRoutesResponse", "Configuration", "ListConfigurationsResponse", "Status"} {
		if !checked[s] {
			t.Errorf("no response of %s was checked", s)
		}
	}
}

// roundTrip decodes a served body into the client's struct and encodes it
// again: nothing may be lost.
func roundTrip(t *testing.T, what, schema string, b []byte) {
	t.Helper()
	var v any
	switch schema {
	case "Service":
		v = new(run.Service)
	case "ListServicesResponse":
		v = new(run.ListServicesResponse)
	case "Revision":
		v = new(run.Revision)
	case "ListRevisionsResponse":
		v = new(run.ListRevisionsResponse)
	case "Route":
		v = new(run.Route)
	case "ListRoutesResponse":
		v = new(run.ListRoutesResponse)
	case "Configuration":
		v = new(run.Configuration)
	case "ListConfigurationsResponse":
		v = new(run.ListConfigurationsResponse)
	case "Status":
		v = new(run.Status)
	default:
		t.Errorf("%s: no struct for %s", what, schema)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s: decoding into %T: %v", what, v, err)
		return
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	a, _ := decodeGeneric(b)
	c, _ := decodeGeneric(again)
	if !reflect.DeepEqual(a, c) {
		t.Errorf("%s: the body does not round-trip through %T:\n%s\n%s", what, v, b, again)
	}
}

// TestSchemaErrors checks the error shapes through raw HTTP, and that
// malformed bodies are INVALID_ARGUMENT, never a panic.
func TestSchemaErrors(t *testing.T) {
	e, srv := Start(Options{})
	defer srv.Close()
	base := srv.URL + "/apis/serving.knative.dev/v1/namespaces/" + DefaultProject
	do := func(method, url, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	good := `{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"api"},"spec":{"template":{"spec":{"containers":[{"image":"img:v1"}]}}}}`
	if code, b := do("POST", base+"/services", good); code != 200 {
		t.Fatalf("create: %d %s", code, b)
	}
	for _, tc := range []struct{ name, method, path, body string }{
		{"empty", "POST", "/services", ""},
		{"not json", "POST", "/services", "{"},
		{"array", "POST", "/services", "[]"},
		{"null", "POST", "/services", "null"},
		{"string", "POST", "/services", `"x"`},
		{"trailing", "POST", "/services", good + "{}"},
		{"unknown field", "POST", "/services", `{"metadata":{"name":"x"},"bogus":1}`},
		{"unknown nested", "POST", "/services", `{"metadata":{"name":"x","nope":true}}`},
		{"wrong type", "POST", "/services", `{"metadata":{"name":5}}`},
		{"generation as string", "POST", "/services", `{"metadata":{"name":"x","generation":"1"}}`},
		{"no metadata", "POST", "/services", `{"spec":{}}`},
		{"no spec", "POST", "/services", `{"metadata":{"name":"x"}}`},
		{"no template spec", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{}}}`},
		{"null container", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[null]}}}}`},
		{"no image", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{}]}}}}`},
		{"null env", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"image":"i","env":[null]}]}}}}`},
		{"PORT env", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"image":"i","env":[{"name":"PORT","value":"1"}]}]}}}}`},
		{"bad name", "POST", "/services", `{"metadata":{"name":"X_Y"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}}}}`},
		{"bad kind", "POST", "/services", `{"kind":"Job","metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}}}}`},
		{"revision prefix", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"metadata":{"name":"y-1"},"spec":{"containers":[{"image":"i"}]}}}}`},
		{"null traffic", "POST", "/services", `{"metadata":{"name":"x"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}},"traffic":[null]}}`},
		{"name mismatch", "PUT", "/services/api", `{"metadata":{"name":"other"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}}}}`},
		{"bad selector", "GET", "/revisions?labelSelector=a+in+b", ""},
		{"huge percent", "PUT", "/services/api", `{"metadata":{"name":"api"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}},"traffic":[{"latestRevision":true,"percent":99999999999999999999}]}}`},
	} {
		code, b := do(tc.method, base+tc.path, tc.body)
		if code != 400 {
			t.Errorf("%s: %d %s, want 400", tc.name, code, b)
			continue
		}
		checkError(t, tc.name, b, 400, "INVALID_ARGUMENT")
	}
	for _, tc := range []struct {
		name, method, url string
		code              int
		status            string
	}{
		{"missing service", "GET", base + "/services/nope", 404, "NOT_FOUND"},
		{"missing revision", "GET", base + "/revisions/nope", 404, "NOT_FOUND"},
		{"missing route", "GET", base + "/routes/nope", 404, "NOT_FOUND"},
		{"delete missing", "DELETE", base + "/services/nope", 404, "NOT_FOUND"},
		{"other project", "GET", srv.URL + "/apis/serving.knative.dev/v1/namespaces/other/services", 403, "PERMISSION_DENIED"},
		{"unknown path", "GET", srv.URL + "/apis/serving.knative.dev/v1/namespaces/" + DefaultProject + "/widgets", 404, "NOT_FOUND"},
		{"wrong method", "PATCH", base + "/services/api", 404, "NOT_FOUND"},
	} {
		code, b := do(tc.method, tc.url, "")
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.code)
			continue
		}
		checkError(t, tc.name, b, tc.code, tc.status)
	}
	if s, ok := e.Service("api"); !ok || s.Generation != 1 {
		t.Errorf("malformed requests changed the service: %+v", s)
	}
}

// TestSchemaCheckerCatches makes sure the checker fails what it must.
func TestSchemaCheckerCatches(t *testing.T) {
	d, _ := loadDiscovery(t)
	for _, tc := range []struct{ body, want string }{
		{`{"metadata":{"name":"x","etag":"y"}}`, "Service.metadata.etag: no such field"},
		{`{"status":{"observedGeneration":"3"}}`, "is not a JSON number"},
		{`{"spec":{"traffic":[{"percent":10,"weight":3}]}}`, "Service.spec.traffic[0].weight: no such field"},
		{`{"metadata":{"labels":{"a":1}}}`, "Service.metadata.labels.a"},
		{`{"metadata":{"creationTimestamp":"yesterday"}}`, "RFC 3339"},
		{`{"status":{"conditions":[{"type":"Ready","ok":true}]}}`, "conditions[0].ok"},
	} {
		v, _ := decodeGeneric([]byte(tc.body))
		var errs []string
		d.check(schemaProp{Ref: "Service"}, v, "Service", &errs)
		if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
			t.Errorf("%s: %q, want %q", tc.body, errs, tc.want)
		}
	}
}
