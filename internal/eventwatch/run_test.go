package eventwatch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

const token = "tok-eventwatch-0123"

// deployment is a manifest with comments and odd quoting: only the image
// may change.
const deployment = "# the web app\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: web}  # flow\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n      - name: web\r\n        image: 'gcr.io/acme/web:v1.0.0' # pinned\r\n        args: [\"--port\", '8080']\r\n"

type fixture struct {
	srv   *gitserver.HTTPServer
	bare  string
	url   string
	clock *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{clock: &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}}
	f.bare = gitserver.NewBareRepo(t, root, "gitops.git")
	f.srv = gitserver.StartHTTP(t, root, gitserver.HTTPOptions{Token: token})
	f.url = f.srv.RepoURL("gitops.git")
	seed := filepath.Join(t.TempDir(), "seed")
	gitserver.Git(t, "", "init", "-q", "-b", "main", seed)
	if err := os.MkdirAll(filepath.Join(seed, "apps", "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "apps", "web", "deployment.yaml"), []byte(deployment), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "apps", "web", "tag.txt"), []byte("tag=v1.0.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, seed, "add", ".")
	gitserver.Git(t, seed, "commit", "-qm", "seed")
	gitserver.Git(t, seed, "push", "-q", f.srv.AuthURL("gitops.git", token), "main")
	return f
}

func (f *fixture) store(t *testing.T) *state.GitStore {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	gitserver.Git(t, "", "clone", "-q", f.srv.AuthURL("gitops.git", token), dir)
	st, err := state.Open(dir, state.Options{RemoteURL: f.url, Now: f.clock.Now, Backoff: time.Millisecond,
		Credentials: state.Credentials{Username: "x", Token: token, TokenSource: "PIPE_GIT_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func webWatcher(pr bool) Watcher {
	return Watcher{ID: "app web eventWatcher[0]", Source: "apps/web/app.pipecd.yaml:7", App: "web", Name: "web-image",
		MakePullRequest: pr, Replacements: []Replacement{
			{File: "apps/web/deployment.yaml", Field: "yamlField", Expr: "$.spec.template.spec.containers[0].image", Source: "apps/web/app.pipecd.yaml:12"},
			{File: "apps/web/tag.txt", Field: "regex", Expr: `tag=(\S+)`, Source: "apps/web/app.pipecd.yaml:14"},
		}}
}

func (f *fixture) run(t *testing.T, o Options) *Result {
	t.Helper()
	o.Now = f.clock.Now
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func register(t *testing.T, st *state.GitStore, value string) *state.RegisteredEvent {
	t.Helper()
	ev := &state.RegisteredEvent{Name: "web-image", Value: value, Contexts: map[string]string{"Build-Url": "https://ci/1"},
		Commit: &state.EventCommit{Hash: "0123456789abcdef"}}
	if err := st.RegisterEvent(context.Background(), ev, ""); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRunCommitsInPlaceAndOnce(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "gcr.io/acme/web:v1.0.1")
	register(t, f.store(t), "gcr.io/acme/web:v1.1.0")

	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}})
	var success, outdated int
	for _, it := range res.Items {
		switch it.Status {
		case state.HandledSuccess:
			success++
			if it.Event.Value != "gcr.io/acme/web:v1.1.0" || it.Commit == "" || it.Branch != "main" {
				t.Fatalf("item %+v", it)
			}
		case state.HandledOutdated:
			outdated++
		}
	}
	if success != 1 || outdated != 1 {
		t.Fatalf("items: %+v", res.Items)
	}
	got := gitserver.Git(t, f.bare, "show", "main:apps/web/deployment.yaml")
	want := strings.Replace(deployment, "'gcr.io/acme/web:v1.0.0'", "'gcr.io/acme/web:v1.1.0'", 1)
	if got != want {
		t.Fatalf("deployment.yaml:\n%q\nwant\n%q", got, want)
	}
	if got := gitserver.Git(t, f.bare, "show", "main:apps/web/tag.txt"); got != "tag=gcr.io/acme/web:v1.1.0\n" {
		t.Fatalf("tag.txt %q", got)
	}
	if mode := gitserver.Git(t, f.bare, "ls-tree", "main", "apps/web/tag.txt"); !strings.HasPrefix(mode, "100755") {
		t.Fatalf("mode lost: %s", mode)
	}
	msg := gitserver.Git(t, f.bare, "log", "-1", "--format=%B", "main")
	if !strings.Contains(msg, `Replace values with "gcr.io/acme/web:v1.1.0" set by Event "web-image"`) ||
		!strings.Contains(msg, "Build-Url: https://ci/1") || !strings.Contains(msg, TraceTrailer+": 0123456789abcdef") {
		t.Fatalf("commit message:\n%s", msg)
	}

	// A second run does nothing: the event is recorded as handled.
	head := gitserver.Git(t, f.bare, "rev-parse", "main")
	again := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}})
	for _, it := range again.Items {
		if it.Status != StatusHandled {
			t.Fatalf("second run: %+v", it)
		}
	}
	if gitserver.Git(t, f.bare, "rev-parse", "main") != head {
		t.Fatal("the second run committed")
	}
}

