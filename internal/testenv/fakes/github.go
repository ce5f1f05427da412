// Package fakes holds httptest fakes of the external services pipe talks
// to that cannot run here (GitHub REST, GitLab REST). They speak the real
// wire format, status codes and pagination of the endpoints pipe uses,
// enforce the services' limits, and record every request so that tests
// can check what was sent (and that no secret was).
package fakes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Request is a request a fake received.
type Request struct {
	Method, Path, Query string
	// Auth is the Authorization (GitHub) or token (GitLab) header.
	Auth string
	Body string
}

// GitHubComment is an issue comment held by the GitHub fake.
type GitHubComment struct {
	ID     int64  `json:"id"`
	Issue  int    `json:"-"`
	Body   string `json:"body"`
	User   string `json:"-"`
	Edited int    `json:"-"`
	// Created and Updated are the comment's created_at and updated_at.
	Created, Updated time.Time `json:"-"`
}

// GitHubDeployment is a deployment and its statuses.
type GitHubDeployment struct {
	ID          int64
	Ref         string
	Environment string
	Payload     map[string]string
	Statuses    []string // state: description
}

// GitHub is a fake GitHub REST API for one or more repositories. Serve it
// at the server root (api.github.com style) or under /api/v3 (GitHub
// Enterprise Server style): both are accepted.
type GitHub struct {
	// Token is the token requests must carry; empty accepts any.
	Token string
	// PerPage caps page sizes (GitHub's is 100) so tests can force
	// pagination; 0 means 100.
	PerPage int
	// BodyLimit is the most characters of a comment body (65536).
	BodyLimit int
	// BranchExists says whether a branch of the repository exists, for
	// pull requests (github_pulls.go); nil: every branch exists. It is
	// called with the fake locked: it must not call the fake.
	BranchExists func(branch string) bool
	// PullsPermission is the token's pull-requests permission: "" or
	// "write", or "read" (opening and editing pull requests answer 403).
	PullsPermission string

	mu             sync.Mutex
	pulls          []*GitHubPull // github_pulls.go
	nextID         int64
	comments       []*GitHubComment
	labels         map[int][]string
	pullsOfCommit  map[string][]int
	commitComments map[string][]string
	statuses       map[string][]string // sha -> "context=state: description"
	deployments    []*GitHubDeployment
	requests       []Request
	permissions    map[string]string // user -> role_name (github_approvals.go)
}

// NewGitHub starts a fake GitHub; it is closed when the test ends (via the
// returned server's Close, which the caller schedules).
func NewGitHub(token string) (*GitHub, *httptest.Server) {
	g := &GitHub{Token: token, nextID: 1000, labels: map[int][]string{}, pullsOfCommit: map[string][]int{},
		commitComments: map[string][]string{}, statuses: map[string][]string{}}
	return g, httptest.NewServer(g)
}

// AddComment adds a comment written by someone else (or by pipe, earlier).
func (g *GitHub) AddComment(issue int, user, body string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	now := time.Now().UTC()
	g.comments = append(g.comments, &GitHubComment{ID: g.nextID, Issue: issue, Body: body, User: user, Created: now, Updated: now})
	return g.nextID
}

// SetPullsOfCommit makes GET /commits/{sha}/pulls answer these PRs.
func (g *GitHub) SetPullsOfCommit(sha string, prs ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pullsOfCommit[sha] = prs
}

// Comments returns the comments of an issue, oldest first.
func (g *GitHub) Comments(issue int) []GitHubComment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GitHubComment
	for _, c := range g.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// Labels returns the labels of an issue, sorted.
func (g *GitHub) Labels(issue int) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.labels[issue])
	slices.Sort(out)
	return out
}

// CommitComments returns the comments posted on a commit.
func (g *GitHub) CommitComments(sha string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.commitComments[sha])
}

// Statuses returns the commit statuses of sha as "context=state: description".
func (g *GitHub) Statuses(sha string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.statuses[sha])
}

