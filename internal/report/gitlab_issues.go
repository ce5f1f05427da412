package report

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GitLabIssue is the part of a GitLab issue pipe reads.
type GitLabIssue struct {
	IID         int    `json:"iid"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// State is "opened" or "closed".
	State  string   `json:"state"`
	Labels []string `json:"labels"`
	WebURL string   `json:"web_url"`
}

// GitLabIssueUpdate is a change of an issue (PUT /projects/:id/issues/:iid);
// nil and "" fields are left as they are.
type GitLabIssueUpdate struct {
	Description *string `json:"description,omitempty"`
	// StateEvent is "close" or "reopen".
	StateEvent string `json:"state_event,omitempty"`
}

func (c *GitLabCommenter) issuesURL() string {
	return fmt.Sprintf("%s/projects/%s/issues", c.api, url.PathEscape(c.project))
}

// ListIssues returns the issues of the project in state ("opened",
// "closed" or "all") that have every label of labels and, when search is
// not empty, contain it in their title or description; following
// pagination.
func (c *GitLabCommenter) ListIssues(ctx context.Context, state string, labels []string, search string) ([]GitLabIssue, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if len(labels) > 0 {
		q.Set("labels", strings.Join(labels, ","))
	}
	if search != "" {
		q.Set("search", search)
	}
	q.Set("per_page", "100")
	q.Set("order_by", "created_at")
	q.Set("sort", "asc")
	var out []GitLabIssue
	page := "1"
	for page != "" {
		q.Set("page", page)
		var issues []GitLabIssue
		resp, err := c.do(ctx, http.MethodGet, c.issuesURL()+"?"+q.Encode(), nil, &issues)
		if err != nil {
			return nil, err
		}
		out = append(out, issues...)
		next := resp.Header.Get("X-Next-Page")
		if n, err := strconv.Atoi(next); err != nil || next == page || n <= 0 {
			next = ""
		}
		page = next
	}
	return out, nil
}

// CreateIssue opens an issue (labels GitLab does not know yet are created
// by it).
func (c *GitLabCommenter) CreateIssue(ctx context.Context, title, description string, labels []string) (GitLabIssue, error) {
	body := map[string]string{"title": title, "description": description}
	if len(labels) > 0 {
		body["labels"] = strings.Join(labels, ",")
	}
	var is GitLabIssue
	_, err := c.do(ctx, http.MethodPost, c.issuesURL(), body, &is)
	return is, err
}

// UpdateIssue changes issue iid (its description, or closes or reopens it).
func (c *GitLabCommenter) UpdateIssue(ctx context.Context, iid int, u GitLabIssueUpdate) (GitLabIssue, error) {
	var is GitLabIssue
	_, err := c.do(ctx, http.MethodPut, fmt.Sprintf("%s/%d", c.issuesURL(), iid), u, &is)
	return is, err
}

// CreateIssueNote posts a note (a comment) on issue iid.
func (c *GitLabCommenter) CreateIssueNote(ctx context.Context, iid int, body string) (Comment, error) {
	var n glNote
	if _, err := c.do(ctx, http.MethodPost, fmt.Sprintf("%s/%d/notes", c.issuesURL(), iid), map[string]string{"body": body}, &n); err != nil {
		return Comment{}, err
	}
	u := ""
	if base := strings.TrimSuffix(c.api, "/api/v4"); base != c.api {
		u = fmt.Sprintf("%s/%s/-/issues/%d#note_%d", base, c.project, iid, n.ID)
	}
	return Comment{ID: n.ID, Body: n.Body, URL: u}, nil
}
