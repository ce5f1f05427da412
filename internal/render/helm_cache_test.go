package render

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
)

// corruptBlob overwrites a cached blob (digest "sha256:<hex>" or hex).
func corruptBlob(t *testing.T, cacheDir, digest string) {
	t.Helper()
	h, ok := fetchcache.ParseDigest(digest)
	if !ok {
		t.Fatalf("digest %q", digest)
	}
	p := filepath.Join(cacheDir, "blobs", "sha256", h)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the blob is not cached: %v", err)
	}
	if err := os.WriteFile(p, []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func renderedChart(t *testing.T, r *Renderer, a KubernetesApp) string {
	t.Helper()
	return mustRender(t, r, a).Objects[1].Source.Chart
}

// A chart repository's charts and index go through the cache: an exact
// version cached needs no network at all (a CI job with a restored
// cache), offline rendering reads the cached index, a corrupt blob is
// fetched again online and missing offline.
func TestChartRepositoryCache(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	cacheDir := t.TempDir()
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	repos := func(password string) []ChartRepo {
		rs, err := ChartReposFromConfig([]config.ChartRepository{
			{Type: "HTTP", Name: "example", Address: srv.URL + "/charts", Username: "reader", PasswordEnv: "CHARTS_PASSWORD"},
		}, func(string) string { return password })
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	online := func() *Renderer {
		return &Renderer{HTTP: srv.Client(), ChartRepos: repos("s3cret"), CacheDir: cacheDir}
	}
	offline := func() *Renderer { return &Renderer{ChartRepos: repos(""), CacheDir: cacheDir, Offline: true} }
	render := func(r *Renderer, version string) string {
		return renderedChart(t, r, app(root, "app", repoInput("web", version)))
	}

	r := online()
	if got := render(r, "0.1.0"); got != "example/web@0.1.0" {
		t.Fatalf("chart %s", got)
	}
	if got := render(r, "~0.2"); got != "example/web@0.2.0" {
		t.Fatalf("chart %s", got)
	}
	// Another run with the cache: an exact version fetches nothing.
	before := srv.requests.Load()
	render(online(), "0.1.0")
	render(online(), "0.2.0")
	if n := srv.requests.Load() - before; n != 0 {
		t.Errorf("%d requests for cached exact versions", n)
	}

	// A corrupt archive is fetched again online, and is missing offline.
	idx, err := parseIndex(srv.files["/charts/index.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	cv, _ := idx.get("web", "0.1.0")
	corruptBlob(t, cacheDir, cv.Digest)
	before = srv.requests.Load()
	if got := render(online(), "0.1.0"); got != "example/web@0.1.0" {
		t.Errorf("chart %s", got)
	}
	if n := srv.requests.Load() - before; n != 2 {
		t.Errorf("%d requests to fetch a corrupt archive again, want 2 (index and archive)", n)
	}
	corruptBlob(t, cacheDir, cv.Digest)
	err = renderErr(t, offline(), app(root, "app", repoInput("web", "0.1.0")))
	wantErr(t, err, "offline: chart example/web@0.1.0 of repository example ("+srv.URL+"/charts) is not in the download cache "+cacheDir+
		": run once with network (without --offline) to fill it, or restore the cache directory")
	render(online(), "0.1.0")

	// The server gone: what the cache holds renders, online or offline,
	// with the password unset (it is not needed).
	srv.Close()
	noPassword := &Renderer{HTTP: srv.Client(), ChartRepos: repos(""), CacheDir: cacheDir}
	for _, v := range []string{"0.1.0", "0.2.0"} {
		if got := render(noPassword, v); got != "example/web@"+v {
			t.Errorf("chart %s", got)
		}
	}
	for version, want := range map[string]string{"0.1.0": "0.1.0", "~0.2": "0.2.0", "": "0.2.0", ">=0.1.0 <0.2.0": "0.1.0"} {
		if got := render(offline(), version); got != "example/web@"+want {
			t.Errorf("offline %q: chart %s, want %s", version, got, want)
		}
	}
	err = renderErr(t, offline(), app(root, "app", repoInput("web", "0.3.0-rc.1")))
	wantErr(t, err, "offline: chart example/web@0.3.0-rc.1 of repository example", "not in the download cache "+cacheDir)
	// A range needs the index online: the server is gone.
	err = renderErr(t, online(), app(root, "app", repoInput("web", "~0.2")))
	wantErr(t, err, "chart repository example ("+srv.URL+"/charts)", "connection refused")

	// An index never cached.
	other := &Renderer{ChartRepos: []ChartRepo{{Name: "other", URL: "https://charts.example.com/stable"}}, CacheDir: cacheDir, Offline: true}
	err = renderErr(t, other, app(root, "app", chartInput("other", "web", "1.0.0")))
	wantErr(t, err, "offline: the index of chart repository other (https://charts.example.com/stable) is not in the download cache "+cacheDir)
	// Offline with no cache directory.
	err = renderErr(t, &Renderer{ChartRepos: repos(""), Offline: true}, app(root, "app", repoInput("web", "0.1.0")))
	wantErr(t, err, "offline: the index of chart repository example", "no download cache directory is set")
}

// Remote values files are fetched each time online (they may change),
// and read from the cache offline.
func TestRemoteValuesFileCache(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.URL.Path != "/values.yaml" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "replicaCount: %d\n", n)
	}))
	t.Cleanup(srv.Close)
	cacheDir := t.TempDir()
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	in := func(u string) config.KubernetesDeploymentInput {
		in := repoInput("web", "0.1.0")
		in.HelmOptions = &config.InputHelmOptions{ValueFiles: []string{u}}
		return in
	}
	charts := newChartRepo(t, false, nil)
	replicas := func(r *Renderer, u string) int64 {
		t.Helper()
		m := mustRender(t, r, app(root, "app", in(u)))
		n, _, _ := unstructuredInt(m.Objects[2].Object.Object, "spec", "replicas")
		return n
	}
	online := &Renderer{HTTP: charts.Client(), ChartRepos: []ChartRepo{charts.repo(false)}, CacheDir: cacheDir}
	values := srv.URL + "/values.yaml?token=abc123"
	if n := replicas(online, values); n != 1 {
		t.Errorf("replicas %d", n)
	}
	if n := replicas(online, values); n != 2 {
		t.Errorf("replicas %d: the values file was not fetched again", n)
	}
	offline := &Renderer{ChartRepos: []ChartRepo{charts.repo(false)}, CacheDir: cacheDir, Offline: true}
	if n := replicas(offline, values); n != 2 {
		t.Errorf("offline: replicas %d, want the last fetched", n)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests", n)
	}
	err := renderErr(t, offline, app(root, "app", in(srv.URL+"/other.yaml?token=abc123")))
	wantErr(t, err, "helmOptions.valueFiles[0]: offline: the values file "+srv.URL+"/other.yaml?token=*** is not in the download cache "+cacheDir)
	if strings.Contains(err.Error(), "abc123") {
		t.Error("the error shows the token")
	}
}

