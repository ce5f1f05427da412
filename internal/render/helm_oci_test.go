package render

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// webRegistry is a registry holding the web chart at several tags, as
// Helm pushes them: semver tags, a "+" version as "_", a v-prefixed tag,
// one of the legacy layer media type, a prerelease, and a non-semver tag.
func webRegistry(t *testing.T, user, pass string) (*ociRegistry, map[string]string) {
	reg := newOCIRegistry(t, user, pass)
	digests := map[string]string{}
	for _, v := range []string{"0.1.0", "0.2.0", "0.3.0-rc.1", "1.0.0+build.1", "v2.0.0"} {
		digests[v] = reg.push(t, "charts/web", strings.ReplaceAll(v, "+", "_"), webChart(t, v), helmChartLayerMediaType)
	}
	digests["1.1.0"] = reg.push(t, "charts/web", "1.1.0-legacy", webChart(t, "1.1.0"), helmLegacyLayerMediaType)
	reg.push(t, "charts/web", "latest", webChart(t, "0.2.0"), helmChartLayerMediaType)
	return reg, digests
}

func TestOCIChart(t *testing.T) {
	isolateDockerConfig(t)
	reg, digests := webRegistry(t, "", "")
	root := writeFiles(t, t.TempDir(), map[string]string{"app/values.yaml": "replicaCount: 3\n"})
	r := &Renderer{HTTP: &http.Client{}}
	repo := "oci://" + reg.Host + "/charts"

	in := chartInput(repo, "web", "0.1.0")
	in.HelmOptions = &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}
	m := mustRender(t, r, app(root, "app", in))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:default:demo-web",
		"apps:Deployment:default:demo-web",
		"example.com:Widget::demo-web",
	)
	dep := m.Objects[2]
	if dep.Source.Chart != "oci://"+reg.Host+"/charts/web@0.1.0" || dep.Source.File != "web/templates/deployment.yaml" {
		t.Errorf("source = %+v", dep.Source)
	}
	if n, _, _ := unstructuredInt(dep.Object.Object, "spec", "replicas"); n != 3 {
		t.Errorf("replicas = %d: values not applied", n)
	}

	for _, c := range []struct{ repository, name, version, want string }{
		// Constraints over the tags, like Helm: strict semver tags, "_"
		// read as "+", prereleases only when asked for.
		{repo, "web", "", "1.0.0+build.1"},
		{repo, "web", "~0.1", "0.1.0"},
		{repo, "web", ">=0.1.0 <1.0.0", "0.2.0"},
		{repo, "web", ">=0.3.0-rc.0 <0.4.0", "0.3.0-rc.1"},
		// Exact versions are tags: "+" becomes "_"; a "v" stays.
		{repo, "web", "1.0.0+build.1", "1.0.0+build.1"},
		{repo, "web", "v2.0.0", "v2.0.0"},
		// The legacy layer media type.
		{repo, "web:1.1.0-legacy", "", "1.1.0"},
		// A tag or a digest in the reference; the name may carry the path.
		{repo, "web:0.2.0", "", "0.2.0"},
		{repo, "web:0.2.0", "0.2.0", "0.2.0"},
		{repo, "web@" + digests["0.1.0"], "", "0.1.0"},
		{repo, "web@" + digests["0.1.0"], "0.1.0", "0.1.0"},
		{"oci://" + reg.Host, "charts/web", "0.2.0", "0.2.0"},
		{"oci://" + reg.Host + "/charts/web", "", "0.2.0", "0.2.0"},
	} {
		m := mustRender(t, r, app(root, "app", chartInput(c.repository, c.name, c.version)))
		if got := m.Objects[1].Source.Chart; got != "oci://"+reg.Host+"/charts/web@"+c.want {
			t.Errorf("%s %s %q: chart %s, want version %s", c.repository, c.name, c.version, got, c.want)
		}
	}
}

