package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// GitLabPullRequester opens and updates the merge requests of one GitLab
// project through the REST API v4.
type GitLabPullRequester struct {
	c        *GitLabCommenter
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
	return &GitLabPullRequester{c: c, jobToken: jobToken}, nil
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

// glError is an answer of GitLab that is not a success.
type glError struct {
	status int
	msg    string
}

func (e *glError) Error() string { return fmt.Sprintf("GitLab answered %d %s", e.status, e.msg) }

// do sends a request with the token in its header and decodes the answer
// into out; an answer that is not a success is a *glError.
func (p *GitLabPullRequester) do(ctx context.Context, method, u string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pipe")
	if p.c.token != "" {
		req.Header.Set(p.c.header, p.c.token)
	}
	resp, err := p.c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("reading GitLab's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := glMessage(data)
		if len(p.c.token) >= minSecret {
			msg = strings.ReplaceAll(msg, p.c.token, "***")
		}
		return resp.Header, &glError{status: resp.StatusCode, msg: clip(msg, 300)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("reading GitLab's answer to %s: %w", method, err)
		}
	}
	return resp.Header, nil
}

// glMessage flattens GitLab's error bodies: {"message": "..."},
// {"message": ["...", ...]}, {"message": {"field": ["..."]}} and
// {"error": "...", "error_description": "..."}. Other bodies (an HTML
// page of a proxy) are not repeated.
func glMessage(data []byte) string {
	var e struct {
		Message          json.RawMessage `json:"message"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(data, &e) != nil {
		return "(no message)"
	}
	var parts []string
	var str string
	var list []string
	var fields map[string]json.RawMessage
	switch {
	case json.Unmarshal(e.Message, &str) == nil && str != "":
		parts = append(parts, str)
	case json.Unmarshal(e.Message, &list) == nil:
		parts = append(parts, list...)
	case json.Unmarshal(e.Message, &fields) == nil:
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var vs []string
			if json.Unmarshal(fields[k], &vs) != nil {
				var v string
				_ = json.Unmarshal(fields[k], &v)
				vs = []string{v}
			}
			parts = append(parts, k+" "+strings.Join(vs, ", "))
		}
	}
	if e.Error != "" {
		parts = append(parts, strings.TrimSpace(e.Error+": "+e.ErrorDescription))
	}
	if len(parts) == 0 {
		return "(no message)"
	}
	return strings.TrimSuffix(strings.Join(parts, "; "), ":")
}

// mrExists reports whether err is GitLab's 409 for a second open merge
// request from the same source branch.
func mrExists(err error) bool {
	var ge *glError
	return errors.As(err, &ge) && ge.status == http.StatusConflict && strings.Contains(strings.ToLower(ge.msg), "already exists")
}

// explain says what GitLab refused about the merge request of s and what
// to do about it.
func (p *GitLabPullRequester) explain(err error, s PullRequestSpec) string {
	var ge *glError
	if !errors.As(err, &ge) {
		return err.Error()
	}
	lower := strings.ToLower(ge.msg)
	switch {
	case p.jobToken && (ge.status == http.StatusUnauthorized || ge.status == http.StatusForbidden):
		return ge.Error() + ": a CI_JOB_TOKEN cannot open or edit merge requests; set GITLAB_TOKEN to a project or personal access token with the api scope (and at least the Developer role)"
	case ge.status == http.StatusUnauthorized:
		return ge.Error() + ": the token is invalid, expired or revoked"
	case ge.status == http.StatusForbidden:
		return ge.Error() + fmt.Sprintf(": the token needs the api scope and at least the Developer role in %s", p.c.project)
	case ge.status == http.StatusNotFound:
		return ge.Error() + fmt.Sprintf(": project %s does not exist, or the token cannot see it (it needs the api scope)", p.c.project)
	case (ge.status == http.StatusBadRequest || ge.status == http.StatusUnprocessableEntity) && strings.Contains(lower, "does not exist"):
		if !strings.Contains(lower, "source") && strings.Contains(lower, "target") {
			return fmt.Sprintf("the target branch %q does not exist in %s: check the branch the merge request should merge into (%s)", s.Base, p.c.project, ge.Error())
		}
		return fmt.Sprintf("branch %q does not exist in %s: push it before opening the merge request (%s)", s.Head, p.c.project, ge.Error())
	}
	return ge.Error()
}
