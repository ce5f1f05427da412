package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// branchesOf returns a real bare repository's answer to "does this branch
// exist?", the repository having main and event/web.
func branchesOf(t *testing.T) func(string) bool {
	t.Helper()
	root := t.TempDir()
	bare := gitserver.NewBareRepo(t, root, "deploys.git")
	work := t.TempDir()
	gitserver.Git(t, work, "init", "--quiet", "--initial-branch=main")
	gitserver.Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "initial")
	gitserver.Git(t, work, "push", "--quiet", bare, "main", "main:event/web")
	return func(b string) bool {
		_, err := gitserver.GitE(bare, "rev-parse", "--verify", "--quiet", "refs/heads/"+b)
		return err == nil
	}
}

// writes returns the requests of reqs that change something.
func writes(reqs []fakes.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// checkErr fails the test named name unless err says every one of want and
// does not carry secret (the token the client was given).
func checkErr(t *testing.T, name string, err error, secret string, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", name, err, w)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("%s: the token is in %q", name, err)
	}
}

var webSpec = PullRequestSpec{Head: "event/web", Base: "main", Title: "Update web to v2",
	Body: "Event `image-update` set the image to v2.", Labels: []string{"pipe:event", "auto"}}

func TestGitHubEnsurePullRequestCreateThenUpdate(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "/api/v3")
	fake.BranchExists = branchesOf(t)
	fake.AddComment(41, "alice", "an older issue")
	pr, err := gh.EnsurePullRequest(ctx, webSpec)
	if err != nil {
		t.Fatal(err)
	}
	if pr != (PullRequest{Number: 42, URL: "https://github.example/acme/deploys/pull/42", Created: true}) {
		t.Fatalf("first run %+v", pr)
	}
	all := fake.PullRequests()
	if len(all) != 1 || all[0].Head != "event/web" || all[0].Base != "main" || all[0].Title != webSpec.Title ||
		all[0].Body != webSpec.Body || all[0].State != "open" || !slices.Equal(all[0].Labels, []string{"pipe:event", "auto"}) {
		t.Fatalf("after the first run %+v", all)
	}
	// The same event again: the pull request is found, nothing is written.
	before := len(fake.Requests())
	if pr, err = gh.EnsurePullRequest(ctx, webSpec); err != nil || pr != (PullRequest{Number: 42, URL: "https://github.example/acme/deploys/pull/42"}) {
		t.Fatalf("second run %+v %v", pr, err)
	}
	if w := writes(fake.Requests()[before:]); len(w) != 0 {
		t.Errorf("an unchanged pull request was written: %v", w)
	}
	// A newer value of the event: the body changes, a label someone added
	// stays, a new one is added once, "Auto" is the "auto" it has.
	if err := gh.SetLabels(ctx, 42, []string{"keep"}, nil); err != nil {
		t.Fatal(err)
	}
	next := webSpec
	next.Body, next.Labels = "Event `image-update` set the image to v3.", []string{"Auto", "pipe:event", "urgent", "urgent"}
	if pr, err = gh.EnsurePullRequest(ctx, next); err != nil || pr.Created || pr.Number != 42 {
		t.Fatalf("third run %+v %v", pr, err)
	}
	all = fake.PullRequests()
	if len(all) != 1 || all[0].Body != next.Body || all[0].Title != webSpec.Title || all[0].Updates != 1 ||
		!slices.Equal(all[0].Labels, []string{"pipe:event", "auto", "keep", "urgent"}) {
		t.Fatalf("after the third run %+v", all)
	}
	noSecretSent(t, fake.Requests(), testToken)
}

// raceTransport runs before on the first request that matches, then sends
// it.
type raceTransport struct {
	once   sync.Once
	match  func(*http.Request) bool
	before func()
	next   http.RoundTripper
}

func (r *raceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.match(req) {
		r.once.Do(r.before)
	}
	return r.next.RoundTrip(req)
}

