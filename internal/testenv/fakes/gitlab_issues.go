package fakes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// GitLabIssue is an issue held by the GitLab fake.
type GitLabIssue struct {
	ID, IID     int
	Title       string
	Description string
	// State is "opened" or "closed".
	State     string
	Labels    []string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
}

// gitlabIssueNote is a note of an issue.
type gitlabIssueNote struct {
	GitLabNote
	issue int
}

// gitlabFakeEpoch is the fake's clock start: each change moves it a second.
var gitlabFakeEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// AddIssue adds an issue (e.g. one a person opened) and returns its iid.
func (g *GitLab) AddIssue(title, description, state string, labels ...string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if state == "" {
		state = "opened"
	}
	return g.newIssue(title, description, state, labels).IID
}

func (g *GitLab) newIssue(title, description, state string, labels []string) *GitLabIssue {
	now := g.tick()
	is := &GitLabIssue{ID: 9000 + len(g.issues) + 1, IID: len(g.issues) + 1, Title: title, Description: description,
		State: state, Labels: slices.Clone(labels), CreatedAt: now, UpdatedAt: now}
	if state == "closed" {
		is.ClosedAt = &now
	}
	g.issues = append(g.issues, is)
	return is
}

func (g *GitLab) tick() time.Time {
	g.clock++
	return gitlabFakeEpoch.Add(time.Duration(g.clock) * time.Second)
}

// Issue returns issue iid (false when there is none).
func (g *GitLab) Issue(iid int) (GitLabIssue, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if iid < 1 || iid > len(g.issues) {
		return GitLabIssue{}, false
	}
	is := *g.issues[iid-1]
	is.Labels = slices.Clone(is.Labels)
	return is, true
}

// Issues returns every issue, by iid.
func (g *GitLab) Issues() []GitLabIssue {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GitLabIssue, 0, len(g.issues))
	for _, is := range g.issues {
		c := *is
		c.Labels = slices.Clone(is.Labels)
		out = append(out, c)
	}
	return out
}

// IssueNotes returns the notes of issue iid, oldest first, system notes
// (such as GitLab's "closed") included.
func (g *GitLab) IssueNotes(iid int) []GitLabNote {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GitLabNote
	for _, n := range g.issueNotes {
		if n.issue == iid {
			out = append(out, n.GitLabNote)
		}
	}
	return out
}

func (g *GitLab) issueWebURL(iid int) string {
	return fmt.Sprintf("https://gitlab.example/%s/-/issues/%d", g.Project, iid)
}

// issueJSON is GitLab's issue representation (GET /projects/:id/issues/:iid).
func (g *GitLab) issueJSON(is *GitLabIssue) map[string]any {
	var closedAt, closedBy any
	if is.ClosedAt != nil {
		closedAt = is.ClosedAt.Format(time.RFC3339Nano)
		closedBy = glUser()
	}
	notes := 0
	for _, n := range g.issueNotes {
		if n.issue == is.IID && !n.System {
			notes++
		}
	}
	labels := is.Labels
	if labels == nil {
		labels = []string{}
	}
	web := g.issueWebURL(is.IID)
	api := fmt.Sprintf("http://gitlab.example/api/v4/projects/%d", g.ProjectID)
	return map[string]any{
		"id": is.ID, "iid": is.IID, "project_id": g.ProjectID,
		"title": is.Title, "description": is.Description, "state": is.State,
		"created_at": is.CreatedAt.Format(time.RFC3339Nano), "updated_at": is.UpdatedAt.Format(time.RFC3339Nano),
		"closed_at": closedAt, "closed_by": closedBy,
		"labels": labels, "milestone": nil, "assignees": []any{}, "assignee": nil,
		"author": glUser(), "type": "ISSUE", "issue_type": "issue",
		"user_notes_count": notes, "merge_requests_count": 0, "upvotes": 0, "downvotes": 0,
		"due_date": nil, "confidential": false, "discussion_locked": nil, "weight": nil,
		"web_url":                web,
		"time_stats":             map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"has_tasks":              false, "blocking_issues_count": 0,
		"references": map[string]any{"short": fmt.Sprintf("#%d", is.IID), "relative": fmt.Sprintf("#%d", is.IID), "full": fmt.Sprintf("%s#%d", g.Project, is.IID)},
		"_links": map[string]any{
			"self": fmt.Sprintf("%s/issues/%d", api, is.IID), "notes": fmt.Sprintf("%s/issues/%d/notes", api, is.IID),
			"award_emoji": fmt.Sprintf("%s/issues/%d/award_emoji", api, is.IID), "project": api,
		},
		"subscribed": true,
	}
}

