package render

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// stoppableProxy serves target through a reverse proxy that the test may
// close, to stop "the server" while the Git server itself lives on.
func stoppableProxy(t *testing.T, target string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(p.Close)
	return p
}

var replicasRe = regexp.MustCompile(`(?m)^replicaCount: (\d+)$`)

// fetchReplicas fetches ref and returns the chart's replicaCount in it.
func fetchReplicas(t *testing.T, f *GoGitFetcher, remote, ref string) string {
	t.Helper()
	dir, cleanup, err := f.Fetch(context.Background(), remote, ref, "charts/web")
	if err != nil {
		t.Fatalf("fetch %s: %v", ref, err)
	}
	defer cleanup()
	b, err := os.ReadFile(filepath.Join(dir, "charts", "web", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := replicasRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no replicaCount in %s", b)
	}
	return string(m[1])
}

func fetchErr(t *testing.T, f *GoGitFetcher, remote, ref string) error {
	t.Helper()
	dir, cleanup, err := f.Fetch(context.Background(), remote, ref, "")
	if err == nil {
		cleanup()
		t.Fatalf("fetch %s: got %s, want an error", ref, dir)
	}
	return err
}

func isShallow(t *testing.T, repo string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(repo, "shallow"))
	return err == nil
}

func TestGitCacheOfflineAndServerStopped(t *testing.T) {
	remotes := t.TempDir()
	_, first := chartsRemote(t, remotes)
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	proxy := stoppableProxy(t, srv.URL)
	remote := proxy.URL + "/charts.git"
	cache, tmp := t.TempDir(), t.TempDir()
	f := &GoGitFetcher{TempDir: tmp, CacheDir: cache}
	for ref, want := range map[string]string{"v1": "2", "main": "7"} {
		if got := fetchReplicas(t, f, remote, ref); got != want {
			t.Errorf("%s: replicaCount %s, want %s", ref, got, want)
		}
	}
	repo := f.cachedRepo(remote)
	if !strings.HasPrefix(repo, filepath.Join(cache, "git")+string(filepath.Separator)) {
		t.Fatalf("cached repository %s is not below %s/git", repo, cache)
	}
	if !isShallow(t, repo) {
		t.Errorf("tags and branches are fetched shallow: %s has no shallow file", repo)
	}
	if entries, _ := os.ReadDir(filepath.Join(cache, "git")); len(entries) != 2 {
		t.Errorf("cache holds %v, want one repository and its lock", entries)
	}

	proxy.Close()
	// Within the run the refs were listed once: a tag is served again.
	if got := fetchReplicas(t, f, remote, "v1"); got != "2" {
		t.Errorf("v1 again in the same run: replicaCount %s", got)
	}
	// A commit the cache holds needs no server, online or offline.
	f = &GoGitFetcher{TempDir: tmp, CacheDir: cache} // the next run
	if got := fetchReplicas(t, f, remote, first); got != "2" {
		t.Errorf("cached commit: replicaCount %s", got)
	}
	// Online, a tag is asked of the server.
	wantErr(t, fetchErr(t, f, remote, "v1"), "fetch "+remote)

	off := &GoGitFetcher{TempDir: tmp, CacheDir: cache, Offline: true}
	for ref, want := range map[string]string{"v1": "2", "main": "7", first: "2", first[:10]: "2"} {
		if got := fetchReplicas(t, off, remote, ref); got != want {
			t.Errorf("offline %s: replicaCount %s, want %s", ref, got, want)
		}
	}
	wantErr(t, fetchErr(t, off, remote, "next"), remote+" at next is not in the download cache ("+repo+")",
		"rendering is offline", "render once with the network")
	other := proxy.URL + "/other.git"
	wantErr(t, fetchErr(t, off, other, "v1"), other+" at v1 is not in the download cache", filepath.Join(cache, "git"))
	wantErr(t, fetchErr(t, &GoGitFetcher{TempDir: tmp, Offline: true}, remote, "v1"), "offline, and there is no download cache")
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}

func TestGitCacheFollowsBranches(t *testing.T) {
	remotes := t.TempDir()
	bare, _ := chartsRemote(t, remotes)
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	if got := fetchReplicas(t, f, srv.RepoURL("charts.git"), "main"); got != "7" {
		t.Fatalf("main: replicaCount %s", got)
	}
	pushReplicas(t, bare, "7", "8")
	// One run (one fetcher) lists a remote's refs once: its applications
	// agree on where main points.
	if got := fetchReplicas(t, f, srv.RepoURL("charts.git"), "main"); got != "7" {
		t.Errorf("main after a push, in the same run: replicaCount %s, want the 7 it saw first", got)
	}
	f = &GoGitFetcher{TempDir: f.TempDir, CacheDir: f.CacheDir}
	if got := fetchReplicas(t, f, srv.RepoURL("charts.git"), "main"); got != "8" {
		t.Errorf("main after a push: replicaCount %s, want 8", got)
	}
	wantErr(t, fetchErr(t, f, srv.RepoURL("charts.git"), "nope"), `ref "nope": no such tag or branch in `+srv.RepoURL("charts.git"))
}