func TestGitHubEnsurePullRequestRace(t *testing.T) {
	fake, srv := fakes.NewGitHub(testToken)
	t.Cleanup(srv.Close)
	// Another job opens the same pull request between the listing and the
	// creation: GitHub answers 422 and theirs is updated.
	other := 0
	client := &http.Client{Transport: &raceTransport{
		match: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pulls")
		},
		before: func() {
			other = fake.AddPullRequest(fakes.GitHubPull{Repo: "acme/deploys", Head: "event/web", Base: "main", Title: "theirs", Labels: []string{"auto"}})
		},
		next: srv.Client().Transport,
	}}
	gh, err := NewGitHub(client, srv.URL, "acme/deploys", testToken)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := gh.EnsurePullRequest(context.Background(), webSpec)
	if err != nil || pr.Created || pr.Number != other || other == 0 {
		t.Fatalf("%+v %v (theirs #%d)", pr, err, other)
	}
	all := fake.PullRequests()
	if len(all) != 1 || all[0].Title != webSpec.Title || all[0].Body != webSpec.Body || all[0].Updates != 1 ||
		!slices.Equal(all[0].Labels, []string{"auto", "pipe:event"}) {
		t.Fatalf("%+v", all)
	}
}

func TestGitHubEnsurePullRequestErrors(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	fake.BranchExists = branchesOf(t)
	gone := webSpec
	gone.Head = "event/gone"
	_, err := gh.EnsurePullRequest(ctx, gone)
	checkErr(t, "missing head", err, testToken, `open a pull request from branch "event/gone" into "main" of acme/deploys`, `branch "event/gone" does not exist in acme/deploys: push it`)
	noBase := webSpec
	noBase.Base = "release"
	_, err = gh.EnsurePullRequest(ctx, noBase)
	checkErr(t, "missing base", err, testToken, `the base branch "release" does not exist in acme/deploys`)

	fake.PullsPermission = "read"
	_, err = gh.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "read permission", err, testToken, "GitHub answered 403 Resource not accessible by integration", "`pull-requests: write` and `contents: write`", "acme/deploys")
	fake.PullsPermission = ""

	bad, err := NewGitHub(http.DefaultClient, serverOf(t, fake), "acme/deploys", "ghp_wrongTokenValue123456")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "bad token", err, testToken, "list the open pull requests", "401 Bad credentials", "invalid or has expired")
	if strings.Contains(err.Error(), "ghp_wrongTokenValue123456") {
		t.Errorf("the token is in %q", err)
	}

	for _, s := range []PullRequestSpec{
		{Base: "main", Title: "t"}, {Head: "x", Title: "t"}, {Head: "main", Base: "refs/heads/main", Title: "t"},
		{Head: "a..b", Base: "main", Title: "t"}, {Head: "a:b", Base: "main", Title: "t"}, {Head: "x", Base: "main", Title: " "},
	} {
		if _, err := gh.EnsurePullRequest(ctx, s); err == nil || !strings.Contains(err.Error(), "pull request") {
			t.Errorf("%+v: %v", s, err)
		}
	}
	if prs := fake.PullRequests(); len(prs) != 0 {
		t.Errorf("failed runs opened %+v", prs)
	}
}

// serverOf serves fake at a new URL (for a client with other credentials).
func serverOf(t *testing.T, fake *fakes.GitHub) string {
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGitHubEnsurePullRequestRefusedCreation(t *testing.T) {
	// Answers the fake does not give: a repository that does not let
	// workflows open pull requests, and a branch with nothing new.
	for _, tc := range []struct {
		status       int
		answer, want string
	}{
		{http.StatusForbidden, `{"message":"GitHub Actions is not permitted to create or approve pull requests.","documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"403"}`,
			"403 GitHub Actions is not permitted to create or approve pull requests: allow it in acme/deploys's Settings > Actions > General > Workflow permissions"},
		{http.StatusUnprocessableEntity, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between main and event/web"}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"422"}`,
			`branch "event/web" has no commit that "main" lacks, so there is nothing to propose`},
	} {
		fake, own := fakes.NewGitHub("")
		own.Close() // served below, behind the canned answer
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pulls") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.answer))
				return
			}
			fake.ServeHTTP(w, r)
		}))
		gh, err := NewGitHub(srv.Client(), srv.URL, "acme/deploys", testToken)
		if err != nil {
			t.Fatal(err)
		}
		_, err = gh.EnsurePullRequest(context.Background(), webSpec)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
