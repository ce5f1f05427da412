package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GitLabCommenter posts notes on one merge request through GitLab's REST
// API v4 (gitlab.com or self-managed: the runner's CI_API_V4_URL).
type GitLabCommenter struct {
	http    *http.Client
	api     string // .../api/v4, no trailing slash
	project string // id or path, URL-escaped in requests
	iid     int
	// header carries the token: PRIVATE-TOKEN for a personal, project or
	// group access token (GITLAB_TOKEN), JOB-TOKEN for CI_JOB_TOKEN.
	header, token string
	// web is the project's page (CI_PROJECT_URL), which note links start
	// at; "" when unknown.
	web string
}

// NewGitLab returns the commenter of merge request iid of project (its
// numeric id or its path); iid 0 is for finding it (MergeRequestOfCommit,
// then ForMergeRequest). jobToken says token is a CI_JOB_TOKEN.
func NewGitLab(httpClient *http.Client, apiURL, project string, iid int, token string, jobToken bool) (*GitLabCommenter, error) {
	if apiURL == "" {
		return nil, fmt.Errorf("no GitLab API URL (CI_API_V4_URL)")
	}
	if project == "" || iid < 0 {
		return nil, fmt.Errorf("no GitLab project or merge request")
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	h := "PRIVATE-TOKEN"
	if jobToken {
		h = "JOB-TOKEN"
	}
	return &GitLabCommenter{http: httpClient, api: strings.TrimRight(apiURL, "/"), project: project, iid: iid, header: h, token: token}, nil
}

// Limit is GitLab's note body limit.
func (c *GitLabCommenter) Limit() int { return GitLabNoteLimit }

type glNote struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system"`
}

func (c *GitLabCommenter) notesURL() string {
	return fmt.Sprintf("%s/projects/%s/merge_requests/%d/notes", c.api, url.PathEscape(c.project), c.iid)
}

func (c *GitLabCommenter) noteURL(id int64) string {
	return fmt.Sprintf("%s/%d", c.notesURL(), id)
}

// WithProjectURL returns the commenter whose note links start at the
// project's page, projectURL (CI_PROJECT_URL, e.g.
// https://gitlab.example.com/group/project). Without it, links are built
// from the API URL's server and the project's path; a project known only
// by its numeric id then gets no link, since its page is not at its id.
// A projectURL that is not a plain http(s) URL is ignored.
func (c *GitLabCommenter) WithProjectURL(projectURL string) *GitLabCommenter {
	d := *c
	d.web = ""
	if u, err := url.Parse(projectURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") &&
		u.Host != "" && u.User == nil && u.RawQuery == "" && u.Fragment == "" {
		d.web = strings.TrimRight(u.String(), "/")
	}
	return &d
}

// webURL is the merge request note's page: under the project's page when
// it is known, else under the API URL's server and the project's path; ""
// when neither is known.
func (c *GitLabCommenter) webURL(id int64) string {
	base := c.web
	if base == "" {
		server := strings.TrimSuffix(c.api, "/api/v4")
		if server == c.api || isNumericID(c.project) {
			return ""
		}
		base = server + "/" + strings.Trim(c.project, "/")
	}
	return fmt.Sprintf("%s/-/merge_requests/%d#note_%d", base, c.iid, id)
}

// isNumericID reports whether a GitLab project is named by its numeric id
// rather than by its path.
func isNumericID(project string) bool {
	_, err := strconv.ParseUint(project, 10, 64)
	return err == nil
}

// gitlabRequest builds a request to GitLab's API: body (if any) as JSON,
// the token in its header (PRIVATE-TOKEN or JOB-TOKEN).
func gitlabRequest(ctx context.Context, method, u string, body any, header, token string) (*http.Request, error) {
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
	if token != "" {
		req.Header.Set(header, token)
	}
	return req, nil
}

func (c *GitLabCommenter) do(ctx context.Context, method, u string, body any, out any) (*http.Response, error) {
	req, err := gitlabRequest(ctx, method, u, body, c.header, c.token)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error holds the URL only; the token is in a header.
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Message any    `json:"message"`
			Error   string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		msg := e.Error
		if e.Message != nil {
			msg = fmt.Sprint(e.Message)
		}
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		if resp.StatusCode == http.StatusRequestEntityTooLarge || strings.Contains(strings.ToLower(msg), "too long") {
			return resp, fmt.Errorf("%w: GitLab answered %d: %s", ErrBodyTooLong, resp.StatusCode, clip(msg, 300))
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (set GITLAB_TOKEN to a token with the api scope: CI_JOB_TOKEN cannot post notes on most instances)"
		}
		return resp, fmt.Errorf("GitLab answered %d %s: %s%s", resp.StatusCode, method, clip(msg, 300), hint)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("reading GitLab's answer: %w", err)
		}
	}
	return resp, nil
}