// pushReplicas pushes to bare's main a commit changing the chart's
// replicaCount from one value to another.
func pushReplicas(t *testing.T, bare, from, to string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	gitserver.Git(t, filepath.Dir(bare), "clone", "--quiet", bare, work)
	values := filepath.Join(work, "charts", "web", "values.yaml")
	b, _ := os.ReadFile(values)
	if err := os.WriteFile(values, []byte(strings.Replace(string(b), "replicaCount: "+from, "replicaCount: "+to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, work, "commit", "--quiet", "-am", to)
	gitserver.Git(t, work, "push", "--quiet", "origin", "main")
}

// A branch fetched by name, because the commit first listed for it is not
// in the cache, may have moved since the listing: the run's later fetches
// of it get the commit fetched, not a newer one.
func TestGitCacheOneCommitPerBranchAndRun(t *testing.T) {
	remotes := t.TempDir()
	bare, _ := chartsRemote(t, remotes)
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	remote := srv.RepoURL("charts.git")
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	if got := fetchReplicas(t, f, remote, "v1"); got != "2" { // lists the refs: main at 7
		t.Fatalf("v1: replicaCount %s", got)
	}
	pushReplicas(t, bare, "7", "8")
	if got := fetchReplicas(t, f, remote, "main"); got != "8" {
		t.Fatalf("main, listed at 7 (not cached) and pushed to 8: replicaCount %s, want the 8 fetched", got)
	}
	pushReplicas(t, bare, "8", "10")
	if got := fetchReplicas(t, f, remote, "main"); got != "8" {
		t.Errorf("main again in the same run: replicaCount %s, want the 8 fetched before", got)
	}
	f = &GoGitFetcher{TempDir: f.TempDir, CacheDir: f.CacheDir}
	if got := fetchReplicas(t, f, remote, "main"); got != "10" {
		t.Errorf("main in the next run: replicaCount %s, want 10", got)
	}
}

func TestGitCacheCommitRefs(t *testing.T) {
	remotes := t.TempDir()
	bare, first := chartsRemote(t, remotes)
	main := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "main"))
	next := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "next"))
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	remote := srv.RepoURL("charts.git")

	// The server refuses to send a commit by hash: everything is fetched.
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	if got := fetchReplicas(t, f, remote, next); got != "9" {
		t.Errorf("next's commit: replicaCount %s", got)
	}
	if isShallow(t, f.cachedRepo(remote)) {
		t.Error("a full fetch left a shallow repository")
	}

	// A shallow cache (a tag fetched), then a commit it lacks: the cache
	// is replaced by a full repository.
	f = &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	fetchReplicas(t, f, remote, "v1")
	if !isShallow(t, f.cachedRepo(remote)) {
		t.Fatal("the tag fetch was not shallow")
	}
	if got := fetchReplicas(t, f, remote, main); got != "7" {
		t.Errorf("main's commit: replicaCount %s", got)
	}
	repo := f.cachedRepo(remote)
	if isShallow(t, repo) {
		t.Error("the repository is still shallow")
	}
	if left, _ := filepath.Glob(repo + ".*-*"); len(left) != 0 {
		t.Errorf("left beside the cache: %v", left)
	}

	// A server that sends a commit by hash: only that commit, shallow.
	gitserver.Git(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	f = &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	if got := fetchReplicas(t, f, remote, first); got != "2" {
		t.Errorf("first commit: replicaCount %s", got)
	}
	if !isShallow(t, f.cachedRepo(remote)) {
		t.Error("a commit the server sends alone is fetched shallow")
	}
	wantErr(t, fetchErr(t, f, remote, strings.Repeat("0", 40)), "no such branch, tag or commit")
}

func TestGitCacheConcurrentFetches(t *testing.T) {
	remotes := t.TempDir()
	chartsRemote(t, remotes)
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	cache := t.TempDir()
	refs := []string{"v1", "main", "next", "v1", "main", "next"}
	want := map[string]string{"v1": "2", "main": "7", "next": "9"}
	var wg sync.WaitGroup
	errs := make(chan string, len(refs))
	for _, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache}
			dir, cleanup, err := f.Fetch(context.Background(), srv.RepoURL("charts.git"), ref, "")
			if err != nil {
				errs <- ref + ": " + err.Error()
				return
			}
			defer cleanup()
			b, _ := os.ReadFile(filepath.Join(dir, "charts", "web", "values.yaml"))
			if m := replicasRe.FindSubmatch(b); m == nil || string(m[1]) != want[ref] {
				errs <- ref + ": wrong tree: " + string(b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGitCacheKeepsNoCredentials(t *testing.T) {
	remotes := t.TempDir()
	chartsRemote(t, remotes)
	const token = "s3cr3t-t0ken-value"
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{User: "ci", Token: token})
	cache := t.TempDir()
	// A token in the URL, and one given by Auth: the same cached repository.
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache}
	if got := fetchReplicas(t, f, srv.AuthURL("charts.git", token), "v1"); got != "2" {
		t.Fatalf("replicaCount %s", got)
	}
	withAuth := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Auth: func(string) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: "ci", Password: token}, nil
	}}
	if got := fetchReplicas(t, withAuth, srv.RepoURL("charts.git"), "main"); got != "7" {
		t.Fatalf("replicaCount %s", got)
	}
	if a, b := f.cachedRepo(srv.AuthURL("charts.git", token)), f.cachedRepo(srv.RepoURL("charts.git")); a != b {
		t.Errorf("one remote, two cached repositories: %s and %s", a, b)
	}
	err := filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b)+p, token) {
			t.Errorf("%s holds the token", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A wrong token: the error names the remote without any token.
	bad := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache}
	err = fetchErr(t, bad, srv.AuthURL("charts.git", "wrong-token-value"), "v1")
	if strings.Contains(err.Error(), "wrong-token-value") {
		t.Errorf("the error shows the token: %v", err)
	}
}
