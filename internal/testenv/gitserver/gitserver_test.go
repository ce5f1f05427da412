package gitserver

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPServerAuth(t *testing.T) {
	root := t.TempDir()
	NewBareRepo(t, root, "r.git")
	s := StartHTTP(t, root, HTTPOptions{Token: "rw", ReadOnlyToken: "ro"})
	get := func(url, user, pass string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	push := s.RepoURL("r.git") + "/info/refs?service=git-receive-pack"
	fetch := s.RepoURL("r.git") + "/info/refs?service=git-upload-pack"
	for _, tc := range []struct {
		url, pass string
		want      int
	}{{fetch, "", 401}, {fetch, "wrong", 401}, {fetch, "ro", 200}, {push, "ro", 403}, {push, "rw", 200}} {
		if got := get(tc.url, "x-access-token", tc.pass); got != tc.want {
			t.Errorf("GET %s with %q: %d, want %d", tc.url, tc.pass, got, tc.want)
		}
	}
	// git itself pushes and clones through it.
	work := filepath.Join(t.TempDir(), "w")
	Git(t, "", "init", "--quiet", "--initial-branch=main", work)
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "first")
	Git(t, work, "push", "--quiet", s.AuthURL("r.git", "rw"), "main")
	if _, err := GitE(work, "push", "--quiet", s.AuthURL("r.git", "ro"), "main:other"); err == nil {
		t.Error("push with the read-only token succeeded")
	}
	clone := filepath.Join(t.TempDir(), "c")
	Git(t, "", "clone", "--quiet", s.AuthURL("r.git", "ro"), clone)
	if log := Git(t, clone, "log", "--format=%s"); strings.TrimSpace(log) != "first" {
		t.Errorf("clone: %q", log)
	}
}

func TestDaemon(t *testing.T) {
	root := t.TempDir()
	NewBareRepo(t, root, "r.git")
	d := StartDaemon(t, root)
	work := filepath.Join(t.TempDir(), "w")
	Git(t, "", "init", "--quiet", "--initial-branch=main", work)
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "first")
	Git(t, work, "push", "--quiet", d.RepoURL("r.git"), "main")
	if out := Git(t, root, "--git-dir=r.git", "log", "--format=%s", "main"); strings.TrimSpace(out) != "first" {
		t.Errorf("pushed log: %q", out)
	}
}