func glUser() map[string]any {
	return map[string]any{"id": 1, "username": "project_1_bot", "name": "pipe bot", "state": "active",
		"avatar_url": nil, "web_url": "https://gitlab.example/project_1_bot"}
}

// labelList reads GitLab's labels parameter: a comma-separated string or
// an array.
func labelList(v any) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch v := v.(type) {
	case string:
		for _, l := range strings.Split(v, ",") {
			add(l)
		}
	case []any:
		for _, l := range v {
			if s, ok := l.(string); ok {
				add(s)
			}
		}
	}
	return out
}

// glPage writes GitLab's offset pagination headers and returns the slice
// bounds of page.
func (g *GitLab) glPage(w http.ResponseWriter, q url.Values, n int) (start, end int) {
	per := atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	if g.PerPage > 0 && per > g.PerPage {
		per = g.PerPage
	} else if per > 100 {
		per = 100
	}
	page := max(atoi(q.Get("page")), 1)
	start = min((page-1)*per, n)
	end = min(start+per, n)
	pages := max((n+per-1)/per, 1)
	w.Header().Set("X-Page", strconv.Itoa(page))
	w.Header().Set("X-Per-Page", strconv.Itoa(per))
	w.Header().Set("X-Total", strconv.Itoa(n))
	w.Header().Set("X-Total-Pages", strconv.Itoa(pages))
	w.Header().Set("X-Prev-Page", "")
	if page > 1 {
		w.Header().Set("X-Prev-Page", strconv.Itoa(page-1))
	}
	w.Header().Set("X-Next-Page", "")
	if end < n {
		w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
	}
	return start, end
}

// serveIssues answers projects/:id/issues[/:iid[/notes]]; it reports
// whether the path was one of those. The caller holds g.mu.
func (g *GitLab) serveIssues(w http.ResponseWriter, r *http.Request, seg []string, body []byte) bool {
	if len(seg) < 3 || seg[0] != "projects" || seg[2] != "issues" || len(seg) > 5 || len(seg) == 5 && seg[4] != "notes" {
		return false
	}
	project, _ := url.PathUnescape(seg[1])
	if project != g.Project && project != strconv.Itoa(g.ProjectID) {
		glErr(w, http.StatusNotFound, "404 Project Not Found")
		return true
	}
	var in map[string]any
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		glErr(w, http.StatusBadRequest, "400 Bad request")
		return true
	}
	str := func(k string) (string, bool) { s, ok := in[k].(string); return s, ok }
	if len(seg) == 3 {
		switch r.Method {
		case http.MethodGet:
			g.listIssues(w, r.URL.Query())
		case http.MethodPost:
			title, _ := str("title")
			if title == "" {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "title is missing"})
				return true
			}
			desc, _ := str("description")
			if !g.descriptionFits(w, desc) {
				return true
			}
			is := g.newIssue(title, desc, "opened", labelList(in["labels"]))
			writeJSON(w, http.StatusCreated, g.issueJSON(is))
		default:
			glErr(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
		return true
	}
	iid := atoi(seg[3])
	if iid < 1 || iid > len(g.issues) {
		glErr(w, http.StatusNotFound, "404 Issue Not Found")
		return true
	}
	is := g.issues[iid-1]
	if len(seg) == 5 {
		switch r.Method {
		case http.MethodGet:
			var all []*gitlabIssueNote
			for _, n := range g.issueNotes {
				if n.issue == iid {
					all = append(all, n)
				}
			}
			start, end := g.glPage(w, r.URL.Query(), len(all))
			out := []map[string]any{}
			for _, n := range all[start:end] {
				out = append(out, issueNoteJSON(n))
			}
			writeJSON(w, http.StatusOK, out)
		case http.MethodPost:
			b, _ := str("body")
			if b == "" {
				glErr(w, http.StatusBadRequest, "400 (Bad request) \"body\" not given")
				return true
			}
			if !g.fits(w, b) {
				return true
			}
			writeJSON(w, http.StatusCreated, issueNoteJSON(g.addIssueNote(iid, b, false)))
		default:
			glErr(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
		return true
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, g.issueJSON(is))
	case http.MethodPut:
		if t, ok := str("title"); ok {
			if t == "" {
				writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"title": {"can't be blank"}}})
				return true
			}
			is.Title = t
		}
		if d, ok := str("description"); ok {
			if !g.descriptionFits(w, d) {
				return true
			}
			is.Description = d
		}
		if v, ok := in["labels"]; ok {
			is.Labels = labelList(v)
		}
		for _, l := range labelList(in["add_labels"]) {
			if !slices.Contains(is.Labels, l) {
				is.Labels = append(is.Labels, l)
			}
		}
		for _, l := range labelList(in["remove_labels"]) {
			if i := slices.Index(is.Labels, l); i >= 0 {
				is.Labels = slices.Delete(is.Labels, i, i+1)
			}
		}
		now := g.tick()
		switch ev, _ := str("state_event"); ev {
		case "":
		case "close":
			if is.State != "closed" {
				is.State, is.ClosedAt = "closed", &now
				g.addIssueNote(iid, "closed", true)
			}
		case "reopen":
			if is.State != "opened" {
				is.State, is.ClosedAt = "opened", nil
				g.addIssueNote(iid, "reopened", true)
			}
		default:
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "state_event does not have a valid value"})
			return true
		}
		is.UpdatedAt = now
		writeJSON(w, http.StatusOK, g.issueJSON(is))
	case http.MethodDelete:
		glErr(w, http.StatusForbidden, "403 Forbidden")
	default:
		glErr(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
	return true
}