// OCI charts go through the cache: a tag's manifest and its layer, and
// the tags listed to resolve a range.
func TestOCIChartCache(t *testing.T) {
	isolateDockerConfig(t)
	reg, _ := webRegistry(t, "", "")
	cacheDir := t.TempDir()
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	repo := "oci://" + reg.Host + "/charts"
	online := func() *Renderer { return &Renderer{HTTP: &http.Client{}, CacheDir: cacheDir} }
	offline := func() *Renderer { return &Renderer{CacheDir: cacheDir, Offline: true} }
	render := func(r *Renderer, version string) string {
		return strings.TrimPrefix(renderedChart(t, r, app(root, "app", chartInput(repo, "web", version))), repo+"/web@")
	}
	if got := render(online(), "~0.1"); got != "0.1.0" {
		t.Fatalf("chart %s", got)
	}
	if got := render(online(), "0.2.0"); got != "0.2.0" {
		t.Fatalf("chart %s", got)
	}
	before := reg.Served.Load()
	render(online(), "0.1.0")
	render(online(), "0.2.0")
	if n := reg.Served.Load() - before; n != 0 {
		t.Errorf("%d requests for cached tags", n)
	}

	// The layer of 0.1.0, corrupted: fetched again online, missing offline.
	ch := chartArchive(t, webChart(t, "0.1.0"))
	layer := fetchcache.Digest(ch)
	corruptBlob(t, cacheDir, layer)
	before = reg.Served.Load()
	render(online(), "0.1.0")
	if reg.Served.Load() == before {
		t.Error("a corrupt layer was not fetched again")
	}
	corruptBlob(t, cacheDir, layer)
	err := renderErr(t, offline(), app(root, "app", chartInput(repo, "web", "0.1.0")))
	wantErr(t, err, "offline: the chart layer "+layer+" of the OCI chart "+repo+"/web:0.1.0 is not in the download cache "+cacheDir)
	render(online(), "0.1.0")

	// The registry gone: the cache serves exact tags online, and offline
	// ranges over the tags listed last.
	reg.Close()
	for _, v := range []string{"0.1.0", "0.2.0"} {
		if got := render(online(), v); got != v {
			t.Errorf("chart %s", got)
		}
	}
	for version, want := range map[string]string{"0.1.0": "0.1.0", "~0.1": "0.1.0", ">=0.2.0 <1.0.0": "0.2.0"} {
		if got := render(offline(), version); got != want {
			t.Errorf("offline %q: chart %s, want %s", version, got, want)
		}
	}
	err = renderErr(t, offline(), app(root, "app", chartInput(repo, "web", "")))
	wantErr(t, err, "offline: the OCI chart "+repo+"/web:1.0.0_build.1 is not in the download cache "+cacheDir)
	err = renderErr(t, offline(), app(root, "app", chartInput(repo, "api", "~1")))
	wantErr(t, err, `offline: the tags of `+repo+`/api (to resolve version "~1"; an exact version needs no list) is not in the download cache`)
}
