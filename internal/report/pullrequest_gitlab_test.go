package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const glToken = "glpat-s3cr3tT0kenValue123"

func newFakeGitLabMRs(t *testing.T, project string) (*fakes.GitLab, string, *GitLabPullRequester) {
	t.Helper()
	fake, srv := fakes.NewGitLab("acme/deploys", 77, glToken)
	t.Cleanup(srv.Close)
	p, err := NewGitLabPullRequester(srv.Client(), srv.URL+"/api/v4", project, glToken, false)
	if err != nil {
		t.Fatal(err)
	}
	return fake, srv.URL + "/api/v4", p
}

func TestGitLabEnsurePullRequestCreateThenUpdate(t *testing.T) {
	ctx := context.Background()
	fake, api, p := newFakeGitLabMRs(t, "acme/deploys")
	fake.BranchExists = branchesOf(t)
	fake.AddNote(6, "a note of an older merge request", false)
	pr, err := p.EnsurePullRequest(ctx, webSpec)
	if err != nil {
		t.Fatal(err)
	}
	if pr != (PullRequest{Number: 7, URL: "https://gitlab.example/acme/deploys/-/merge_requests/7", Created: true}) {
		t.Fatalf("first run %+v", pr)
	}
	all := fake.MergeRequests()
	if len(all) != 1 || all[0].SourceBranch != "event/web" || all[0].TargetBranch != "main" || all[0].Title != webSpec.Title ||
		all[0].Description != webSpec.Body || all[0].State != "opened" || !all[0].ForceRemoveSourceBranch ||
		!slices.Equal(all[0].Labels, []string{"pipe:event", "auto"}) {
		t.Fatalf("after the first run %+v", all)
	}
	// The same event again: found, nothing written.
	before := len(fake.Requests())
	if pr, err = p.EnsurePullRequest(ctx, webSpec); err != nil || pr != (PullRequest{Number: 7, URL: "https://gitlab.example/acme/deploys/-/merge_requests/7"}) {
		t.Fatalf("second run %+v %v", pr, err)
	}
	if w := writes(fake.Requests()[before:]); len(w) != 0 {
		t.Errorf("an unchanged merge request was written: %v", w)
	}
	// A newer value: the title changes; only the missing label is sent,
	// the one someone added stays.
	c, err := NewGitLab(http.DefaultClient, api, "acme/deploys", 7, glToken, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetLabels(ctx, []string{"keep"}, nil); err != nil {
		t.Fatal(err)
	}
	next := webSpec
	next.Title, next.Labels = "Update web to v3", []string{"auto", "urgent"}
	before = len(fake.Requests())
	if pr, err = p.EnsurePullRequest(ctx, next); err != nil || pr.Created || pr.Number != 7 {
		t.Fatalf("third run %+v %v", pr, err)
	}
	reqs := fake.Requests()[before:]
	if w := writes(reqs); len(w) != 1 || w[0] != "PUT /api/v4/projects/acme%2Fdeploys/merge_requests/7" ||
		!strings.Contains(reqs[len(reqs)-1].Body, `"add_labels":"urgent"`) || strings.Contains(reqs[len(reqs)-1].Body, "description") {
		t.Errorf("third run wrote %v: %s", w, reqs[len(reqs)-1].Body)
	}
	all = fake.MergeRequests()
	if len(all) != 1 || all[0].Title != next.Title || all[0].Description != webSpec.Body || all[0].Updates != 2 ||
		!slices.Equal(all[0].Labels, []string{"pipe:event", "auto", "keep", "urgent"}) {
		t.Fatalf("after the third run %+v", all)
	}
	noSecretSent(t, fake.Requests(), glToken)
}

func TestGitLabEnsurePullRequestRace(t *testing.T) {
	fake, srv := fakes.NewGitLab("acme/deploys", 77, glToken)
	t.Cleanup(srv.Close)
	theirs := 0
	client := &http.Client{Transport: &raceTransport{
		match: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/merge_requests")
		},
		before: func() {
			theirs = fake.AddMergeRequest(fakes.GitLabMR{SourceBranch: "event/web", TargetBranch: "main", Title: "theirs", Description: "old"})
		},
		next: srv.Client().Transport,
	}}
	// The project addressed by its id.
	p, err := NewGitLabPullRequester(client, srv.URL+"/api/v4/", "77", glToken, false)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := p.EnsurePullRequest(context.Background(), webSpec)
	if err != nil || pr.Created || pr.Number != theirs || theirs == 0 {
		t.Fatalf("%+v %v (theirs !%d)", pr, err, theirs)
	}
	all := fake.MergeRequests()
	if len(all) != 1 || all[0].Title != webSpec.Title || all[0].Description != webSpec.Body || all[0].Updates != 1 ||
		!slices.Equal(all[0].Labels, []string{"pipe:event", "auto"}) {
		t.Fatalf("%+v", all)
	}
}

