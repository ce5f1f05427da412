package fakes

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// GitLabNote is a merge request note held by the GitLab fake.
type GitLabNote struct {
	ID     int64
	MR     int
	Body   string
	System bool
}

// GitLab is a fake GitLab REST API v4 (merge request notes and labels,
// issues and their notes), served under
// /api/v4. Projects are addressed by id or URL-encoded path, as GitLab
// does.
type GitLab struct {
	// Project is the project path (group/name) and ProjectID its id; both
	// address it.
	Project   string
	ProjectID int
	// Token is the PRIVATE-TOKEN or JOB-TOKEN requests must carry.
	Token string
	// PerPage caps page sizes (GitLab's is 100); 0 means 100.
	PerPage int
	// BodyLimit is the most characters of a note (1,000,000).
	BodyLimit int
	// BranchExists says whether a branch of the project exists, for merge
	// requests (gitlab_mrs.go); nil: every branch exists. It is called with
	// the fake locked: it must not call the fake.
	BranchExists func(branch string) bool
	// TokenScope is the scope of Token: "" or "api", or "read_api"
	// (writing merge requests answers 403 insufficient_scope).
	TokenScope string

	mu       sync.Mutex
	nextID   int64
	notes    []*GitLabNote
	mrsOfSHA map[string][]int
	labels   map[int][]string
	requests []Request

	issues     []*GitLabIssue
	issueNotes []*gitlabIssueNote
	clock      int
	mrs        []*GitLabMR // gitlab_mrs.go
}

// SetMergeRequestsOfCommit makes GET .../repository/commits/SHA/merge_requests
// answer these merged merge requests.
func (g *GitLab) SetMergeRequestsOfCommit(sha string, iids ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mrsOfSHA == nil {
		g.mrsOfSHA = map[string][]int{}
	}
	g.mrsOfSHA[sha] = iids
}

// NewGitLab starts a fake GitLab.
func NewGitLab(project string, projectID int, token string) (*GitLab, *httptest.Server) {
	g := &GitLab{Project: project, ProjectID: projectID, Token: token, nextID: 500}
	return g, httptest.NewServer(g)
}

// AddNote adds a note (a person's, or a system note).
func (g *GitLab) AddNote(mr int, body string, system bool) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	g.notes = append(g.notes, &GitLabNote{ID: g.nextID, MR: mr, Body: body, System: system})
	return g.nextID
}

// Notes returns the notes of a merge request, oldest first.
func (g *GitLab) Notes(mr int) []GitLabNote {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GitLabNote
	for _, n := range g.notes {
		if n.MR == mr {
			out = append(out, *n)
		}
	}
	return out
}

// Labels returns the labels of a merge request, sorted.
func (g *GitLab) Labels(mr int) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.labels[mr])
	slices.Sort(out)
	return out
}

// Requests returns the requests received so far.
func (g *GitLab) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

func glErr(w http.ResponseWriter, code int, msg any) {
	writeJSON(w, code, map[string]any{"message": msg})
}