// A replacement whose path is missing fails with the watcher, file and
// path named; the other one still applies.
func TestRunMissingPathStillAppliesTheOthers(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v2")
	w := webWatcher(false)
	w.Replacements[0].Expr = "$.spec.template.spec.containers[1].image"
	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{w}})
	it := res.Items[0]
	if it.Status != state.HandledFailure || !strings.Contains(it.Message, "apps/web/app.pipecd.yaml:12") ||
		!strings.Contains(it.Message, "containers[1]") || !strings.Contains(it.Message, "apps/web/deployment.yaml") {
		t.Fatalf("item %+v", it)
	}
	if got := gitserver.Git(t, f.bare, "show", "main:apps/web/tag.txt"); got != "tag=v2\n" {
		t.Fatalf("the other replacement was not applied: %q", got)
	}
	if !res.Failed() {
		t.Fatal("Failed() = false")
	}
}

// Two watch jobs at once: one pushes, the other finds the branch moved,
// makes the change again on the new tip, finds nothing to change and
// succeeds. One commit lands.
func TestRunRacingWatchers(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v3")
	before := strings.TrimSpace(gitserver.Git(t, f.bare, "rev-parse", "main"))
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	for i := range results {
		st := f.store(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.run(t, Options{Store: st, Watchers: []Watcher{webWatcher(false)}})
		}()
	}
	wg.Wait()
	commits := strings.Fields(gitserver.Git(t, f.bare, "rev-list", before+"..main"))
	if len(commits) != 1 {
		t.Fatalf("%d commits landed, want 1", len(commits))
	}
	// The winner succeeded; the other found the branch moved, read the
	// events again and found the event handled (or, if it read the events
	// before the winner recorded, the value already there).
	statuses := map[string]int{}
	for _, r := range results {
		statuses[r.Items[0].Status]++
		if r.Failed() || r.Items[0].Commit != commits[0] && r.Items[0].Commit != "" {
			t.Fatalf("item %+v", r.Items[0])
		}
	}
	if statuses[state.HandledSuccess] < 1 || statuses[state.HandledSuccess]+statuses[StatusHandled] != 2 {
		t.Fatalf("statuses %v", statuses)
	}
}

type fakePRs struct {
	specs []report.PullRequestSpec
}

func (p *fakePRs) EnsurePullRequest(_ context.Context, s report.PullRequestSpec) (report.PullRequest, error) {
	p.specs = append(p.specs, s)
	return report.PullRequest{Number: 1, URL: "https://forge/pr/1", Created: len(p.specs) == 1}, nil
}

func TestRunProposesAndUpdatesOnePullRequest(t *testing.T) {
	f := newFixture(t)
	prs := &fakePRs{}
	main := gitserver.Git(t, f.bare, "rev-parse", "main")
	register(t, f.store(t), "v4")
	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(true)}, PullRequests: prs, Labels: []string{"pipe-event"}})
	it := res.Items[0]
	branch := prBranch(&Watcher{Name: "web-image"})
	if it.Status != state.HandledSuccess || it.Branch != branch || it.PullRequest != "https://forge/pr/1" {
		t.Fatalf("item %+v", it)
	}
	if gitserver.Git(t, f.bare, "rev-parse", "main") != main {
		t.Fatal("main moved: the change belongs to the pull request")
	}
	if got := gitserver.Git(t, f.bare, "show", branch+":apps/web/tag.txt"); got != "tag=v4\n" {
		t.Fatalf("branch content %q", got)
	}
	register(t, f.store(t), "v5")
	f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(true)}, PullRequests: prs})
	if len(prs.specs) != 2 || prs.specs[1].Head != branch || prs.specs[1].Base != "main" ||
		!strings.Contains(prs.specs[1].Body, "`v5`") || !strings.Contains(prs.specs[1].Title, `"v5"`) {
		t.Fatalf("pull request specs: %+v", prs.specs)
	}
	if got := gitserver.Git(t, f.bare, "show", branch+":apps/web/tag.txt"); got != "tag=v5\n" {
		t.Fatalf("branch not updated: %q", got)
	}
	if n := strings.Count(gitserver.Git(t, f.bare, "rev-list", "main.."+branch), "\n"); n != 1 {
		t.Fatalf("the branch holds %d commits over main, want 1 (made again from main)", n)
	}
}

func TestRunDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v6")
	head := gitserver.Git(t, f.bare, "rev-parse", "main")
	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}, DryRun: true})
	if res.Items[0].Status != StatusPlanned || len(res.Items[0].Changes) != 2 || !res.Items[0].Changes[0].Changed {
		t.Fatalf("item %+v", res.Items[0])
	}
	if gitserver.Git(t, f.bare, "rev-parse", "main") != head {
		t.Fatal("dry run pushed")
	}
	log, err := f.store(t).Events(context.Background())
	if err != nil || len(log.Handlings) != 0 {
		t.Fatalf("dry run recorded: %v %v", log.Handlings, err)
	}
}

// hookStore runs a hook once, right after the first branch read of a run.
type hookStore struct {
	*state.GitStore
	once func()
}

func (h *hookStore) FetchBranch(ctx context.Context, name string) (state.BranchTip, error) {
	tip, err := h.GitStore.FetchBranch(ctx, name)
	if h.once != nil {
		f := h.once
		h.once = nil
		f()
	}
	return tip, err
}

// A watch that read the branch before a newer event was registered and
// applied by another job never writes its older value over the newer one.
func TestRunNeverWritesAnOlderValueOverANewerOne(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v1")
	slow := &hookStore{GitStore: f.store(t), once: func() {
		register(t, f.store(t), "v2")
		f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}})
	}}
	res := f.run(t, Options{Store: slow, Watchers: []Watcher{webWatcher(false)}})
	if got := gitserver.Git(t, f.bare, "show", "main:apps/web/tag.txt"); got != "tag=v2\n" {
		t.Fatalf("tag.txt = %q, want the newer v2 (items %+v)", got, res.Items)
	}
	if res.Failed() {
		t.Fatalf("items %+v", res.Items)
	}
}

// failingPush refuses every push, as a protected branch does.
type failingPush struct{ *state.GitStore }

func (failingPush) PushBranch(context.Context, string, plumbing.Hash, plumbing.Hash, ...plumbing.Hash) error {
	return errors.New("protected branch hook declined")
}

// A commit that was not pushed is never recorded: the next run applies
// the event.
func TestRunRecordsNothingItDidNotPush(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v7")
	o := Options{Store: failingPush{f.store(t)}, Watchers: []Watcher{webWatcher(false)}, Now: f.clock.Now}
	res, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "declined") || res.Items[0].Status != StatusError {
		t.Fatalf("err %v, items %+v", err, res.Items)
	}
	log, err := f.store(t).Events(context.Background())
	if err != nil || len(log.Handlings) != 0 {
		t.Fatalf("recorded %v (%v)", log.Handlings, err)
	}
	again := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}})
	if again.Items[0].Status != state.HandledSuccess || again.Items[0].Commit == "" {
		t.Fatalf("next run: %+v", again.Items[0])
	}
}

// An event registered for one branch is left alone by the watch of another.
func TestRunKeepsEventsToTheirBranch(t *testing.T) {
	f := newFixture(t)
	gitserver.Git(t, f.bare, "branch", "production", "main")
	ev := &state.RegisteredEvent{Name: "web-image", Value: "v8"}
	if err := f.store(t).RegisterEvent(context.Background(), ev, "production"); err != nil || ev.Branch != "production" {
		t.Fatalf("register: %v (branch %q)", err, ev.Branch)
	}
	if res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}, Branch: "main"}); len(res.Items) != 0 {
		t.Fatalf("main's watch took production's event: %+v", res.Items[0])
	}
	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}, Branch: "production"})
	if len(res.Items) != 1 || res.Items[0].Status != state.HandledSuccess {
		t.Fatalf("production's watch: %+v", res.Items)
	}
	if got := gitserver.Git(t, f.bare, "show", "production:apps/web/tag.txt"); got != "tag=v8\n" {
		t.Fatalf("production tag.txt %q", got)
	}
}

// A value that is not one line of text is refused, whoever wrote the note.
func TestRunRefusesControlCharacters(t *testing.T) {
	f := newFixture(t)
	register(t, f.store(t), "v9\u2028x: y")
	res := f.run(t, Options{Store: f.store(t), Watchers: []Watcher{webWatcher(false)}})
	if it := res.Items[0]; it.Status != state.HandledFailure || !strings.Contains(it.Message, "U+2028") {
		t.Fatalf("item %+v", it)
	}
}
