package render

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"
)

// chartRepoServer serves a chart repository built in the test: the chart
// of testdata packaged as web 0.1.0 and 0.2.0 (and 0.3.0-rc.1), with an
// index.yaml, behind basic auth.
type chartRepoServer struct {
	*httptest.Server
	indexHits atomic.Int32
	files     map[string][]byte
	// requests counts every request, answered or not.
	requests atomic.Int32
	// anonymous serves without credentials.
	anonymous atomic.Bool
}

func newChartRepo(t *testing.T, tls bool, mutate func(idx *chartIndex)) *chartRepoServer {
	t.Helper()
	s := &chartRepoServer{files: map[string][]byte{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if u, p, ok := r.BasicAuth(); !s.anonymous.Load() && (!ok || u != "reader" || p != "s3cret") {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/charts/index.yaml" {
			s.indexHits.Add(1)
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	s.Server = httptest.NewUnstartedServer(h)
	// Keep the handshake failures of the insecure test out of the output.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)

	idx := &chartIndex{APIVersion: "v1", Entries: map[string][]*chartVersion{}}
	for _, v := range []string{"0.1.0", "0.2.0", "0.3.0-rc.1"} {
		cv := s.addArchive(t, webChart(t, v))
		idx.Entries[cv.Name] = append(idx.Entries[cv.Name], cv)
	}
	if mutate != nil {
		mutate(idx)
	}
	b, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	s.files["/charts/index.yaml"] = b
	return s
}

// addArchive packages a chart like `helm package`, serves the archive
// under /charts/archives/, and returns its index entry (the caller adds
// it to the index).
func (s *chartRepoServer) addArchive(t testing.TB, ch *chart.Chart) *chartVersion {
	t.Helper()
	data := chartArchive(t, ch)
	name := ch.Name() + "-" + ch.Metadata.Version + ".tgz"
	s.files["/charts/archives/"+name] = data
	md := *ch.Metadata
	return &chartVersion{Metadata: &md, URLs: []string{"archives/" + name}, Digest: strings.TrimPrefix(fetchcache.Digest(data), "sha256:")}
}

func (s *chartRepoServer) repo(insecure bool) ChartRepo {
	return ChartRepo{Name: "example", URL: s.URL + "/charts", Username: "reader", Password: "s3cret", Insecure: insecure}
}

func repoInput(name, version string) config.KubernetesDeploymentInput {
	return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: "example", Name: name, Version: version}}
}

func TestHelmChartRepository(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/values.yaml": "replicaCount: 5\n"})
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}

	in := repoInput("web", "0.1.0")
	in.HelmOptions = &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}
	m := mustRender(t, r, app(root, "app", in))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:default:demo-web",
		"apps:Deployment:default:demo-web",
		"example.com:Widget::demo-web",
	)
	dep := m.Objects[2]
	if dep.Source.Chart != "example/web@0.1.0" || dep.Source.File != "web/templates/deployment.yaml" {
		t.Errorf("source = %+v", dep.Source)
	}
	if v := dep.Object.GetLabels()["app.kubernetes.io/name"]; v != "web" {
		t.Errorf("labels = %v", dep.Object.GetLabels())
	}

	for version, want := range map[string]string{"": "0.2.0", "~0.1": "0.1.0", "0.3.0-rc.1": "0.3.0-rc.1", ">=0.1.0 <1.0.0": "0.2.0"} {
		m := mustRender(t, r, app(root, "app", repoInput("web", version)))
		if got := m.Objects[1].Source.Chart; got != "example/web@"+want {
			t.Errorf("version %q: chart %s, want %s", version, got, want)
		}
	}
	if n := srv.indexHits.Load(); n != 1 {
		t.Errorf("index.yaml downloaded %d times by one renderer, want 1", n)
	}

	// The other ways to name a repository: "@name", "alias:name" (Chart.yaml's
	// forms), and its URL, which takes the configured repository's
	// credentials.
	for _, repository := range []string{"@example", "alias:example", srv.URL + "/charts", srv.URL + "/charts/"} {
		in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: repository, Name: "web", Version: "0.2.0"}}
		m := mustRender(t, r, app(root, "app", in))
		if got := m.Objects[1].Source.Chart; !strings.HasSuffix(got, "/web@0.2.0") {
			t.Errorf("repository %q: chart %s", repository, got)
		}
	}
}

