package cli

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/netguard"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"github.com/gitops-pipe/pipe/internal/testenv/proxyserver"
)

func downloadsApp(env map[string]string) *app {
	return &app{env: Env{Getenv: func(k string) string { return env[k] }}, secrets: redact.NewSet()}
}

// chartsRepo returns a directory holding charts.git, a repository whose
// main branch has a chart at its root.
func chartsRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	bare := gitserver.NewBareRepo(t, root, "charts.git")
	work := t.TempDir()
	gitserver.Git(t, work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "Chart.yaml"), []byte("apiVersion: v2\nname: web\nversion: 1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, work, "add", ".")
	gitserver.Git(t, work, "commit", "-q", "-m", "chart")
	gitserver.Git(t, work, "push", "-q", bare, "main")
	return root
}

// A pull request names the remote: anything but https, http or ssh with a
// public host is refused before go-git sees it, however go-git would have
// read it (a path, file:// in any case, git://).
func TestGuardedGitRefusesRemotesOnTheRunner(t *testing.T) {
	secret := gitserver.NewBareRepo(t, t.TempDir(), "secret.git")
	d := downloadsApp(nil).downloads(viper.New(), nil, true)
	for _, remote := range []string{
		"8.8.8.8/../../../../../../../.." + secret,
		"File://8.8.8.8" + secret,
		"FILE://" + secret,
		"file://" + secret,
		secret,
		"../secret.git",
		"git://8.8.8.8/secret.git",
		"https://127.0.0.1/secret.git",
		"ssh://git@169.254.169.254/secret.git",
		"git@10.0.0.1:org/secret.git",
	} {
		_, _, err := d.Git.Fetch(context.Background(), remote, "main", "")
		if err == nil {
			t.Errorf("%s: fetched", remote)
			continue
		}
		if !strings.Contains(err.Error(), "an unreviewed change may only") && !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("%s: %v", remote, err)
		}
	}
}

// Over HTTP, go-git goes through the guard's proxy: a configured server is
// reached, and its redirect to an internal address is not followed there.
func TestGuardedGitHTTPThroughTheProxy(t *testing.T) {
	root := chartsRepo(t)
	srv := gitserver.StartHTTP(t, root, gitserver.HTTPOptions{})
	internal := gitserver.StartHTTP(t, root, gitserver.HTTPOptions{})
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// localhost: loopback by another name than the configured 127.0.0.1.
		to := strings.Replace(internal.URL, "127.0.0.1", "localhost", 1)
		http.Redirect(w, r, to+strings.TrimPrefix(r.URL.RequestURI(), "/moved"), http.StatusFound)
	}))
	defer redirector.Close()

	cfg := &config.PipeSpec{ChartRepositories: []config.ChartRepository{
		{Type: "GIT", GitRemote: srv.RepoURL("charts.git")},
		{Type: "GIT", GitRemote: redirector.URL + "/moved/charts.git"},
	}}
	a := downloadsApp(nil)
	d := a.downloads(viper.New(), cfg, true)
	dir, cleanup, err := d.Git.Fetch(context.Background(), srv.RepoURL("charts.git"), "main", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatal(err)
	}
	cleanup()
	g := d.Git.(*guardedGit)
	if g.proxy == nil || g.next.ProxyURL != g.proxy.URL() {
		t.Fatalf("go-git was not given the proxy: %+v", g.next)
	}
	// The redirector is configured; where it sends go-git (loopback, by a
	// name that is not configured) is not reached.
	if _, _, err := d.Git.Fetch(context.Background(), redirector.URL+"/moved/charts.git", "main", ""); err == nil {
		t.Fatal("a redirect to an internal address was followed")
	}
	for _, f := range a.atEnd {
		f()
	}
}

func TestGitAuthOnPullRequestsUsesConfiguredKeysOnly(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "PIPE_SSH_KEY_FILE": "/runner/deploy-key", "SSH_AUTH_SOCK": "/tmp/agent"}
	auth := downloadsApp(env).gitAuth(nil, true)
	_, err := auth("git@github.com:someone/private.git")
	if err == nil || !strings.Contains(err.Error(), "never with the runner's own keys") {
		t.Fatalf("untrusted ssh with the runner's key: %v", err)
	}
	// https to github.com: no token in the environment, no credentials.
	if a, err := auth("https://github.com/org/charts.git"); a != nil || err != nil {
		t.Fatalf("https: %v %v", a, err)
	}
}

