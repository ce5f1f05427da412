package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// GitHub talks to the GitHub REST API (github.com or GitHub Enterprise
// Server) for one repository through go-github.
type GitHub struct {
	client      *github.Client
	owner, repo string
}

// NewGitHub returns a client of repository "owner/name" at apiURL (the
// runner's GITHUB_API_URL: https://api.github.com, or
// https://HOST/api/v3 on GitHub Enterprise Server). The token is sent only
// in the Authorization header.
func NewGitHub(httpClient *http.Client, apiURL, repository, token string) (*GitHub, error) {
	owner, name, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("repository %q is not owner/name", repository)
	}
	if apiURL == "" {
		apiURL = "https://api.github.com"
	}
	u, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("invalid GitHub API URL %q", apiURL)
	}
	c := github.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	c.BaseURL = u
	c.UploadURL = u
	c.UserAgent = "pipe"
	return &GitHub{client: c, owner: owner, repo: name}, nil
}

// PR returns the Commenter of pull request number.
func (g *GitHub) PR(number int) *GitHubCommenter {
	return &GitHubCommenter{gh: g, number: number}
}

// GitHubCommenter posts on one pull request (its issue comments).
type GitHubCommenter struct {
	gh     *GitHub
	number int
}

// Limit is GitHub's comment body limit.
func (c *GitHubCommenter) Limit() int { return GitHubCommentLimit }

