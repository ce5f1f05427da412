package fakes

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

// ghClient is go-github (a client nobody here wrote) on the fake.
func ghClient(t *testing.T, token string) (*GitHub, *github.Client) {
	t.Helper()
	fake, srv := NewGitHub(token)
	t.Cleanup(srv.Close)
	c := github.NewClient(srv.Client()).WithAuthToken(token)
	c.BaseURL, _ = url.Parse(srv.URL + "/api/v3/")
	return fake, c
}

// ghValidation returns the status and the validation errors of a GitHub
// error as "field/code/message".
func ghValidation(t *testing.T, err error) (int, []string) {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("err = %v, want a GitHub error response", err)
	}
	var out []string
	for _, e := range er.Errors {
		out = append(out, e.Field+"/"+e.Code+"/"+e.Message)
	}
	return er.Response.StatusCode, out
}

func TestGitHubPullsCreateDecodesAndSharesIssueNumbers(t *testing.T) {
	ctx := context.Background()
	fake, c := ghClient(t, "tok")
	fake.AddComment(7, "alice", "an issue's comment")
	pr, resp, err := c.PullRequests.Create(ctx, "acme", "deploys", &github.NewPullRequest{
		Title: github.String("Update web"), Head: github.String("acme:event/web"), Base: github.String("main"), Body: github.String("body"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || pr.GetNumber() != 8 || pr.GetState() != "open" || pr.GetTitle() != "Update web" ||
		pr.GetBody() != "body" || pr.GetHTMLURL() != "https://github.example/acme/deploys/pull/8" ||
		pr.GetHead().GetRef() != "event/web" || pr.GetHead().GetLabel() != "acme:event/web" ||
		pr.GetHead().GetRepo().GetOwner().GetLogin() != "acme" || pr.GetBase().GetRef() != "main" ||
		pr.GetCreatedAt().IsZero() || pr.Labels == nil || pr.GetUser().GetLogin() == "" {
		t.Fatalf("created %d %+v", resp.StatusCode, pr)
	}
	// The issue label endpoints work on the pull request's number.
	if _, _, err := c.Issues.AddLabelsToIssue(ctx, "acme", "deploys", 8, []string{"pipe:event", "auto"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.PullRequests.Get(ctx, "acme", "deploys", 8)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range got.Labels {
		names = append(names, l.GetName())
	}
	if !slices.Equal(names, []string{"pipe:event", "auto"}) {
		t.Fatalf("labels %v", names)
	}
	all := fake.PullRequests()
	if len(all) != 1 || all[0].Number != 8 || all[0].Repo != "acme/deploys" || all[0].Head != "event/web" ||
		all[0].Base != "main" || all[0].Updates != 0 || len(all[0].Labels) != 2 {
		t.Fatalf("accessor %+v", all)
	}
	if _, _, err := c.PullRequests.Get(ctx, "acme", "deploys", 7); err == nil {
		t.Error("issue 7 read as a pull request")
	}
}

func TestGitHubPullsCreateRefusals(t *testing.T) {
	ctx := context.Background()
	fake, c := ghClient(t, "")
	fake.BranchExists = func(b string) bool { return b == "main" || b == "event/web" }
	fake.AddPullRequest(GitHubPull{Repo: "acme/deploys", Head: "event/web", Base: "main", Title: "theirs"})
	create := func(title, head, base string) error {
		_, _, err := c.PullRequests.Create(ctx, "acme", "deploys", &github.NewPullRequest{Title: &title, Head: &head, Base: &base})
		return err
	}
	for _, tc := range []struct {
		title, head, base string
		want              []string
	}{
		{"x", "event/web", "main", []string{"/custom/A pull request already exists for acme:event/web."}},
		{"x", "event/gone", "main", []string{"head/invalid/"}},
		{"x", "event/web", "release", []string{"base/invalid/"}},
		{"x", "other:event/web", "main", []string{"head/invalid/"}},
		{"", "event/web", "", []string{"title/missing_field/", "base/missing_field/"}},
		{"x", "main", "main", []string{"/custom/No commits between main and main"}},
	} {
		code, errs := ghValidation(t, create(tc.title, tc.head, tc.base))
		if code != http.StatusUnprocessableEntity || !slices.Equal(errs, tc.want) {
			t.Errorf("%+v: %d %v", tc, code, errs)
		}
	}
	fake.BodyLimit = 10
	body := strings.Repeat("x", 11)
	if _, _, err := c.PullRequests.Edit(ctx, "acme", "deploys", 1, &github.PullRequest{Body: &body}); err == nil ||
		!strings.Contains(err.Error(), "body is too long (maximum is 10 characters)") {
		t.Errorf("long body: %v", err)
	}
	fake.PullsPermission = "read"
	if _, _, err := c.PullRequests.List(ctx, "acme", "deploys", nil); err != nil {
		t.Errorf("a read permission cannot list: %v", err)
	}
	if code, _ := ghValidation(t, create("x", "event/web", "main")); code != http.StatusForbidden {
		t.Errorf("read permission: %d", code)
	}
	if len(fake.PullRequests()) != 1 {
		t.Errorf("refused requests created pull requests: %+v", fake.PullRequests())
	}
}

func TestGitHubPullsListFiltersAndPaginates(t *testing.T) {
	ctx := context.Background()
	fake, c := ghClient(t, "")
	fake.PerPage = 2
	for _, h := range []string{"a", "b", "c", "d", "e"} {
		fake.AddPullRequest(GitHubPull{Repo: "acme/deploys", Head: h, Base: "main", Title: h})
	}
	fake.AddPullRequest(GitHubPull{Repo: "acme/deploys", Head: "f", Base: "main", Title: "f", State: "closed"})
	fake.AddPullRequest(GitHubPull{Repo: "acme/other", Head: "a", Base: "main", Title: "elsewhere"})
	list := func(o *github.PullRequestListOptions) []string {
		t.Helper()
		var out []string
		o.PerPage = 100
		for pages := 0; ; pages++ {
			prs, resp, err := c.PullRequests.List(ctx, "acme", "deploys", o)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range prs {
				out = append(out, p.GetHead().GetRef())
			}
			if resp.NextPage == 0 {
				return out
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			o.Page = resp.NextPage
		}
	}
	if got := list(&github.PullRequestListOptions{}); !slices.Equal(got, []string{"e", "d", "c", "b", "a"}) {
		t.Errorf("open, newest first, three pages: %v", got)
	}
	if got := list(&github.PullRequestListOptions{State: "all", Direction: "asc"}); !slices.Equal(got, []string{"a", "b", "c", "d", "e", "f"}) {
		t.Errorf("all, oldest first: %v", got)
	}
	if got := list(&github.PullRequestListOptions{Head: "acme:c", Base: "main"}); !slices.Equal(got, []string{"c"}) {
		t.Errorf("head and base: %v", got)
	}
	if got := list(&github.PullRequestListOptions{Head: "someone:c"}); len(got) != 0 {
		t.Errorf("another owner's branch: %v", got)
	}
	if got := list(&github.PullRequestListOptions{Head: "c"}); len(got) != 5 {
		t.Errorf("a head without owner filters nothing on GitHub: %v", got)
	}
	if got := list(&github.PullRequestListOptions{Base: "release"}); len(got) != 0 {
		t.Errorf("another base: %v", got)
	}
}

func TestGitHubPullsEdit(t *testing.T) {
	ctx := context.Background()
	fake, c := ghClient(t, "")
	n := fake.AddPullRequest(GitHubPull{Repo: "acme/deploys", Head: "event/web", Base: "main", Title: "old", Body: "old body", Labels: []string{"x"}})
	pr, _, err := c.PullRequests.Edit(ctx, "acme", "deploys", n, &github.PullRequest{Title: github.String("new")})
	if err != nil || pr.GetTitle() != "new" || pr.GetBody() != "old body" {
		t.Fatalf("edit: %+v %v", pr, err)
	}
	if _, _, err := c.PullRequests.Edit(ctx, "acme", "deploys", n, &github.PullRequest{State: github.String("closed")}); err != nil {
		t.Fatal(err)
	}
	// Another pull request from the same branch can now be opened, and
	// the closed one cannot be reopened beside it.
	if _, _, err := c.PullRequests.Create(ctx, "acme", "deploys", &github.NewPullRequest{Title: github.String("again"), Head: github.String("event/web"), Base: github.String("main")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.PullRequests.Edit(ctx, "acme", "deploys", n, &github.PullRequest{State: github.String("open")})
	if code, errs := ghValidation(t, err); code != http.StatusUnprocessableEntity || len(errs) != 1 || !strings.Contains(errs[0], "already exists") {
		t.Errorf("reopen beside an open one: %d %v", code, errs)
	}
	if _, _, err := c.PullRequests.Edit(ctx, "acme", "deploys", 99, &github.PullRequest{Title: github.String("x")}); err == nil {
		t.Error("editing a missing pull request succeeded")
	}
	all := fake.PullRequests()
	if len(all) != 2 || all[0].State != "closed" || all[0].Title != "new" || all[0].Updates != 2 || !slices.Equal(all[0].Labels, []string{"x"}) ||
		all[1].Number != n+1 || all[1].State != "open" || all[1].Updates != 0 {
		t.Fatalf("%+v", all)
	}
}