// On a runner whose network is reached through a proxy (HTTPS_PROXY in the
// run's environment), a pull request's downloads and Git fetches go
// through it as tunnels to the address the guard checked: the proxy never
// gets a name to resolve again.
func TestUntrustedDownloadsThroughTheEnvironmentsProxy(t *testing.T) {
	root := chartsRepo(t)
	gitSrv := gitserver.StartHTTP(t, root, gitserver.HTTPOptions{})
	values := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "replicas: 2\n") }))
	defer values.Close()

	// The runner's proxy: it reaches "8.8.8.8:80" (the test's public
	// host) and "8.8.4.4:80" (its Git server), and nothing else.
	proxy := proxyserver.Start(t, map[string]string{
		"8.8.8.8:80": values.Listener.Addr().String(),
		"8.8.4.4:80": strings.TrimPrefix(gitSrv.URL, "http://"),
	}, true)
	a := downloadsApp(map[string]string{"http_proxy": proxy.URL, "HTTPS_PROXY": proxy.URL})
	d := a.downloads(viper.New(), nil, true)
	defer func() {
		for _, f := range a.atEnd {
			f()
		}
	}()
	resp, err := d.HTTP.Get("http://8.8.8.8/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "replicas: 2\n" {
		t.Fatalf("read %q through the proxy", b)
	}
	dir, cleanup, err := d.Git.Fetch(context.Background(), "http://8.8.4.4/charts.git", "main", "")
	if err != nil {
		t.Fatalf("Git fetch through the environment's proxy: %v", err)
	}
	defer cleanup()
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatal(err)
	}
	// A target the proxy refuses: go-git tells only a status code; the
	// error says what the proxy answered, and why pipe asked that way.
	_, _, err = d.Git.Fetch(context.Background(), "http://8.8.8.8:81/charts.git", "main", "")
	if err == nil || !strings.Contains(err.Error(), "connect to 8.8.8.8:81 through the environment's proxy "+proxy.URL+": it answered 403") ||
		!strings.Contains(err.Error(), "use an https:// URL") {
		t.Errorf("a refused Git fetch: %v", err)
	}
	t.Logf("a refused Git fetch: %v", err)
	// An internal address is refused before the proxy hears of it.
	n := len(proxy.Requests())
	if _, err := d.HTTP.Get("http://169.254.169.254/latest/meta-data/"); !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("metadata through the proxy: %v, want refused", err)
	}
	asked := proxy.Requests()
	for _, q := range asked {
		if q.Method != http.MethodConnect || q.Target != "8.8.8.8:80" && q.Target != "8.8.4.4:80" && q.Target != "8.8.8.8:81" {
			t.Errorf("the proxy was asked %+v", q)
		}
	}
	if len(asked) != n || n < 2 {
		t.Errorf("the proxy was asked %+v", asked)
	}
}

// Once a day, a run's end trims the download cache and the pull requests'
// cache below it; an offline run never does (its restored cache is all it
// has).
func TestDownloadCacheTrim(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	old := now.Add(-fetchcache.MaxUnused - time.Hour)
	var blobs []string
	for _, d := range []string{root, filepath.Join(root, prCacheSubdir)} {
		c := fetchcache.New(d, fetchcache.Options{})
		digest := c.PutBlob([]byte("chart of " + d))
		h, _ := fetchcache.ParseDigest(digest)
		p := filepath.Join(d, "blobs", "sha256", h)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, p)
	}
	v := viper.New()
	v.Set("download-cache", root)
	v.Set("offline", true)
	a := downloadsApp(nil)
	a.downloads(v, nil, false)
	if len(a.afterRun) != 0 {
		t.Fatal("an offline run trims the cache")
	}
	v.Set("offline", false)
	a.downloads(v, nil, true)
	for _, f := range a.afterRun {
		f()
	}
	for _, p := range blobs {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept: %v", p, err)
		}
	}
	if got := trimDownloadCache(root, now.Add(time.Hour)); got.Files != 0 || fetchcache.ClaimTrim(root, now.Add(time.Hour)) {
		t.Errorf("trimmed again within the day: %+v", got)
	}
}
