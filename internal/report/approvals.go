package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// ApprovalCommand is the PR comment command that approves a deployment
// paused at a WAIT_APPROVAL stage.
const ApprovalCommand = "/pipe approve"

// PRComment is an issue comment of a pull request with its author and
// times (the body is the current one: an edited comment counts by it).
type PRComment struct {
	ID        int64
	User      string
	Body      string
	URL       string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PRApproval is an approval given by a PR comment.
type PRApproval struct {
	By   string
	Time time.Time
	URL  string
}

// IsApprovalCommand reports whether body holds the approval command for
// app: a line that starts with "/pipe approve", alone or followed by the
// app's name ("/pipe approve web"); a command naming another app does not
// approve this one.
func IsApprovalCommand(body, app string) bool {
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, " \t\r"), ApprovalCommand)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		if rest[0] != ' ' && rest[0] != '\t' {
			continue // "/pipe approved", "/pipe approve-all"
		}
		if f := strings.Fields(rest); len(f) == 1 && f[0] == app {
			return true
		}
	}
	return false
}

// PRApprovals returns the approvals of app in comments: comments created
// at or after since whose body holds the command (IsApprovalCommand), by
// users that allowed accepts, first comment per user.
func PRApprovals(ctx context.Context, comments []PRComment, app string, since time.Time, allowed func(ctx context.Context, user string) (bool, error)) ([]PRApproval, error) {
	var out []PRApproval
	seen := map[string]bool{}
	verdict := map[string]bool{}
	for _, c := range comments {
		if c.User == "" || seen[c.User] || c.CreatedAt.Before(since) || !IsApprovalCommand(c.Body, app) {
			continue
		}
		ok, known := verdict[c.User]
		if !known {
			var err error
			if ok, err = allowed(ctx, c.User); err != nil {
				return out, fmt.Errorf("permission of %s: %w", c.User, err)
			}
			verdict[c.User] = ok
		}
		if !ok {
			continue
		}
		seen[c.User] = true
		out = append(out, PRApproval{By: c.User, Time: c.CreatedAt, URL: c.URL})
	}
	return out, nil
}

// PRComments returns every comment of pull request number with its
// author and times, oldest first, following pagination.
func (g *GitHub) PRComments(ctx context.Context, number int) ([]PRComment, error) {
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []PRComment
	for {
		cs, resp, err := g.client.Issues.ListComments(ctx, g.owner, g.repo, number, opt)
		if err != nil {
			return nil, ghError(err)
		}
		for _, cm := range cs {
			out = append(out, PRComment{ID: cm.GetID(), User: cm.GetUser().GetLogin(), Body: cm.GetBody(), URL: cm.GetHTMLURL(),
				CreatedAt: cm.GetCreatedAt().Time, UpdatedAt: cm.GetUpdatedAt().Time})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// CanWrite reports whether user has the write, maintain or admin role on
// the repository (the collaborators permission API); a user GitHub does
// not know has none.
func (g *GitHub) CanWrite(ctx context.Context, user string) (bool, error) {
	req, err := g.client.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission",
		url.PathEscape(g.owner), url.PathEscape(g.repo), url.PathEscape(user)), nil)
	if err != nil {
		return false, err
	}
	var level struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := g.client.Do(ctx, req, &level); err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, ghError(err)
	}
	// permission is the legacy level (maintain reads as write); role_name
	// the role (admin, maintain, write, triage, read or a custom one).
	switch {
	case level.Permission == "admin", level.Permission == "write":
		return true, nil
	case level.RoleName == "admin", level.RoleName == "maintain", level.RoleName == "write":
		return true, nil
	}
	return false, nil
}
