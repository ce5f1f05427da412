package render

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// pushFiles commits files (slash paths to contents; "" deletes,
// "symlink:target" makes a symlink) to the main branch of the bare repository root/name, created when missing,
// tags the commit when tag is set, and returns the commit.
func pushFiles(t *testing.T, root, name string, files map[string]string, tag string) string {
	t.Helper()
	bare := filepath.Join(root, name)
	if _, err := os.Stat(bare); err != nil {
		gitserver.NewBareRepo(t, root, name)
	}
	work := filepath.Join(t.TempDir(), "work")
	gitserver.Git(t, root, "clone", "--quiet", bare, work)
	plain := map[string]string{}
	for p, content := range files {
		switch target, link := strings.CutPrefix(content, "symlink:"); {
		case content == "":
			gitserver.Git(t, work, "rm", "--quiet", "-r", p)
		case link:
			if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(work, filepath.FromSlash(p))); err != nil {
				t.Fatal(err)
			}
		default:
			plain[p] = content
		}
	}
	writeFiles(t, work, plain)
	gitserver.Git(t, work, "add", "-A")
	gitserver.Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "update")
	if tag != "" {
		gitserver.Git(t, work, "tag", tag)
	}
	gitserver.Git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/main", "--tags")
	return strings.TrimSpace(gitserver.Git(t, work, "rev-parse", "HEAD"))
}

// helloworldBase is a small kustomization/helloworld base, like the one of
// PipeCD's manifests repository: a Deployment and a Service.
func helloworldBase(image string) map[string]string {
	return map[string]string{
		"kustomization/helloworld/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- service.yaml\n",
		"kustomization/helloworld/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: helloworld
  labels:
    app: helloworld
spec:
  replicas: 1
  selector:
    matchLabels:
      app: helloworld
  template:
    metadata:
      labels:
        app: helloworld
    spec:
      containers:
      - name: helloworld
        image: ` + image + `
        args: [server]
        ports:
        - containerPort: 9085
`,
		"kustomization/helloworld/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: helloworld
spec:
  selector:
    app: helloworld
  ports:
  - protocol: TCP
    port: 9085
    targetPort: 9085
`,
	}
}

// gitRenderer renders with a GoGitFetcher caching in cache (a new
// directory when "").
func gitRenderer(t *testing.T, cache string, offline bool) *Renderer {
	t.Helper()
	if cache == "" {
		cache = t.TempDir()
	}
	return &Renderer{Git: &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Offline: offline}, Offline: offline}
}

func kustomizeApp(t *testing.T, kustomization string, files map[string]string) KubernetesApp {
	t.Helper()
	all := map[string]string{"app/kustomization.yaml": kustomization}
	for k, v := range files {
		all[k] = v
	}
	return app(writeFiles(t, t.TempDir(), all), "app", config.KubernetesDeploymentInput{})
}

func imageOf(t *testing.T, m *Manifests, kind string) string {
	t.Helper()
	for _, o := range m.Objects {
		if o.Object.GetKind() == kind {
			return containerImage(t, o.Object)
		}
	}
	t.Fatalf("no %s in %v", kind, keyStrings(m))
	return ""
}