// A repository URL that no chartRepositories entry has is read without
// credentials (a dependency of Chart.lock on a public repository).
func TestHelmChartRepositoryURL(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: srv.URL + "/charts", Name: "web", Version: "~0.1"}}
	err := renderErr(t, &Renderer{HTTP: srv.Client()}, app(root, "app", in))
	wantErr(t, err, "chart repository "+srv.URL+"/charts", "401 Unauthorized")
	srv.anonymous.Store(true)
	m := mustRender(t, &Renderer{HTTP: srv.Client()}, app(root, "app", in))
	if got := m.Objects[1].Source.Chart; got != srv.URL+"/charts/web@0.1.0" {
		t.Errorf("chart %s", got)
	}
	in.HelmChart.Repository += "/"
	m = mustRender(t, &Renderer{HTTP: srv.Client()}, app(root, "app", in))
	if got := m.Objects[1].Source.Chart; got != srv.URL+"/charts/web@0.1.0" {
		t.Errorf("with a trailing slash: chart %s", got)
	}
}

func TestHelmChartRepositoryErrors(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	bad := newChartRepo(t, false, func(idx *chartIndex) {
		idx.Entries["web"][0].Digest = strings.Repeat("0", 64)
	})
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	wrongPass := srv.repo(false)
	wrongPass.Password = "nope"
	cases := []struct {
		name string
		r    *Renderer
		in   config.KubernetesDeploymentInput
		want []string
	}{
		{"no such version", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}, repoInput("web", "9.9.9"),
			[]string{"app/app.pipecd.yaml", "chart example/web: no version 9.9.9", "it has 0.3.0-rc.1, 0.2.0, 0.1.0"}},
		{"no matching version", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}, repoInput("web", "^1.0"),
			[]string{"chart example/web: no version ^1.0 in the repository index (it has 0.3.0-rc.1, 0.2.0, 0.1.0)"}},
		{"bad constraint", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}, repoInput("web", "not a version"),
			[]string{`version "not a version" is neither a version nor a semver constraint`}},
		{"no such chart", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}, repoInput("api", "1.0.0"),
			[]string{`chart "api" is not in chart repository example (` + srv.URL + "/charts)"}},
		{"unknown repository", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}},
			config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: "other", Name: "web"}},
			[]string{`"other" is not a configured chart repository`, "chartRepositories in .pipe/config.yaml: example"}},
		{"no repository configured", &Renderer{HTTP: srv.Client()},
			config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: "other", Name: "web"}},
			[]string{`helmChart.repository "other": no chart repository is configured`, "https:// URL"}},
		{"wrong password", &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{wrongPass}}, repoInput("web", "0.1.0"),
			[]string{"chart repository example", "401 Unauthorized"}},
		{"digest mismatch", &Renderer{HTTP: bad.Client(), ChartRepos: []ChartRepo{bad.repo(false)}}, repoInput("web", "0.1.0"),
			[]string{"chart example/web@0.1.0: the archive downloaded from " + bad.URL + "/charts/archives/web-0.1.0.tgz has digest sha256:", "not the index's sha256:000000", "nothing was rendered from it"}},
		{"no HTTP client", &Renderer{ChartRepos: []ChartRepo{srv.repo(false)}}, repoInput("web", "0.1.0"),
			[]string{"no HTTP client"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := renderErr(t, c.r, app(root, "app", c.in))
			wantErr(t, err, c.want...)
		})
	}
}