// Apps of one Renderer with a version range of one OCI chart share one
// listing of its tags, like the index of a chart repository.
func TestOCIChartTagsListedOncePerRenderer(t *testing.T) {
	isolateDockerConfig(t)
	reg, _ := webRegistry(t, "", "")
	root := writeFiles(t, t.TempDir(), map[string]string{"a/.keep": "", "b/.keep": ""})
	repo := "oci://" + reg.Host + "/charts"
	r := &Renderer{HTTP: &http.Client{}}
	reg.Requests()
	for _, c := range []struct{ dir, version, want string }{{"a", "~0.1", "0.1.0"}, {"b", ">=0.1.0 <1.0.0", "0.2.0"}} {
		m := mustRender(t, r, app(root, c.dir, chartInput(repo, "web", c.version)))
		if got := m.Objects[1].Source.Chart; got != repo+"/web@"+c.want {
			t.Errorf("%s %q: chart %s, want version %s", c.dir, c.version, got, c.want)
		}
	}
	var lists int
	for _, req := range reg.Requests() {
		if strings.HasSuffix(req, "/tags/list") {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("the tags were listed %d times, want once", lists)
	}
}

func TestOCIChartErrors(t *testing.T) {
	isolateDockerConfig(t)
	reg, digests := webRegistry(t, "", "")
	// An image, not a chart.
	reg.pushBlobs(t, "images/app", "1.0.0", []byte(`{"architecture":"amd64","os":"linux"}`), types.OCIConfigJSON,
		[]byte("not a chart"), types.OCILayer)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	repo := "oci://" + reg.Host + "/charts"
	for _, c := range []struct {
		name                    string
		repository, chart, vers string
		want                    []string
	}{
		{"no such tag", repo, "web", "9.9.9",
			[]string{"app/app.pipecd.yaml: OCI chart oci://" + reg.Host + "/charts/web:9.9.9: not found in the registry, asked with no credentials (" + reg.Host + " is in neither chartRegistries of .pipe/config.yaml nor the Docker credential file ", "): check helmChart.repository, name and version"}},
		{"no such chart", repo, "api", "1.0.0",
			[]string{"OCI chart oci://" + reg.Host + "/charts/api:1.0.0: not found in the registry"}},
		{"no tag matches", repo, "web", "^5.0",
			[]string{"OCI chart oci://" + reg.Host + "/charts/web: no tag matches version ^5.0 (it has 1.1.0-legacy, 1.0.0_build.1, 0.3.0-rc.1, 0.2.0, 0.1.0)"}},
		{"no tags at all", repo, "api", "",
			[]string{"OCI chart oci://" + reg.Host + "/charts/api", "not found in the registry"}},
		{"bad constraint", repo, "web", "not a version",
			[]string{`version "not a version" is neither a version nor a semver constraint`}},
		{"not a chart", "oci://" + reg.Host + "/images", "app", "1.0.0",
			[]string{"OCI chart oci://" + reg.Host + "/images/app:1.0.0 is not a Helm chart: no layer of media type application/vnd.cncf.helm.chart.content.v1.tar+gzip (config media type application/vnd.oci.image.config.v1+json"}},
		{"tag and version differ", repo, "web:0.2.0", "0.1.0",
			[]string{"the reference's tag 0.2.0 and helmChart.version 0.1.0 differ"}},
		{"digest and version differ", repo, "web@" + digests["0.1.0"], "0.2.0",
			[]string{"is version 0.1.0, not helmChart.version 0.2.0"}},
		{"bad digest", repo, "web@sha256:1234", "",
			[]string{"the digest is not sha256:<hex>"}},
		{"no path", "oci://" + reg.Host, "", "1.0.0",
			[]string{"a reference is host/path/chart"}},
		{"bad path", repo, "Web", "1.0.0",
			[]string{"the repository path is not valid"}},
		{"bad tag", repo, "web", "1.0.0+a+b",
			[]string{"neither a version nor a semver constraint"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", chartInput(c.repository, c.chart, c.vers)))
			wantErr(t, err, c.want...)
		})
	}

	t.Run("no HTTP client", func(t *testing.T) {
		err := renderErr(t, &Renderer{}, app(root, "app", chartInput(repo, "web", "0.1.0")))
		wantErr(t, err, "cannot download from oci://"+reg.Host+"/charts/web: no HTTP client was given to rendering")
	})

	// A layer altered on the way is refused.
	t.Run("tampered layer", func(t *testing.T) {
		tamper := func(path string, body []byte) []byte {
			if len(body) > 100 {
				body = bytes.Clone(body)
				body[50] ^= 0xff
			}
			return body
		}
		reg.Tamper.Store(&tamper)
		defer reg.Tamper.Store(nil)
		err := renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", chartInput(repo, "web", "0.1.0")))
		wantErr(t, err, "OCI chart oci://"+reg.Host+"/charts/web:0.1.0: downloading the chart layer sha256:", "error verifying sha256 checksum", "nothing was rendered from it")
	})
}

func TestOCIChartAuth(t *testing.T) {
	dockerDir := isolateDockerConfig(t)
	reg, _ := webRegistry(t, "reader", "s3cret")
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	in := chartInput("oci://"+reg.Host+"/charts", "web", "~0.1")
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	registries := func(getenv func(string) string) []ChartRegistry {
		regs, err := ChartRegistriesFromConfig([]config.ChartRegistry{
			{Type: "OCI", Address: "registry.example.com"},
			{Type: "OCI", Address: reg.Host, Username: "reader", PasswordEnv: "REGISTRY_PASSWORD"},
		}, getenv)
		if err != nil {
			t.Fatal(err)
		}
		return regs
	}

	// No credentials anywhere.
	err := renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", in))
	wantErr(t, err, "OCI chart oci://"+reg.Host+"/charts/web: the registry refused access (Unauthorized) with no credentials ("+reg.Host+" is in neither chartRegistries of .pipe/config.yaml nor the Docker credential file "+filepath.Join(dockerDir, "config.json")+")",
		"give credentials that may read it: chartRegistries in .pipe/config.yaml")

	// chartRegistries, the password read when needed.
	reg.Served.Store(0)
	err = renderErr(t, &Renderer{HTTP: &http.Client{}, ChartRegistries: registries(env(nil))}, app(root, "app", in))
	wantErr(t, err, "chart registry "+reg.Host+": chartRegistries[1].passwordEnv in .pipe/config.yaml: the environment variable REGISTRY_PASSWORD is not set")
	if n := reg.Served.Load(); n != 0 {
		t.Errorf("%d requests without the password", n)
	}
	err = renderErr(t, &Renderer{HTTP: &http.Client{}, ChartRegistries: registries(env(map[string]string{"REGISTRY_PASSWORD": "wrong-pass"}))}, app(root, "app", in))
	wantErr(t, err, "the registry refused access (Unauthorized) with the credentials of chartRegistries[1] in .pipe/config.yaml (username reader)")
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("the error shows the password")
	}
	m := mustRender(t, &Renderer{HTTP: &http.Client{}, ChartRegistries: registries(env(map[string]string{"REGISTRY_PASSWORD": "s3cret"}))}, app(root, "app", in))
	if got := m.Objects[1].Source.Chart; got != "oci://"+reg.Host+"/charts/web@0.1.0" {
		t.Errorf("chart %s", got)
	}

	// The Docker credential file ($DOCKER_CONFIG/config.json).
	writeDockerConfig := func(pass string) {
		auth := base64.StdEncoding.EncodeToString([]byte("reader:" + pass))
		os.MkdirAll(dockerDir, 0o755)
		if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{"`+reg.Host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeDockerConfig("stale")
	err = renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", in))
	wantErr(t, err, "the registry refused access (Unauthorized) with the credentials of the Docker credential file "+filepath.Join(dockerDir, "config.json")+":")
	writeDockerConfig("s3cret")
	mustRender(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", in))
	// chartRegistries come first.
	err = renderErr(t, &Renderer{HTTP: &http.Client{}, ChartRegistries: registries(env(map[string]string{"REGISTRY_PASSWORD": "wrong-pass"}))}, app(root, "app", in))
	wantErr(t, err, "chartRegistries[1]")
	// A Docker credential file that does not parse is named.
	os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte("{"), 0o600)
	err = renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", in))
	wantErr(t, err, "reading the credentials of "+reg.Host+" from the Docker credential file "+filepath.Join(dockerDir, "config.json")+": parsing config file")
}

func TestChartRegistriesFromConfig(t *testing.T) {
	regs, err := ChartRegistriesFromConfig([]config.ChartRegistry{
		{Type: "OCI", Address: "ghcr.io"},
		{Type: "OCI", Address: "oci://registry.example.com:5000/", Username: "u", PasswordFile: "/nonexistent/password"},
		{Type: "OCI", Address: "https://docker.io"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, r := range regs {
		addrs = append(addrs, r.Address)
	}
	if strings.Join(addrs, " ") != "ghcr.io registry.example.com:5000 docker.io" {
		t.Errorf("addresses %q", addrs)
	}
	// The file is read when needed, and then named.
	_, err = regs[1].password.get()
	wantErr(t, err, "chart registry registry.example.com:5000: chartRegistries[1].passwordFile in .pipe/config.yaml: cannot read /nonexistent/password")
	for _, bad := range []string{"", "ghcr.io/org", "HTTP://x y"} {
		_, err := ChartRegistriesFromConfig([]config.ChartRegistry{{Type: "OCI", Address: bad}}, nil)
		wantErr(t, err, "chartRegistries[0].address \""+bad+"\" in .pipe/config.yaml is not a registry host")
	}
}

// Plain http goes to this machine only: the registry client would use it
// for private addresses, with credentials.
func TestRegistryTransportRefusesPlainHTTP(t *testing.T) {
	var sent []string
	tr := registryTransport{base: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.URL.String())
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})}
	for _, u := range []string{"http://10.1.2.3:5000/v2/", "http://registry.local/v2/", "http://192.168.1.1/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err := tr.RoundTrip(req)
		wantErr(t, err, "refusing plain http to", "chart registries are reached over https")
	}
	for _, u := range []string{"http://127.0.0.1:5000/v2/", "http://localhost:5000/v2/", "http://[::1]:5000/v2/", "https://10.1.2.3/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := tr.RoundTrip(req); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if len(sent) != 4 {
		t.Errorf("sent %q", sent)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
