package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// EnsurePullRequest opens the pull request from s.Head into s.Base of the
// repository, or updates the open one (see PullRequester). Labels are
// added through the pull request's issue. When labelling fails after the
// pull request was opened or updated, it is returned with the error.
func (g *GitHub) EnsurePullRequest(ctx context.Context, s PullRequestSpec) (PullRequest, error) {
	pr, err := g.ensurePull(ctx, s)
	// Transport errors name URLs: an API URL could carry credentials.
	return pr, redact.Error(err)
}

func (g *GitHub) ensurePull(ctx context.Context, s PullRequestSpec) (PullRequest, error) {
	s, err := s.normalize()
	if err != nil {
		return PullRequest{}, err
	}
	pr, err := g.openPull(ctx, s)
	if err != nil {
		return PullRequest{}, fmt.Errorf("list the open pull requests from branch %q into %q of %s/%s: %s", s.Head, s.Base, g.owner, g.repo, g.pullError(err, s))
	}
	if pr == nil {
		created, _, err := g.client.PullRequests.Create(ctx, g.owner, g.repo, &github.NewPullRequest{
			Title: &s.Title, Head: &s.Head, Base: &s.Base, Body: &s.Body,
		})
		switch {
		case err == nil:
			out := PullRequest{Number: created.GetNumber(), URL: created.GetHTMLURL(), Created: true}
			return out, g.addPullLabels(ctx, out, s.Labels)
		case !pullExists(err):
			return PullRequest{}, fmt.Errorf("open a pull request from branch %q into %q of %s/%s: %s", s.Head, s.Base, g.owner, g.repo, g.pullError(err, s))
		}
		// Another job opened it between the listing and now: update theirs.
		if pr, err = g.openPull(ctx, s); err != nil {
			return PullRequest{}, fmt.Errorf("list the open pull requests from branch %q into %q of %s/%s: %s", s.Head, s.Base, g.owner, g.repo, g.pullError(err, s))
		}
		if pr == nil {
			return PullRequest{}, fmt.Errorf("open a pull request from branch %q into %q of %s/%s: GitHub says one already exists but lists none open from this repository's branch; close the other one or use another branch", s.Head, s.Base, g.owner, g.repo)
		}
	}
	out := PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL()}
	edit := &github.PullRequest{}
	if pr.GetTitle() != s.Title {
		edit.Title = &s.Title
	}
	if pr.GetBody() != s.Body {
		edit.Body = &s.Body
	}
	if edit.Title != nil || edit.Body != nil {
		if _, _, err := g.client.PullRequests.Edit(ctx, g.owner, g.repo, out.Number, edit); err != nil {
			return PullRequest{}, fmt.Errorf("update pull request #%d (from branch %q into %q) of %s/%s: %s", out.Number, s.Head, s.Base, g.owner, g.repo, g.pullError(err, s))
		}
	}
	var have []string
	for _, l := range pr.Labels {
		have = append(have, l.GetName())
	}
	return out, g.addPullLabels(ctx, out, missingLabels(s.Labels, have))
}

// openPull returns the open pull request from this repository's branch
// s.Head into s.Base, nil when there is none. The listing is filtered by
// GitHub and checked again here.
func (g *GitHub) openPull(ctx context.Context, s PullRequestSpec) (*github.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + s.Head, Base: s.Base, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		prs, resp, err := g.client.PullRequests.List(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, err
		}
		for _, pr := range prs {
			head := pr.GetHead()
			fromHere := head.GetRepo() == nil || strings.EqualFold(head.GetRepo().GetOwner().GetLogin(), g.owner)
			if pr.GetState() == "open" && head.GetRef() == s.Head && pr.GetBase().GetRef() == s.Base && fromHere {
				return pr, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// addPullLabels adds labels to pull request pr (GitHub creates the ones
// the repository does not have yet).
func (g *GitHub) addPullLabels(ctx context.Context, pr PullRequest, labels []string) error {
	if len(labels) == 0 {
		return nil
	}
	if _, _, err := g.client.Issues.AddLabelsToIssue(ctx, g.owner, g.repo, pr.Number, labels); err != nil {
		detail := ghError(err)
		if code := ghStatus(err); code == http.StatusForbidden || code == http.StatusNotFound {
			detail = fmt.Errorf("GitHub answered %d %s: labelling needs the `pull-requests: write` permission, and `issues: write` to create a label the repository does not have yet", code, ghMessage(err))
		}
		return fmt.Errorf("pull request #%d (%s) of %s/%s is open, but adding the labels %s failed: %w", pr.Number, pr.URL, g.owner, g.repo, strings.Join(labels, ", "), detail)
	}
	return nil
}

// pullExists reports whether err is GitHub's 422 for a second open pull
// request from the same branch into the same base.
func pullExists(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if strings.Contains(strings.ToLower(e.Message), "a pull request already exists") {
			return true
		}
	}
	return strings.Contains(strings.ToLower(er.Message), "a pull request already exists")
}

// pullError says what GitHub refused about the pull request of s and what
// to do about it.
func (g *GitHub) pullError(err error, s PullRequestSpec) string {
	code := ghStatus(err)
	msg := ghMessage(err)
	repo := g.owner + "/" + g.repo
	switch code {
	case http.StatusUnauthorized:
		return fmt.Sprintf("GitHub answered 401 %s: the token is invalid or has expired", msg)
	case http.StatusForbidden, http.StatusNotFound:
		hint := fmt.Sprintf("the token needs the `pull-requests: write` and `contents: write` permissions on %s (a workflow's GITHUB_TOKEN: the job's `permissions:`; a fine-grained token: Pull requests and Contents, read and write)", repo)
		if strings.Contains(strings.ToLower(msg), "not permitted to create") {
			hint = fmt.Sprintf("allow it in %s's Settings > Actions > General > Workflow permissions (\"Allow GitHub Actions to create and approve pull requests\"), or use a token that is not the workflow's GITHUB_TOKEN", repo)
		}
		if code == http.StatusNotFound {
			hint += ", and the repository must exist"
		}
		return fmt.Sprintf("GitHub answered %d %s: %s", code, msg, hint)
	case http.StatusUnprocessableEntity:
		var er *github.ErrorResponse
		errors.As(err, &er)
		for _, e := range er.Errors {
			switch {
			case e.Field == "head" && e.Code == "invalid":
				return fmt.Sprintf("branch %q does not exist in %s: push it before opening the pull request", s.Head, repo)
			case e.Field == "base" && e.Code == "invalid":
				return fmt.Sprintf("the base branch %q does not exist in %s: check the branch the pull request should merge into", s.Base, repo)
			case strings.HasPrefix(e.Message, "No commits between"):
				return fmt.Sprintf("GitHub answered 422 %s: branch %q has no commit that %q lacks, so there is nothing to propose", strings.TrimSuffix(e.Message, "."), s.Head, s.Base)
			}
		}
	}
	return ghError(err).Error()
}

// ghStatus is the HTTP status of a GitHub error, 0 when it has none.
func ghStatus(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// ghMessage is GitHub's message of an error and of its validation
// errors.
func ghMessage(err error) string {
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		return err.Error()
	}
	msg := er.Message
	for _, e := range er.Errors {
		if e.Message != "" {
			msg += ": " + e.Message
		}
	}
	return strings.TrimSuffix(clip(msg, 300), ".")
}