// List returns the merge request's notes written by people and bots
// (system notes left out), following pagination.
func (c *GitLabCommenter) List(ctx context.Context) ([]Comment, error) {
	var out []Comment
	page := "1"
	for page != "" {
		var notes []glNote
		resp, err := c.do(ctx, http.MethodGet, c.notesURL()+"?per_page=100&sort=asc&order_by=created_at&page="+page, nil, &notes)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			if !n.System {
				out = append(out, Comment{ID: n.ID, Body: n.Body, URL: c.webURL(n.ID)})
			}
		}
		page = resp.Header.Get("X-Next-Page")
		if _, err := strconv.Atoi(page); err != nil {
			page = ""
		}
	}
	return out, nil
}

// Create posts a note.
func (c *GitLabCommenter) Create(ctx context.Context, body string) (Comment, error) {
	var n glNote
	if _, err := c.do(ctx, http.MethodPost, c.notesURL(), map[string]string{"body": body}, &n); err != nil {
		return Comment{}, err
	}
	return Comment{ID: n.ID, Body: n.Body, URL: c.webURL(n.ID)}, nil
}

// Update replaces a note's body.
func (c *GitLabCommenter) Update(ctx context.Context, id int64, body string) (Comment, error) {
	var n glNote
	if _, err := c.do(ctx, http.MethodPut, c.noteURL(id), map[string]string{"body": body}, &n); err != nil {
		return Comment{}, err
	}
	return Comment{ID: n.ID, Body: n.Body, URL: c.webURL(n.ID)}, nil
}

// Delete removes a note.
func (c *GitLabCommenter) Delete(ctx context.Context, id int64) error {
	_, err := c.do(ctx, http.MethodDelete, c.noteURL(id), nil, nil)
	return err
}

// ForMergeRequest returns the commenter of another merge request of the
// same project.
func (c *GitLabCommenter) ForMergeRequest(iid int) *GitLabCommenter {
	d := *c
	d.iid = iid
	return &d
}

// MergeRequestOfCommit returns the merge request that introduced sha,
// preferring a merged one; 0 when none did.
func (c *GitLabCommenter) MergeRequestOfCommit(ctx context.Context, sha string) (int, error) {
	var mrs []struct {
		IID   int    `json:"iid"`
		State string `json:"state"`
	}
	u := fmt.Sprintf("%s/projects/%s/repository/commits/%s/merge_requests", c.api, url.PathEscape(c.project), url.PathEscape(sha))
	if _, err := c.do(ctx, http.MethodGet, u, nil, &mrs); err != nil {
		return 0, err
	}
	for _, m := range mrs {
		if m.State == "merged" {
			return m.IID, nil
		}
	}
	if len(mrs) > 0 {
		return mrs[0].IID, nil
	}
	return 0, nil
}

// SetLabels adds and removes labels of the merge request (labels GitLab
// does not know yet are created by it).
func (c *GitLabCommenter) SetLabels(ctx context.Context, add, remove []string) error {
	body := map[string]string{"add_labels": strings.Join(add, ","), "remove_labels": strings.Join(remove, ",")}
	_, err := c.do(ctx, http.MethodPut, fmt.Sprintf("%s/projects/%s/merge_requests/%d", c.api, url.PathEscape(c.project), c.iid), body, nil)
	return err
}