func (g *GitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("PRIVATE-TOKEN")
	if auth == "" {
		auth = r.Header.Get("JOB-TOKEN")
	}
	// RawPath keeps the %2F of a project path.
	raw := r.URL.EscapedPath()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, Request{Method: r.Method, Path: raw, Query: r.URL.RawQuery, Auth: auth, Body: string(body)})
	if g.Token != "" && auth != g.Token {
		glErr(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(raw, "/api/v4"), "/"), "/")
	// projects/:id/issues[/:iid[/notes]]
	if g.serveIssues(w, r, seg, body) {
		return
	}
	// projects/:id/merge_requests[/:iid of a merge request of the fake]
	if g.serveMergeRequests(w, r, seg, body) {
		return
	}
	// projects/:id/repository/commits/:sha/merge_requests
	if len(seg) == 6 && seg[0] == "projects" && seg[2] == "repository" && seg[3] == "commits" && seg[5] == "merge_requests" && r.Method == http.MethodGet {
		out := []map[string]any{}
		for _, iid := range g.mrsOfSHA[seg[4]] {
			out = append(out, map[string]any{"iid": iid, "state": "merged"})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	// PUT projects/:id/merge_requests/:iid with add_labels/remove_labels
	if len(seg) == 4 && seg[0] == "projects" && seg[2] == "merge_requests" && r.Method == http.MethodPut {
		var in struct {
			AddLabels    string `json:"add_labels"`
			RemoveLabels string `json:"remove_labels"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			glErr(w, http.StatusBadRequest, "400 Bad request")
			return
		}
		if g.labels == nil {
			g.labels = map[int][]string{}
		}
		mr := atoi(seg[3])
		for _, l := range strings.Split(in.AddLabels, ",") {
			if l != "" && !slices.Contains(g.labels[mr], l) {
				g.labels[mr] = append(g.labels[mr], l)
			}
		}
		for _, l := range strings.Split(in.RemoveLabels, ",") {
			if i := slices.Index(g.labels[mr], l); i >= 0 {
				g.labels[mr] = slices.Delete(g.labels[mr], i, i+1)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"iid": mr, "labels": g.labels[mr]})
		return
	}
	// projects/:id/merge_requests/:iid/notes[/:note_id]
	if len(seg) < 5 || seg[0] != "projects" || seg[2] != "merge_requests" || seg[4] != "notes" {
		glErr(w, http.StatusNotFound, "404 Not Found")
		return
	}
	project, _ := url.PathUnescape(seg[1])
	if project != g.Project && project != strconv.Itoa(g.ProjectID) {
		glErr(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	mr := atoi(seg[3])
	switch {
	case len(seg) == 5 && r.Method == http.MethodGet:
		per := atoi(r.URL.Query().Get("per_page"))
		if per <= 0 {
			per = 20
		}
		if g.PerPage > 0 && per > g.PerPage {
			per = g.PerPage
		} else if per > 100 {
			per = 100
		}
		page := max(atoi(r.URL.Query().Get("page")), 1)
		var all []*GitLabNote
		for _, n := range g.notes {
			if n.MR == mr {
				all = append(all, n)
			}
		}
		start := min((page-1)*per, len(all))
		end := min(start+per, len(all))
		out := []map[string]any{}
		for _, n := range all[start:end] {
			out = append(out, noteJSON(n))
		}
		w.Header().Set("X-Page", strconv.Itoa(page))
		w.Header().Set("X-Per-Page", strconv.Itoa(per))
		w.Header().Set("X-Total", strconv.Itoa(len(all)))
		if end < len(all) {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		} else {
			w.Header().Set("X-Next-Page", "")
		}
		writeJSON(w, http.StatusOK, out)
	case len(seg) == 5 && r.Method == http.MethodPost:
		var in struct{ Body string }
		if json.Unmarshal(body, &in) != nil || in.Body == "" {
			glErr(w, http.StatusBadRequest, "400 (Bad request) \"body\" not given")
			return
		}
		if !g.fits(w, in.Body) {
			return
		}
		g.nextID++
		n := &GitLabNote{ID: g.nextID, MR: mr, Body: in.Body}
		g.notes = append(g.notes, n)
		writeJSON(w, http.StatusCreated, noteJSON(n))
	case len(seg) == 6:
		id := int64(atoi(seg[5]))
		i := slices.IndexFunc(g.notes, func(n *GitLabNote) bool { return n.ID == id && n.MR == mr })
		if i < 0 {
			glErr(w, http.StatusNotFound, "404 Note Not Found")
			return
		}
		switch r.Method {
		case http.MethodPut:
			var in struct{ Body string }
			if json.Unmarshal(body, &in) != nil || in.Body == "" {
				glErr(w, http.StatusBadRequest, "400 (Bad request) \"body\" not given")
				return
			}
			if !g.fits(w, in.Body) {
				return
			}
			g.notes[i].Body = in.Body
			writeJSON(w, http.StatusOK, noteJSON(g.notes[i]))
		case http.MethodDelete:
			g.notes = slices.Delete(g.notes, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		default:
			glErr(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
	default:
		glErr(w, http.StatusNotFound, "404 Not Found")
	}
}

func (g *GitLab) fits(w http.ResponseWriter, body string) bool {
	limit := g.BodyLimit
	if limit == 0 {
		limit = 1000000
	}
	if utf8.RuneCountInString(body) <= limit {
		return true
	}
	glErr(w, http.StatusBadRequest, map[string][]string{"note": {"is too long (maximum is " + strconv.Itoa(limit) + " characters)"}})
	return false
}

func noteJSON(n *GitLabNote) map[string]any {
	return map[string]any{"id": n.ID, "body": n.Body, "system": n.System, "noteable_type": "MergeRequest",
		"author": map[string]any{"username": "project_1_bot"}}
}
