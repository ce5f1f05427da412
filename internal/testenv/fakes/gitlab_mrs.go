package fakes

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// GitLabMR is a merge request held by the GitLab fake. Its iid is the one
// the fake keeps notes and labels by, so the note and label endpoints work
// on it.
type GitLabMR struct {
	ID, IID                    int
	SourceBranch, TargetBranch string
	Title, Description         string
	// State is "opened", "closed" or "merged".
	State                   string
	Labels                  []string
	ForceRemoveSourceBranch bool
	// Updates counts the PUT requests that edited it.
	Updates              int
	CreatedAt, UpdatedAt time.Time
}

// AddMergeRequest adds a merge request (one a person or another job
// opened) and returns its iid. SourceBranch and TargetBranch are required;
// IID 0 takes the next free one, State "" means opened.
func (g *GitLab) AddMergeRequest(m GitLabMR) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.SourceBranch == "" || m.TargetBranch == "" {
		panic("fakes: AddMergeRequest needs SourceBranch and TargetBranch")
	}
	if m.IID == 0 {
		m.IID = g.nextMRIID()
	}
	if m.ID == 0 {
		m.ID = 30000 + m.IID
	}
	m.State = cmp.Or(m.State, "opened")
	if m.CreatedAt.IsZero() {
		m.CreatedAt = g.tick()
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	g.addMRLabels(m.IID, m.Labels)
	m.Labels = nil
	g.mrs = append(g.mrs, &m)
	return m.IID
}

// MergeRequests returns every merge request, by iid, with its labels.
func (g *GitLab) MergeRequests() []GitLabMR {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GitLabMR, 0, len(g.mrs))
	for _, m := range g.mrs {
		c := *m
		c.Labels = slices.Clone(g.labels[m.IID])
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b GitLabMR) int { return cmp.Compare(a.IID, b.IID) })
	return out
}

// nextMRIID is the iid after every merge request iid the fake knows of.
// Called with g.mu held.
func (g *GitLab) nextMRIID() int {
	n := 0
	for _, m := range g.mrs {
		n = max(n, m.IID)
	}
	for _, note := range g.notes {
		n = max(n, note.MR)
	}
	for k := range g.labels {
		n = max(n, k)
	}
	for _, iids := range g.mrsOfSHA {
		for _, iid := range iids {
			n = max(n, iid)
		}
	}
	return n + 1
}

func (g *GitLab) addMRLabels(iid int, labels []string) {
	if g.labels == nil {
		g.labels = map[int][]string{}
	}
	for _, l := range labels {
		if !slices.Contains(g.labels[iid], l) {
			g.labels[iid] = append(g.labels[iid], l)
		}
	}
}

func (g *GitLab) branchExists(b string) bool { return g.BranchExists == nil || g.BranchExists(b) }

// openMR returns the open merge request other than self from source into
// target, nil when there is none.
func (g *GitLab) openMR(self *GitLabMR, source, target string) *GitLabMR {
	for _, m := range g.mrs {
		if m != self && m.State == "opened" && m.SourceBranch == source && m.TargetBranch == target {
			return m
		}
	}
	return nil
}

// serveMergeRequests answers projects/:id/merge_requests (list, create)
// and projects/:id/merge_requests/:iid (get, update) of the merge requests
// of the fake; it reports whether it answered (an iid the fake does not
// hold is left to the label route of gitlab.go). Called with g.mu held.
func (g *GitLab) serveMergeRequests(w http.ResponseWriter, r *http.Request, seg []string, body []byte) bool {
	if len(seg) < 3 || len(seg) > 4 || seg[0] != "projects" || seg[2] != "merge_requests" {
		return false
	}
	var mr *GitLabMR
	if len(seg) == 4 {
		iid := atoi(seg[3])
		i := slices.IndexFunc(g.mrs, func(m *GitLabMR) bool { return m.IID == iid })
		if i < 0 {
			return false
		}
		mr = g.mrs[i]
	}
	project, _ := url.PathUnescape(seg[1])
	switch {
	case project != g.Project && project != strconv.Itoa(g.ProjectID):
		glErr(w, http.StatusNotFound, "404 Project Not Found")
		return true
	case r.Header.Get("PRIVATE-TOKEN") == "" && r.Header.Get("JOB-TOKEN") != "":
		// The merge request API is not among those a CI_JOB_TOKEN reaches.
		glErr(w, http.StatusUnauthorized, "401 Unauthorized")
		return true
	case r.Method != http.MethodGet && g.TokenScope == "read_api":
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "insufficient_scope",
			"error_description": "The request requires higher privileges than provided by the access token.", "scope": "api"})
		return true
	}
	in := map[string]any{}
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		glErr(w, http.StatusBadRequest, "400 Bad request")
		return true
	}
	switch {
	case mr == nil && r.Method == http.MethodGet:
		g.listMRs(w, r.URL.Query())
	case mr == nil && r.Method == http.MethodPost:
		g.createMR(w, in)
	case mr != nil && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, g.mrJSON(mr))
	case mr != nil && r.Method == http.MethodPut:
		g.updateMR(w, mr, in)
	default:
		glErr(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
	return true
}

// listMRs filters by state ("all" by default), source_branch,
// target_branch and labels; orders by created_at (or updated_at), newest
// first unless sort=asc; and paginates as GitLab does.
func (g *GitLab) listMRs(w http.ResponseWriter, q url.Values) {
	state := cmp.Or(q.Get("state"), "all")
	if !slices.Contains([]string{"opened", "closed", "locked", "merged", "all"}, state) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "state does not have a valid value"})
		return
	}
	want := labelList(q.Get("labels"))
	var all []*GitLabMR
	for _, m := range g.mrs {
		switch {
		case state != "all" && m.State != state,
			q.Get("source_branch") != "" && m.SourceBranch != q.Get("source_branch"),
			q.Get("target_branch") != "" && m.TargetBranch != q.Get("target_branch"),
			slices.ContainsFunc(want, func(l string) bool { return !slices.Contains(g.labels[m.IID], l) }):
			continue
		}
		all = append(all, m)
	}
	slices.SortStableFunc(all, func(a, b *GitLabMR) int {
		c := a.CreatedAt.Compare(b.CreatedAt)
		if q.Get("order_by") == "updated_at" {
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		}
		c = cmp.Or(c, cmp.Compare(a.IID, b.IID))
		if q.Get("sort") != "asc" {
			return -c
		}
		return c
	})
	start, end := g.glPage(w, q, len(all))
	out := []map[string]any{}
	for _, m := range all[start:end] {
		out = append(out, g.mrJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}
