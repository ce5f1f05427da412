package report

import (
	"context"
	"net/http"
)

// NewGitLabDriftIssues returns the GitLab issue keeper of project (its
// numeric id or its path) at apiURL (the runner's CI_API_V4_URL), through
// the GitLab client of NewGitLab: the token goes in the PRIVATE-TOKEN
// header, or JOB-TOKEN when jobToken says it is a CI_JOB_TOKEN (which most
// instances do not let open issues).
func NewGitLabDriftIssues(httpClient *http.Client, apiURL, project, token string, jobToken bool) (*DriftIssues, error) {
	c, err := NewGitLab(httpClient, apiURL, project, 0, token, jobToken)
	if err != nil {
		return nil, err
	}
	return &DriftIssues{t: gitlabIssues{c}, where: project}, nil
}

// gitlabIssues is the issueTracker of a GitLab project: issues are
// addressed by iid, closed with state_event=close.
type gitlabIssues struct{ c *GitLabCommenter }

func (gi gitlabIssues) listOpen(ctx context.Context) ([]driftIssue, error) {
	issues, err := gi.c.ListIssues(ctx, "opened", []string{DriftIssueLabel}, "")
	if err != nil {
		return nil, err
	}
	out := make([]driftIssue, 0, len(issues))
	for _, is := range issues {
		out = append(out, driftIssue{number: is.IID, body: is.Description, url: is.WebURL})
	}
	return out, nil
}

func (gi gitlabIssues) create(ctx context.Context, title, body string) (driftIssue, error) {
	is, err := gi.c.CreateIssue(ctx, title, body, []string{DriftIssueLabel})
	if err != nil {
		return driftIssue{}, err
	}
	return driftIssue{number: is.IID, body: is.Description, url: is.WebURL}, nil
}

func (gi gitlabIssues) setBody(ctx context.Context, number int, body string) error {
	_, err := gi.c.UpdateIssue(ctx, number, GitLabIssueUpdate{Description: &body})
	return err
}

func (gi gitlabIssues) comment(ctx context.Context, number int, body string) error {
	_, err := gi.c.CreateIssueNote(ctx, number, body)
	return err
}

func (gi gitlabIssues) close(ctx context.Context, number int) error {
	_, err := gi.c.UpdateIssue(ctx, number, GitLabIssueUpdate{StateEvent: "close"})
	return err
}