// Deployments returns the deployments created.
func (g *GitHub) Deployments() []GitHubDeployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GitHubDeployment
	for _, d := range g.deployments {
		c := *d
		c.Statuses = slices.Clone(d.Statuses)
		out = append(out, c)
	}
	return out
}

// Requests returns the requests received so far.
func (g *GitHub) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// ghErr writes GitHub's error shape.
func ghErr(w http.ResponseWriter, code int, msg string, errs ...map[string]string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	g.mu.Lock()
	g.requests = append(g.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: string(body)})
	g.mu.Unlock()
	if g.Token != "" {
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+g.Token && auth != "token "+g.Token {
			ghErr(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 4 || seg[0] != "repos" {
		ghErr(w, http.StatusNotFound, "Not Found")
		return
	}
	owner, repo, rest := seg[1], seg[2], seg[3:]
	base := "http://" + r.Host
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "collaborators" && rest[2] == "permission":
		g.permission(w, base, rest[1])
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		g.listComments(w, r, base, owner, repo, atoi(rest[1]))
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		var in struct{ Body *string }
		if json.Unmarshal(body, &in) != nil || in.Body == nil {
			ghErr(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
			return
		}
		if !g.bodyFits(w, *in.Body) {
			return
		}
		g.nextID++
		now := time.Now().UTC()
		c := &GitHubComment{ID: g.nextID, Issue: atoi(rest[1]), Body: *in.Body, User: "github-actions[bot]", Created: now, Updated: now}
		g.comments = append(g.comments, c)
		writeJSON(w, http.StatusCreated, g.commentJSON(c, owner, repo))
	case len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments":
		id := int64(atoi(rest[2]))
		i := slices.IndexFunc(g.comments, func(c *GitHubComment) bool { return c.ID == id })
		if i < 0 {
			ghErr(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodPatch:
			var in struct{ Body *string }
			if json.Unmarshal(body, &in) != nil || in.Body == nil {
				ghErr(w, http.StatusUnprocessableEntity, "Invalid request.")
				return
			}
			if !g.bodyFits(w, *in.Body) {
				return
			}
			g.comments[i].Body = *in.Body
			g.comments[i].Edited++
			g.comments[i].Updated = time.Now().UTC()
			writeJSON(w, http.StatusOK, g.commentJSON(g.comments[i], owner, repo))
		case http.MethodDelete:
			g.comments = slices.Delete(g.comments, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		default:
			ghErr(w, http.StatusNotFound, "Not Found")
		}
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "issues" && rest[2] == "labels":
		// GitHub takes {"labels": [...]} or a bare array.
		var in struct{ Labels []string }
		if err := json.Unmarshal(body, &in.Labels); err != nil {
			if err := json.Unmarshal(body, &in); err != nil {
				ghErr(w, http.StatusBadRequest, "Problems parsing JSON")
				return
			}
		}
		n := atoi(rest[1])
		for _, l := range in.Labels {
			if !slices.Contains(g.labels[n], l) {
				g.labels[n] = append(g.labels[n], l)
			}
		}
		writeJSON(w, http.StatusOK, labelsJSON(g.labels[n]))
	case r.Method == http.MethodDelete && len(rest) == 4 && rest[0] == "issues" && rest[2] == "labels":
		n := atoi(rest[1])
		name, _ := url.PathUnescape(rest[3])
		i := slices.Index(g.labels[n], name)
		if i < 0 {
			ghErr(w, http.StatusNotFound, "Label does not exist")
			return
		}
		g.labels[n] = slices.Delete(g.labels[n], i, i+1)
		writeJSON(w, http.StatusOK, labelsJSON(g.labels[n]))
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "commits" && rest[2] == "pulls":
		var out []map[string]any
		for _, n := range g.pullsOfCommit[rest[1]] {
			out = append(out, map[string]any{"number": n, "state": "closed", "merged_at": "2026-01-01T00:00:00Z",
				"html_url": fmt.Sprintf("%s/%s/%s/pull/%d", base, owner, repo, n)})
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "commits" && rest[2] == "comments":
		var in struct{ Body string }
		_ = json.Unmarshal(body, &in)
		if !g.bodyFits(w, in.Body) {
			return
		}
		g.commitComments[rest[1]] = append(g.commitComments[rest[1]], in.Body)
		g.nextID++
		writeJSON(w, http.StatusCreated, map[string]any{"id": g.nextID, "body": in.Body,
			"html_url": fmt.Sprintf("%s/%s/%s/commit/%s#commitcomment-%d", base, owner, repo, rest[1], g.nextID)})
	case r.Method == http.MethodPost && len(rest) == 2 && rest[0] == "statuses":
		var in struct{ State, Context, Description, TargetURL string }
		_ = json.Unmarshal(body, &in)
		if !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State) {
			ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "Status", "field": "state", "code": "custom", "message": "state is not included in the list"})
			return
		}
		g.statuses[rest[1]] = append(g.statuses[rest[1]], in.Context+"="+in.State+": "+in.Description)
		g.nextID++
		writeJSON(w, http.StatusCreated, map[string]any{"id": g.nextID, "state": in.State, "context": in.Context})
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "deployments":
		var in struct {
			Ref, Environment string
			Payload          map[string]string
		}
		_ = json.Unmarshal(body, &in)
		if in.Ref == "" {
			ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "Deployment", "field": "ref", "code": "missing_field"})
			return
		}
		g.nextID++
		g.deployments = append(g.deployments, &GitHubDeployment{ID: g.nextID, Ref: in.Ref, Environment: in.Environment, Payload: in.Payload})
		writeJSON(w, http.StatusCreated, map[string]any{"id": g.nextID, "ref": in.Ref, "environment": in.Environment})
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "deployments" && rest[2] == "statuses":
		id := int64(atoi(rest[1]))
		i := slices.IndexFunc(g.deployments, func(d *GitHubDeployment) bool { return d.ID == id })
		if i < 0 {
			ghErr(w, http.StatusNotFound, "Not Found")
			return
		}
		var in struct{ State, Description string }
		_ = json.Unmarshal(body, &in)
		if !slices.Contains([]string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}, in.State) {
			ghErr(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		g.deployments[i].Statuses = append(g.deployments[i].Statuses, in.State+": "+in.Description)
		g.nextID++
		writeJSON(w, http.StatusCreated, map[string]any{"id": g.nextID, "state": in.State})
	case rest[0] == "pulls" && len(rest) <= 2:
		g.servePulls(w, r, base, owner, repo, rest[1:], body)
	default:
		ghErr(w, http.StatusNotFound, "Not Found")
	}
}

// bodyFits answers GitHub's 422 for a body over the limit.
func (g *GitHub) bodyFits(w http.ResponseWriter, body string) bool {
	limit := g.BodyLimit
	if limit == 0 {
		limit = 65536
	}
	if utf8.RuneCountInString(body) <= limit {
		return true
	}
	ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{
		"resource": "IssueComment", "code": "unprocessable", "field": "data",
		"message": fmt.Sprintf("Body is too long (maximum is %d characters)", limit)})
	return false
}

func (g *GitHub) listComments(w http.ResponseWriter, r *http.Request, base, owner, repo string, issue int) {
	var all []*GitHubComment
	for _, c := range g.comments {
		if c.Issue == issue {
			all = append(all, c)
		}
	}
	start, end := g.ghPage(w, r, base, len(all))
	out := []map[string]any{}
	for _, c := range all[start:end] {
		out = append(out, g.commentJSON(c, owner, repo))
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *GitHub) commentJSON(c *GitHubComment, owner, repo string) map[string]any {
	m := map[string]any{
		"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.User, "type": "Bot"},
		"html_url": fmt.Sprintf("https://github.example/%s/%s/pull/%d#issuecomment-%d", owner, repo, c.Issue, c.ID),
	}
	commentTimes(m, c)
	return m
}

func labelsJSON(ls []string) []map[string]any {
	out := []map[string]any{}
	for _, l := range ls {
		out = append(out, map[string]any{"name": l})
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
