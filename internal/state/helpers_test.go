package state

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

const testToken = "s3cret-token"

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond) // distinct, increasing times
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a remote served over smart HTTP with a main branch of commits.
type env struct {
	srv     *gitserver.HTTPServer
	root    string
	bare    string
	url     string
	commits []string // oldest first
}

// newEnv starts a smart-HTTP server with repo.git holding n commits on main.
func newEnv(t testing.TB, n int) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{root: root}
	e.bare = gitserver.NewBareRepo(t, root, "repo.git")
	e.srv = gitserver.StartHTTP(t, root, gitserver.HTTPOptions{Token: testToken, ReadOnlyToken: "ro-token-42"})
	e.url = e.srv.RepoURL("repo.git")
	e.commits = seedCommits(t, e.bare, n)
	return e
}

// seedCommits makes n commits on main of the bare repository with
// fast-import and returns their hashes, oldest first.
func seedCommits(t testing.TB, bare string, n int) []string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "commit refs/heads/main\nmark :%d\ncommitter test <test@example.com> %d +0000\ndata %d\n%s\n",
			i+1, 1700000000+i*60, len(fmt.Sprintf("commit %d", i)), fmt.Sprintf("commit %d", i))
		if i > 0 {
			fmt.Fprintf(&b, "from :%d\n", i)
		}
		content := fmt.Sprintf("v%d\n", i)
		fmt.Fprintf(&b, "M 100644 inline app.txt\ndata %d\n%s\n", len(content), content)
	}
	marks := filepath.Join(t.TempDir(), "marks")
	cmd := exec.Command("git", "fast-import", "--quiet", "--export-marks="+marks)
	cmd.Dir = bare
	cmd.Env = gitserver.Env()
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v: %s", err, out)
	}
	data, err := os.ReadFile(marks)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, n)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m int
		var h string
		if _, err := fmt.Sscanf(line, ":%d %s", &m, &h); err == nil && m >= 1 && m <= n {
			hashes[m-1] = h
		}
	}
	return hashes
}

// clone makes a CI-like clone of the remote (branches only, no notes) and
// returns its directory; origin's URL carries no credentials.
func (e *env) clone(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	gitserver.Git(t, "", "clone", "--quiet", e.srv.AuthURL("repo.git", testToken), dir)
	gitserver.Git(t, dir, "remote", "set-url", "origin", e.url)
	return dir
}

func (e *env) open(t testing.TB, dir string, clock *fakeClock, mod ...func(*Options)) (*GitStore, *[]Notice) {
	t.Helper()
	var mu sync.Mutex
	notices := &[]Notice{}
	opts := Options{
		Credentials: Credentials{Username: "x-access-token", Token: testToken, TokenSource: "PIPE_GIT_TOKEN"},
		Now:         clock.Now,
		Notify: func(n Notice) {
			mu.Lock()
			defer mu.Unlock()
			*notices = append(*notices, n)
		},
		Backoff: 5 * time.Millisecond,
	}
	for _, m := range mod {
		m(&opts)
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, notices
}

func newRecord(app, commit string) *Record {
	return &Record{
		App:            app,
		Kind:           "KubernetesApp",
		Target:         Commit{Hash: commit, Subject: "change", Author: "dev"},
		Trigger:        Trigger{Kind: TriggerPush, Actor: "ci-bot", CIRunURL: "https://ci.example.com/run/1"},
		Strategy:       StrategyPipeline,
		StrategyReason: "image changed",
		Stages: []Stage{
			{ID: "s0", Name: "K8S_CANARY_ROLLOUT", Status: StageNotStarted},
			{ID: "s1", Name: "K8S_PRIMARY_ROLLOUT", Status: StageNotStarted},
		},
		Status: StatusRunning,
	}
}

func warnings(ns []Notice) []string {
	var out []string
	for _, n := range ns {
		if n.Level == LevelWarn {
			out = append(out, n.Msg)
		}
	}
	return out
}

var bg = context.Background()