func TestKustomizeRemoteBaseOverHTTP(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	v1 := pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.1.0"), "v1")
	v2 := pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.2.0"), "v2")
	url := srv.RepoURL("manifests.git")
	r := gitRenderer(t, "", false)
	for _, c := range []struct{ entry, image string }{
		{"resources:\n- " + url + "//kustomization/helloworld?ref=v1", "v0.1.0"},
		{"resources:\n- " + url + "/kustomization/helloworld?ref=v2", "v0.2.0"},
		{"resources:\n- " + url + "//kustomization/helloworld?version=v1", "v0.1.0"},
		{"bases:\n- " + url + "//kustomization/helloworld?ref=" + v1, "v0.1.0"},
		{"resources:\n- git::" + url + "//kustomization/helloworld?ref=" + v2 + "&timeout=60", "v0.2.0"},
	} {
		m := mustRender(t, r, kustomizeApp(t, c.entry+"\nnamePrefix: x-\n", nil))
		wantKeys(t, m, ":Service:default:x-helloworld", "apps:Deployment:default:x-helloworld")
		if img := imageOf(t, m, "Deployment"); img != "gcr.io/pipecd/helloworld:"+c.image {
			t.Errorf("%s: image %s", c.entry, img)
		}
		if s := m.Objects[0].Source; s.File != "app/kustomization.yaml" {
			t.Errorf("source = %+v", s)
		}
	}

	err := renderErr(t, r, kustomizeApp(t, "resources:\n- "+url+"//kustomization/helloworld\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2: resources", "no ref: pin the remote base")
	err = renderErr(t, r, kustomizeApp(t, "resources:\n- cm.yaml\n- "+url+"//kustomization/nothing?ref=v1\n", nil))
	wantErr(t, err, "app/kustomization.yaml:3: resources", "kustomization/nothing: no such directory at v1")
	err = renderErr(t, r, kustomizeApp(t, "resources:\n- "+url+"//kustomization/helloworld/service.yaml?ref=v1\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2", "kustomization/helloworld/service.yaml is a file at v1")
	err = renderErr(t, r, kustomizeApp(t, "resources:\n- "+srv.RepoURL("missing.git")+"//x?ref=v1\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2", "fetch "+srv.RepoURL("missing.git"))
	err = renderErr(t, r, kustomizeApp(t, "resources:\n- "+url+"//kustomization/helloworld?ref=v9\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2", `ref "v9": no such tag or branch`)
}

// A remote base with its own local and remote bases, over two
// repositories; and the same base twice (a diamond) is fetched once.
func TestKustomizeNestedRemoteBases(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	base := pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.1.0"), "")
	pushFiles(t, remotes, "apps.git", map[string]string{
		"overlays/prod/kustomization.yaml": "resources:\n- ../../common\n- " + srv.RepoURL("manifests.git") + "//kustomization/helloworld?ref=" + base + "\nnamespace: prod\n",
		"common/kustomization.yaml":        "resources: [cm.yaml]\n",
		"common/cm.yaml":                   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: common}\n",
		"overlays/dev/kustomization.yaml":  "resources:\n- " + srv.RepoURL("manifests.git") + "//kustomization/helloworld?ref=" + base + "\nnamespace: dev\n",
	}, "v1")
	r := gitRenderer(t, "", false)
	m := mustRender(t, r, kustomizeApp(t, "resources:\n- "+srv.RepoURL("apps.git")+"//overlays/prod?ref=v1\nnamePrefix: app-\n", nil))
	wantKeys(t, m, ":ConfigMap:prod:app-common", ":Service:prod:app-helloworld", "apps:Deployment:prod:app-helloworld")
	fetcher := r.Git.(*GoGitFetcher)
	if left, _ := os.ReadDir(fetcher.TempDir); len(left) != 0 {
		t.Errorf("fetched trees left behind: %v", left)
	}

	// Two overlays of apps.git@v1, each on manifests.git's base.
	counted := &countingFetcher{GitFetcher: fetcher}
	r.Git = counted
	m = mustRender(t, r, kustomizeApp(t, "resources:\n- "+srv.RepoURL("apps.git")+"//overlays/prod?ref=v1\n- "+srv.RepoURL("apps.git")+"//overlays/dev?ref=v1\n", nil))
	wantKeys(t, m, ":ConfigMap:prod:common", ":Service:dev:helloworld", ":Service:prod:helloworld", "apps:Deployment:dev:helloworld", "apps:Deployment:prod:helloworld")
	want := map[string]int{srv.RepoURL("apps.git") + "@v1": 1, srv.RepoURL("manifests.git") + "@" + base: 1}
	if !maps.Equal(counted.fetches, want) {
		t.Errorf("fetches %v, want %v", counted.fetches, want)
	}
}

// countingFetcher counts the fetches of each remote@ref.
type countingFetcher struct {
	GitFetcher
	mu      sync.Mutex
	fetches map[string]int
}

func (c *countingFetcher) Fetch(ctx context.Context, remote, ref, sub string) (string, func(), error) {
	c.mu.Lock()
	if c.fetches == nil {
		c.fetches = map[string]int{}
	}
	c.fetches[remote+"@"+ref]++
	c.mu.Unlock()
	return c.GitFetcher.Fetch(ctx, remote, ref, sub)
}

func TestKustomizeRemoteBaseCycle(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	a, b := srv.RepoURL("a.git")+"//base?ref=v1", srv.RepoURL("b.git")+"//base?ref=v1"
	pushFiles(t, remotes, "a.git", map[string]string{"base/kustomization.yaml": "resources:\n- " + b + "\n"}, "v1")
	pushFiles(t, remotes, "b.git", map[string]string{"base/kustomization.yaml": "resources:\n- " + a + "\n"}, "v1")
	err := renderErr(t, gitRenderer(t, "", false), kustomizeApp(t, "resources:\n- "+a+"\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2: resources", "cycle: "+a+" → "+b+" → "+a)
}

// Everything a remote base reads stays in its repository.
func TestKustomizeRemoteBaseConfined(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
	pushFiles(t, remotes, "evil.git", map[string]string{
		"up/kustomization.yaml":     "resources:\n- ../../../../../../../../../../etc\n",
		"patch/kustomization.yaml":  "resources: [cm.yaml]\npatches:\n- path: ../../../../../../../secret.yaml\n",
		"patch/cm.yaml":             cm,
		"abs/kustomization.yaml":    "resources:\n- /etc/passwd\n",
		"plugin/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
		"plugin/cm.yaml":            cm,
		"plugin/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: ../../../x.yaml\n",
		"ok/kustomization.yaml":     "resources:\n- ../shared\n",
		"shared/kustomization.yaml": "resources: [cm.yaml]\n",
		"shared/cm.yaml":            cm,
	}, "v1")
	pushFiles(t, remotes, "link.git", map[string]string{
		"base/kustomization.yaml": "resources: [cm.yaml]\n",
		"base/cm.yaml":            "symlink:/etc/hostname",
	}, "v1")
	r := gitRenderer(t, "", false)
	url := srv.RepoURL("evil.git")
	m := mustRender(t, r, kustomizeApp(t, "resources:\n- "+url+"//ok?ref=v1\n", nil))
	wantKeys(t, m, ":ConfigMap:default:x")
	for dir, want := range map[string]string{
		"up":     `up/kustomization.yaml:2: resources: "../../../../../../../../../../etc": points outside the remote base's repository`,
		"patch":  `patch/kustomization.yaml:3: patches.path: "../../../../../../../secret.yaml": points outside the remote base's repository`,
		"abs":    `abs/kustomization.yaml:2: resources: "/etc/passwd": an absolute path in a remote base`,
		"plugin": `plugin/t.yaml: transformers: PatchTransformer refers to "../../../x.yaml", outside the remote base`,
	} {
		err := renderErr(t, r, kustomizeApp(t, "resources:\n- "+url+"//"+dir+"?ref=v1\n", nil))
		wantErr(t, err, "app/kustomization.yaml:2: resources", url+"@v1:"+want)
	}
	// A symlink out of the repository: the fetch refuses the tree.
	err := renderErr(t, r, kustomizeApp(t, "resources:\n- "+srv.RepoURL("link.git")+"//base?ref=v1\n", nil))
	wantErr(t, err, "app/kustomization.yaml:2: resources", "base/cm.yaml")
}

func TestKustomizeRemoteBaseOfflineAndCached(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	commit := pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.1.0"), "v1")
	proxy := stoppableProxy(t, srv.URL)
	url := proxy.URL + "/manifests.git//kustomization/helloworld?ref="
	cache := t.TempDir()
	online := gitRenderer(t, cache, false)
	for _, ref := range []string{"v1", commit} {
		mustRender(t, online, kustomizeApp(t, "resources:\n- "+url+ref+"\n", nil))
	}
	proxy.Close()
	// The commit is in the cache: no server needed, online or offline.
	m := mustRender(t, online, kustomizeApp(t, "resources:\n- "+url+commit+"\n", nil))
	wantKeys(t, m, ":Service:default:helloworld", "apps:Deployment:default:helloworld")
	offline := gitRenderer(t, cache, true)
	for _, ref := range []string{"v1", commit} {
		m := mustRender(t, offline, kustomizeApp(t, "resources:\n- "+url+ref+"\n", nil))
		wantKeys(t, m, ":Service:default:helloworld", "apps:Deployment:default:helloworld")
	}
	err := renderErr(t, offline, kustomizeApp(t, "namePrefix: x-\nresources:\n- "+url+"v2\n", nil))
	wantErr(t, err, "app/kustomization.yaml:3: resources", proxy.URL+"/manifests.git at v2 is not in the download cache ("+filepath.Join(cache, "git"),
		"rendering is offline", "render once with the network")
}

func TestKustomizeRemoteFile(t *testing.T) {
	files := map[string]string{
		"/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\ndata: {a: b}\n",
		"/big.yaml": strings.Repeat("#", maxFileSize+1),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, b)
	}))
	t.Cleanup(srv.Close)
	r := &Renderer{HTTP: srv.Client()}
	m := mustRender(t, r, kustomizeApp(t, "resources:\n- local.yaml\n- "+srv.URL+"/cm.yaml\nnamePrefix: p-\n", map[string]string{
		"app/local.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\n",
	}))
	wantKeys(t, m, ":ConfigMap:default:p-local", ":ConfigMap:default:p-remote")
	if v, _, _ := unstructured.NestedString(m.Objects[1].Object.Object, "data", "a"); v != "b" {
		t.Errorf("remote ConfigMap = %v", m.Objects[1].Object.Object)
	}
	wantErr(t, renderErr(t, r, kustomizeApp(t, "resources:\n- "+srv.URL+"/none.yaml\n", nil)),
		"app/kustomization.yaml:2: resources", "404 Not Found")
	wantErr(t, renderErr(t, r, kustomizeApp(t, "resources:\n- "+srv.URL+"/big.yaml\n", nil)),
		"app/kustomization.yaml:2: resources", "is larger than")
	// An entry kustomize sees through a YAML merge key: pipe cannot point
	// it at the downloaded copy, and refuses rather than let kustomize
	// fetch it.
	merged := "helmCharts:\n- name: web\n  valuesInline: &m\n    resources:\n    - " + srv.URL + "/cm.yaml\n<<: *m\n"
	wantErr(t, renderErr(t, r, kustomizeApp(t, merged, nil)), "app/kustomization.yaml: resources", "could not rewrite this entry")
	// Offline, a remote file comes from the download cache of a run that
	// had network, or fails naming it.
	cache := t.TempDir()
	online := &Renderer{HTTP: srv.Client(), CacheDir: cache}
	mustRender(t, online, kustomizeApp(t, "resources:\n- "+srv.URL+"/cm.yaml\n", nil))
	off := &Renderer{HTTP: srv.Client(), CacheDir: cache, Offline: true}
	m = mustRender(t, off, kustomizeApp(t, "resources:\n- "+srv.URL+"/cm.yaml\n", nil))
	wantKeys(t, m, ":ConfigMap:default:remote")
	empty := &Renderer{HTTP: srv.Client(), CacheDir: t.TempDir(), Offline: true}
	wantErr(t, renderErr(t, empty, kustomizeApp(t, "resources:\n- "+srv.URL+"/cm.yaml\n", nil)),
		"app/kustomization.yaml:2: resources", "offline: the kustomize resource "+srv.URL+"/cm.yaml is not in the download cache")
}