func TestHelmChartRepositoryInsecure(t *testing.T) {
	srv := newChartRepo(t, true, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	// A client that does not trust the test server's certificate.
	client := &http.Client{Transport: &http.Transport{}}
	err := renderErr(t, &Renderer{HTTP: client, ChartRepos: []ChartRepo{srv.repo(false)}}, app(root, "app", repoInput("web", "0.1.0")))
	wantErr(t, err, "certificate")
	m := mustRender(t, &Renderer{HTTP: client, ChartRepos: []ChartRepo{srv.repo(true)}}, app(root, "app", repoInput("web", "0.1.0")))
	if len(m.Objects) != 4 {
		t.Errorf("%d objects", len(m.Objects))
	}
}

// countingTransport wraps a transport, as the CLI's guards do, counting
// the requests it is given.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.base.RoundTrip(req)
}

// TestHelmChartRepositoryInsecureWrappedTransport: `insecure: true`
// cannot turn off verification in a transport that is not an
// *http.Transport; it fails naming the repository instead of verifying
// anyway.
func TestHelmChartRepositoryInsecureWrappedTransport(t *testing.T) {
	srv := newChartRepo(t, true, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	var n atomic.Int64
	// Verification on, with the server's certificate trusted: works.
	trusted := &http.Client{Transport: countingTransport{base: srv.Client().Transport, n: &n}}
	if m := mustRender(t, &Renderer{HTTP: trusted, ChartRepos: []ChartRepo{srv.repo(false)}}, app(root, "app", repoInput("web", "0.1.0"))); len(m.Objects) != 4 {
		t.Errorf("%d objects", len(m.Objects))
	}
	if n.Load() == 0 {
		t.Fatal("the wrapping transport was not used")
	}
	n.Store(0)
	for _, insecure := range []*http.Client{trusted, {Transport: countingTransport{base: &http.Transport{}, n: &n}}} {
		err := renderErr(t, &Renderer{HTTP: insecure, ChartRepos: []ChartRepo{srv.repo(true)}}, app(root, "app", repoInput("web", "0.1.0")))
		wantErr(t, err, "chart repository example ("+srv.URL+"/charts)", "`insecure: true` of chart repository example (chartRepositories in .pipe/config.yaml) cannot be applied",
			"render.countingTransport transport, not an *http.Transport")
		if n.Load() != 0 {
			t.Errorf("%d requests went out with verification on", n.Load())
		}
	}
}

func TestChartReposFromConfig(t *testing.T) {
	env := map[string]string{"CHARTS_PASSWORD": "from-env"}
	dir := t.TempDir()
	secret := writeFiles(t, dir, map[string]string{"charts": "from-file\n", "big": strings.Repeat("p", fsafe.MaxSecretSize+1)})
	getenv := func(k string) string { return env[k] }
	repos, err := ChartReposFromConfig([]config.ChartRepository{
		{Type: "HTTP", Name: "a", Address: "https://a.example.com", Username: "u", PasswordEnv: "CHARTS_PASSWORD"},
		{Type: "HTTP", Name: "b", Address: "https://b.example.com", Username: "u", PasswordFile: config.HostPath(filepath.Join(secret, "charts")), Insecure: true},
		{Type: "GIT", GitRemote: "git@github.com:org/charts.git"},
		{Type: "HTTP", Name: "c", Address: "https://c.example.com"},
		{Type: "HTTP", Name: "d", Address: "https://d.example.com", Username: "u", PasswordEnv: "UNSET_PASSWORD"},
	}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, url, user, pass string
		insecure              bool
	}{
		{"a", "https://a.example.com", "u", "from-env", false},
		{"b", "https://b.example.com", "u", "from-file", true},
		{"c", "https://c.example.com", "", "", false},
	}
	if len(repos) != 4 {
		t.Fatalf("repos = %+v", repos)
	}
	for i, w := range want {
		cr := repos[i]
		user, pass, err := cr.credentials()
		if err != nil || cr.Name != w.name || cr.URL != w.url || user != w.user || pass != w.pass || cr.Insecure != w.insecure {
			t.Errorf("repo %d = %+v (credentials %q, %q, %v), want %+v", i, cr, user, pass, err, w)
		}
	}
	// An unset variable fails when the password is needed, naming the
	// repository, the variable and the config file.
	_, _, err = repos[3].credentials()
	wantErr(t, err, "chart repository d: chartRepositories[4].passwordEnv in .pipe/config.yaml: the environment variable UNSET_PASSWORD is not set")

	_, err = ChartReposFromConfig([]config.ChartRepository{{Type: "HTTP", Name: "x", Address: "ftp://x.example.com"}}, getenv)
	wantErr(t, err, `chart repository x: chartRepositories[0].address "ftp://x.example.com" in .pipe/config.yaml is not an http(s) URL`)

	// A passwordFile is a regular file of bounded size; a named pipe does
	// not block; no error shows the content.
	pipe := filepath.Join(dir, "pipe")
	if err := mkfifo(pipe); err != nil {
		t.Logf("mkfifo: %v", err)
		pipe = ""
	}
	const prefix = "chart repository a: chartRepositories[0].passwordFile in .pipe/config.yaml: "
	for _, c := range []struct {
		file string
		want []string
	}{
		{filepath.Join(dir, "nope"), []string{prefix, "nope", "no such file"}},
		{filepath.Join(dir, "big"), []string{prefix, "big is 65537 bytes, more than the 64 KiB pipe reads from one file"}},
		{"/dev/zero", []string{prefix + "/dev/zero is a character device, not a regular file"}},
		{dir, []string{"is a directory, not a regular file"}},
		{pipe, []string{prefix, "pipe is a named pipe, not a regular file"}},
	} {
		if c.file == "" {
			continue
		}
		repos, err := ChartReposFromConfig([]config.ChartRepository{{Type: "HTTP", Name: "a", Address: "https://a.example.com", Username: "u", PasswordFile: config.HostPath(c.file)}}, getenv)
		if err != nil {
			t.Fatalf("%s: the file was read before it was needed: %v", c.file, err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := repos[0].credentials()
			done <- err
		}()
		select {
		case err := <-done:
			wantErr(t, err, c.want...)
			if strings.Contains(err.Error(), "ppppp") {
				t.Errorf("the error holds the file's content")
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: reading the passwordFile blocked", c.file)
		}
	}
}

// An unset passwordEnv fails only the applications that use a chart of
// its repository, not the others (nor the plan).
func TestChartRepositoryPasswordLazy(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{
		"plain/deployment.yaml": fmt.Sprintf(deployment, "plain"),
	})
	repos, err := ChartReposFromConfig([]config.ChartRepository{
		{Type: "HTTP", Name: "example", Address: srv.URL + "/charts", Username: "reader", PasswordEnv: "EXAMPLE_PASSWORD"},
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{HTTP: srv.Client(), ChartRepos: repos}
	mustRender(t, r, app(root, "plain", config.KubernetesDeploymentInput{}))
	err = renderErr(t, r, app(root, "plain", repoInput("web", "0.1.0")))
	wantErr(t, err, "chart repository example: chartRepositories[0].passwordEnv in .pipe/config.yaml: the environment variable EXAMPLE_PASSWORD is not set")
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests without the password", n)
	}
	repos, _ = ChartReposFromConfig([]config.ChartRepository{
		{Type: "HTTP", Name: "example", Address: srv.URL + "/charts", Username: "reader", PasswordEnv: "EXAMPLE_PASSWORD"},
	}, func(k string) string { return map[string]string{"EXAMPLE_PASSWORD": "s3cret"}[k] })
	mustRender(t, &Renderer{HTTP: srv.Client(), ChartRepos: repos}, app(root, "plain", repoInput("web", "0.1.0")))
}