func TestGitLabEnsurePullRequestErrors(t *testing.T) {
	ctx := context.Background()
	fake, api, p := newFakeGitLabMRs(t, "acme/deploys")
	fake.BranchExists = branchesOf(t)
	gone := webSpec
	gone.Head = "event/gone"
	_, err := p.EnsurePullRequest(ctx, gone)
	checkErr(t, "missing head", err, glToken, `open a merge request from branch "event/gone" into "main" of acme/deploys`,
		`branch "event/gone" does not exist in acme/deploys: push it`)
	noBase := webSpec
	noBase.Base = "release"
	_, err = p.EnsurePullRequest(ctx, noBase)
	checkErr(t, "missing target", err, glToken, `the target branch "release" does not exist in acme/deploys`)

	fake.TokenScope = "read_api"
	_, err = p.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "read_api token", err, glToken, "GitLab answered 403 insufficient_scope: The request requires higher privileges than provided by the access token: the token needs the api scope and at least the Developer role in acme/deploys")
	fake.TokenScope = ""

	job, err := NewGitLabPullRequester(http.DefaultClient, api, "acme/deploys", glToken, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = job.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "job token", err, glToken, "list the open merge requests", "GitLab answered 401 Unauthorized: a CI_JOB_TOKEN cannot open or edit merge requests; set GITLAB_TOKEN", "api scope")

	const wrong = "glpat-wrongTokenValue999"
	bad, err := NewGitLabPullRequester(http.DefaultClient, api, "acme/deploys", wrong, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "wrong token", err, wrong, "GitLab answered 401 Unauthorized: the token is invalid, expired or revoked")

	other, err := NewGitLabPullRequester(http.DefaultClient, api, "acme/elsewhere", glToken, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.EnsurePullRequest(ctx, webSpec)
	checkErr(t, "unknown project", err, glToken, "GitLab answered 404 Project Not Found: project acme/elsewhere does not exist, or the token cannot see it")

	comma := webSpec
	comma.Labels = []string{"a,b"}
	_, err = p.EnsurePullRequest(ctx, comma)
	checkErr(t, "comma", err, glToken, `label "a,b"`, "separator")
	if _, err := NewGitLabPullRequester(nil, "", "acme/deploys", glToken, false); err == nil {
		t.Error("no API URL: no error")
	}
	if mrs := fake.MergeRequests(); len(mrs) != 0 {
		t.Errorf("failed runs opened %+v", mrs)
	}
}

func TestGitLabEnsurePullRequestNoTokenToAnotherHost(t *testing.T) {
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("PRIVATE-TOKEN"))
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(elsewhere.Close)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(moved.Close)
	p, err := NewGitLabPullRequester(moved.Client(), moved.URL+"/api/v4", "acme/deploys", glToken, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.EnsurePullRequest(context.Background(), webSpec)
	if err == nil || !strings.Contains(err.Error(), "redirected to another host") || len(leaked) != 0 {
		t.Fatalf("err = %v, requests elsewhere %d", err, len(leaked))
	}
}

func TestGLMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"message":"404 Project Not Found"}`:                                                              "404 Project Not Found",
		`{"message":["Another open merge request already exists: !3"]}`:                                    "Another open merge request already exists: !3",
		`{"message":{"target_branch":["does not exist"],"source_branch":["does not exist","is invalid"]}}`: "source_branch does not exist, is invalid; target_branch does not exist",
		`{"error":"insufficient_scope","error_description":"needs api","scope":"api"}`:                     "insufficient_scope: needs api",
		`{"error":"title is missing"}`:                                                                     "title is missing",
		`<html>proxy error</html>`:                                                                         "(no message)",
		`{}`:                                                                                               "(no message)",
	} {
		if got := glMessage([]byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
