package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// GitLabPullRequester opens and updates the merge requests of one GitLab
// project through the REST API v4.
type GitLabPullRequester struct {
	c        *GitLabCommenter
	http     *http.Client // c's, not following redirects to other hosts
	jobToken bool
}

// NewGitLabPullRequester returns the merge request keeper of project (its
// numeric id or its path) at apiURL (the runner's CI_API_V4_URL), through
// the GitLab client of NewGitLab: the token goes in the PRIVATE-TOKEN
// header, or JOB-TOKEN when jobToken says it is a CI_JOB_TOKEN. GitLab
// does not let a CI_JOB_TOKEN open merge requests; the errors of such a
// client say which token to set instead.
func NewGitLabPullRequester(httpClient *http.Client, apiURL, project, token string, jobToken bool) (*GitLabPullRequester, error) {
	c, err := NewGitLab(httpClient, apiURL, project, 0, token, jobToken)
	if err != nil {
		return nil, err
	}
	// The token travels in a header Go keeps on a redirect to another
	// host: such a redirect is not followed.
	hc := *c.http
	next := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("GitLab redirected to another host, %s, where the token is not sent: set the API URL to the address it answers at", req.URL.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &GitLabPullRequester{c: c, http: &hc, jobToken: jobToken}, nil
}

// glMR is the part of a GitLab merge request pipe reads.
type glMR struct {
	IID             int      `json:"iid"`
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	State           string   `json:"state"`
	SourceBranch    string   `json:"source_branch"`
	TargetBranch    string   `json:"target_branch"`
	SourceProjectID int      `json:"source_project_id"`
	TargetProjectID int      `json:"target_project_id"`
	Labels          []string `json:"labels"`
	WebURL          string   `json:"web_url"`
}

// EnsurePullRequest opens the merge request from s.Head into s.Base of the
// project (deleting the source branch when it is merged), or updates the
// open one (see PullRequester). GitLab creates the labels the project does
// not have yet.
func (p *GitLabPullRequester) EnsurePullRequest(ctx context.Context, s PullRequestSpec) (PullRequest, error) {
	pr, err := p.ensure(ctx, s)
	// Transport errors name URLs: an API URL could carry credentials.
	return pr, redact.Error(err)
}

func (p *GitLabPullRequester) ensure(ctx context.Context, s PullRequestSpec) (PullRequest, error) {
	s, err := s.normalize()
	if err != nil {
		return PullRequest{}, err
	}
	for _, l := range s.Labels {
		if strings.Contains(l, ",") {
			return PullRequest{}, fmt.Errorf("label %q of the merge request from %q into %q holds a comma, which GitLab reads as a separator of labels", l, s.Head, s.Base)
		}
	}
	where := fmt.Sprintf("from branch %q into %q of %s", s.Head, s.Base, p.c.project)
	mr, err := p.openMR(ctx, s)
	if err != nil {
		return PullRequest{}, fmt.Errorf("list the open merge requests %s: %s", where, p.explain(err, s))
	}
	if mr == nil {
		body := map[string]any{"source_branch": s.Head, "target_branch": s.Base, "title": s.Title,
			"description": s.Body, "remove_source_branch": true}
		if len(s.Labels) > 0 {
			body["labels"] = strings.Join(s.Labels, ",")
		}
		var created glMR
		_, err := p.do(ctx, http.MethodPost, p.mrsURL(), body, &created)
		switch {
		case err == nil:
			return PullRequest{Number: created.IID, URL: created.WebURL, Created: true}, nil
		case !mrExists(err):
			return PullRequest{}, fmt.Errorf("open a merge request %s: %s", where, p.explain(err, s))
		}
		// Another job opened it between the listing and now: update theirs.
		if mr, err = p.openMR(ctx, s); err != nil {
			return PullRequest{}, fmt.Errorf("list the open merge requests %s: %s", where, p.explain(err, s))
		}
		if mr == nil {
			return PullRequest{}, fmt.Errorf("open a merge request %s: GitLab says one already exists but lists none open from this project's branch; close the other one or use another branch", where)
		}
	}
	update := map[string]string{}
	if mr.Title != s.Title {
		update["title"] = s.Title
	}
	if mr.Description != s.Body {
		update["description"] = s.Body
	}
	if add := missingLabels(s.Labels, mr.Labels); len(add) > 0 {
		update["add_labels"] = strings.Join(add, ",")
	}
	if len(update) > 0 {
		if _, err := p.do(ctx, http.MethodPut, fmt.Sprintf("%s/%d", p.mrsURL(), mr.IID), update, nil); err != nil {
			return PullRequest{}, fmt.Errorf("update merge request !%d %s: %s", mr.IID, where, p.explain(err, s))
		}
	}
	return PullRequest{Number: mr.IID, URL: mr.WebURL}, nil
}

func (p *GitLabPullRequester) mrsURL() string {
	return fmt.Sprintf("%s/projects/%s/merge_requests", p.c.api, url.PathEscape(p.c.project))
}

// openMR returns the open merge request from the project's branch s.Head
// into s.Base, nil when there is none; GitLab filters the listing and it
// is checked again here.
func (p *GitLabPullRequester) openMR(ctx context.Context, s PullRequestSpec) (*glMR, error) {
	q := url.Values{"state": {"opened"}, "source_branch": {s.Head}, "target_branch": {s.Base}, "per_page": {"100"}}
	for page := 1; ; {
		q.Set("page", strconv.Itoa(page))
		var mrs []glMR
		h, err := p.do(ctx, http.MethodGet, p.mrsURL()+"?"+q.Encode(), nil, &mrs)
		if err != nil {
			return nil, err
		}
		for _, m := range mrs {
			fork := m.SourceProjectID != 0 && m.TargetProjectID != 0 && m.SourceProjectID != m.TargetProjectID
			if m.State == "opened" && m.SourceBranch == s.Head && m.TargetBranch == s.Base && !fork {
				return &m, nil
			}
		}
		next, err := strconv.Atoi(h.Get("X-Next-Page"))
		if err != nil || next <= page {
			return nil, nil
		}
		page = next
	}
}
