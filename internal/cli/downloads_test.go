package cli

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/netguard"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func downloadsApp(env map[string]string) *app {
	return &app{env: Env{Getenv: func(k string) string { return env[k] }}, secrets: redact.NewSet()}
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