// List returns every comment of the pull request, following pagination.
func (c *GitHubCommenter) List(ctx context.Context) ([]Comment, error) {
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []Comment
	for {
		cs, resp, err := c.gh.client.Issues.ListComments(ctx, c.gh.owner, c.gh.repo, c.number, opt)
		if err != nil {
			return nil, ghError(err)
		}
		for _, cm := range cs {
			out = append(out, Comment{ID: cm.GetID(), Body: cm.GetBody(), URL: cm.GetHTMLURL()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Create posts a new comment.
func (c *GitHubCommenter) Create(ctx context.Context, body string) (Comment, error) {
	cm, _, err := c.gh.client.Issues.CreateComment(ctx, c.gh.owner, c.gh.repo, c.number, &github.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, ghError(err)
	}
	return Comment{ID: cm.GetID(), Body: cm.GetBody(), URL: cm.GetHTMLURL()}, nil
}

// Update replaces a comment's body.
func (c *GitHubCommenter) Update(ctx context.Context, id int64, body string) (Comment, error) {
	cm, _, err := c.gh.client.Issues.EditComment(ctx, c.gh.owner, c.gh.repo, id, &github.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, ghError(err)
	}
	return Comment{ID: cm.GetID(), Body: cm.GetBody(), URL: cm.GetHTMLURL()}, nil
}

// Delete removes a comment.
func (c *GitHubCommenter) Delete(ctx context.Context, id int64) error {
	_, err := c.gh.client.Issues.DeleteComment(ctx, c.gh.owner, c.gh.repo, id)
	return ghError(err)
}

// SetLabels adds the labels in add and removes those in remove that the
// pull request has (removing one it does not have is not an error).
func (g *GitHub) SetLabels(ctx context.Context, number int, add, remove []string) error {
	if len(add) > 0 {
		if _, _, err := g.client.Issues.AddLabelsToIssue(ctx, g.owner, g.repo, number, add); err != nil {
			return fmt.Errorf("adding labels: %w", ghError(err))
		}
	}
	for _, l := range remove {
		_, err := g.client.Issues.RemoveLabelForIssue(ctx, g.owner, g.repo, number, l)
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			return fmt.Errorf("removing label %s: %w", l, ghError(err))
		}
	}
	return nil
}

// PullRequestForCommit returns the open pull request that contains sha
// (the one that introduced it, for a merge commit on the default branch),
// preferring a merged one; 0 when there is none.
func (g *GitHub) PullRequestForCommit(ctx context.Context, sha string) (int, error) {
	prs, _, err := g.client.PullRequests.ListPullRequestsWithCommit(ctx, g.owner, g.repo, sha, &github.ListOptions{PerPage: 10})
	if err != nil {
		return 0, ghError(err)
	}
	for _, pr := range prs {
		if pr.MergedAt != nil {
			return pr.GetNumber(), nil
		}
	}
	if len(prs) > 0 {
		return prs[0].GetNumber(), nil
	}
	return 0, nil
}

// CommitComment posts a comment on a commit (when no pull request has it).
func (g *GitHub) CommitComment(ctx context.Context, sha, body string) (string, error) {
	cm, _, err := g.client.Repositories.CreateComment(ctx, g.owner, g.repo, sha, &github.RepositoryComment{Body: &body})
	if err != nil {
		return "", ghError(err)
	}
	return cm.GetHTMLURL(), nil
}

// CommitStatus sets a commit status: state is pending, success, failure or
// error; context names the check ("pipe/plan", "pipe/sync/web").
func (g *GitHub) CommitStatus(ctx context.Context, sha, state, context, description, targetURL string) error {
	st := &github.RepoStatus{State: &state, Context: &context, Description: github.String(clip(description, 140))}
	if targetURL != "" {
		st.TargetURL = &targetURL
	}
	_, _, err := g.client.Repositories.CreateStatus(ctx, g.owner, g.repo, sha, st)
	return ghError(err)
}

// Deployment is a deployment to create through the Deployments API.
type Deployment struct {
	Ref, Environment, Description string
	// Production marks the environment as a production one.
	Production bool
	// Payload is stored with the deployment (the app and record id).
	Payload map[string]string
}

// CreateDeployment creates a deployment and returns its id. It never
// merges branches and requires no other status checks: pipe records what
// it deploys, it does not gate on GitHub.
func (g *GitHub) CreateDeployment(ctx context.Context, d Deployment) (int64, error) {
	req := &github.DeploymentRequest{
		Ref: &d.Ref, Task: github.String("deploy"), AutoMerge: github.Bool(false),
		RequiredContexts: &[]string{}, Environment: &d.Environment, Description: github.String(clip(d.Description, 140)),
		ProductionEnvironment: github.Bool(d.Production),
	}
	if len(d.Payload) > 0 {
		req.Payload = d.Payload
	}
	dep, _, err := g.client.Repositories.CreateDeployment(ctx, g.owner, g.repo, req)
	if err != nil {
		return 0, ghError(err)
	}
	return dep.GetID(), nil
}

// DeploymentStatus adds a status to a deployment: state is in_progress,
// success, failure, error or inactive.
func (g *GitHub) DeploymentStatus(ctx context.Context, id int64, state, description, logURL string) error {
	req := &github.DeploymentStatusRequest{State: &state, Description: github.String(clip(description, 140)), AutoInactive: github.Bool(true)}
	if logURL != "" {
		req.LogURL = &logURL
	}
	_, _, err := g.client.Repositories.CreateDeploymentStatus(ctx, g.owner, g.repo, id, req)
	return ghError(err)
}

// ghError makes GitHub's answers readable and marks a refused body size
// with ErrBodyTooLong. go-github's messages never include the token.
func ghError(err error) error {
	if err == nil {
		return nil
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		for _, e := range er.Errors {
			if strings.Contains(strings.ToLower(e.Message), "too long") || e.Code == "too_long" || e.Code == "custom" && strings.Contains(e.Message, "long") {
				return fmt.Errorf("%w: GitHub answered %d: %s", ErrBodyTooLong, er.Response.StatusCode, e.Message)
			}
			if e.Message != "" {
				msg += ": " + e.Message
			}
		}
		if er.Response.StatusCode == http.StatusUnprocessableEntity && strings.Contains(strings.ToLower(er.Message), "too long") {
			return fmt.Errorf("%w: GitHub answered 422: %s", ErrBodyTooLong, er.Message)
		}
		hint := ""
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			hint = " (is the token valid?)"
		case http.StatusForbidden, http.StatusNotFound:
			hint = " (does the token have the permission? e.g. `pull-requests: write`, `deployments: write`, `statuses: write`)"
		}
		return fmt.Errorf("GitHub answered %d %s%s", er.Response.StatusCode, msg, hint)
	}
	return err
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