func (g *GitLab) listIssues(w http.ResponseWriter, q url.Values) {
	state := q.Get("state")
	switch state {
	case "", "all":
		state = ""
	case "opened", "closed":
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "state does not have a valid value"})
		return
	}
	want := labelList(q.Get("labels"))
	search := strings.ToLower(q.Get("search"))
	var all []*GitLabIssue
	for _, is := range g.issues {
		if state != "" && is.State != state {
			continue
		}
		if slices.ContainsFunc(want, func(l string) bool { return !slices.Contains(is.Labels, l) }) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(is.Title), search) && !strings.Contains(strings.ToLower(is.Description), search) {
			continue
		}
		all = append(all, is)
	}
	// GitLab's default order is created_at, newest first.
	if q.Get("sort") != "asc" {
		slices.Reverse(all)
	}
	start, end := g.glPage(w, q, len(all))
	out := []map[string]any{}
	for _, is := range all[start:end] {
		out = append(out, g.issueJSON(is))
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *GitLab) addIssueNote(iid int, body string, system bool) *gitlabIssueNote {
	g.nextID++
	n := &gitlabIssueNote{GitLabNote: GitLabNote{ID: g.nextID, Body: body, System: system}, issue: iid}
	g.issueNotes = append(g.issueNotes, n)
	return n
}

func issueNoteJSON(n *gitlabIssueNote) map[string]any {
	return map[string]any{"id": n.ID, "type": nil, "body": n.Body, "system": n.System, "noteable_id": 9000 + n.issue,
		"noteable_type": "Issue", "noteable_iid": n.issue, "resolvable": false, "confidential": false, "internal": false,
		"created_at": gitlabFakeEpoch.Format(time.RFC3339Nano), "updated_at": gitlabFakeEpoch.Format(time.RFC3339Nano),
		"author": glUser()}
}

// descriptionFits refuses a description over GitLab's 1,048,576 characters.
func (g *GitLab) descriptionFits(w http.ResponseWriter, d string) bool {
	const limit = 1048576
	if utf8.RuneCountInString(d) <= limit {
		return true
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"description": {"is too long (maximum is 1048576 characters)"}}})
	return false
}
