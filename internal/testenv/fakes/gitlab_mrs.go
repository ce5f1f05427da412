package fakes

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// createMR opens a merge request, refusing what GitLab refuses: missing
// parameters (400), the same source and target (422), a second open merge
// request from the source branch into the target (409), a branch that
// does not exist (400), a description over the limit (400).
func (g *GitLab) createMR(w http.ResponseWriter, in map[string]any) {
	str := func(k string) string { s, _ := in[k].(string); return s }
	var missing []string
	for _, k := range []string{"source_branch", "target_branch", "title"} {
		if strings.TrimSpace(str(k)) == "" {
			missing = append(missing, k+" is missing")
		}
	}
	if len(missing) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(missing, ", ")})
		return
	}
	source, target := str("source_branch"), str("target_branch")
	if source == target {
		glErr(w, http.StatusUnprocessableEntity, []string{"You can't use same project/branch for source and target"})
		return
	}
	if other := g.openMR(nil, source, target); other != nil {
		glErr(w, http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", other.IID)})
		return
	}
	if !g.branchesExist(w, source, target) || !g.descriptionFits(w, str("description")) {
		return
	}
	now := g.tick()
	m := &GitLabMR{IID: g.nextMRIID(), SourceBranch: source, TargetBranch: target, Title: str("title"),
		Description: str("description"), State: "opened", ForceRemoveSourceBranch: truthy(in["remove_source_branch"]),
		CreatedAt: now, UpdatedAt: now}
	m.ID = 30000 + m.IID
	g.addMRLabels(m.IID, labelList(in["labels"]))
	g.mrs = append(g.mrs, m)
	writeJSON(w, http.StatusCreated, g.mrJSON(m))
}

// updateMR changes m: title, description, target_branch, labels,
// add_labels, remove_labels, state_event (close, reopen),
// remove_source_branch.
func (g *GitLab) updateMR(w http.ResponseWriter, m *GitLabMR, in map[string]any) {
	known := []string{"title", "description", "target_branch", "labels", "add_labels", "remove_labels", "state_event", "remove_source_branch"}
	if !slices.ContainsFunc(known, func(k string) bool { _, ok := in[k]; return ok }) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(known, ", ") + " are missing, at least one parameter must be provided"})
		return
	}
	title, hasTitle := in["title"].(string)
	desc, hasDesc := in["description"].(string)
	target := cmp.Or(stringOf(in["target_branch"]), m.TargetBranch)
	state := m.State
	switch ev := stringOf(in["state_event"]); {
	case ev == "close" && m.State == "opened":
		state = "closed"
	case ev == "reopen" && m.State == "closed":
		state = "opened"
	case ev != "" && ev != "close" && ev != "reopen":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "state_event does not have a valid value"})
		return
	}
	switch {
	case hasTitle && strings.TrimSpace(title) == "":
		glErr(w, http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}})
		return
	case state == "opened" && g.openMR(m, m.SourceBranch, target) != nil:
		glErr(w, http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", g.openMR(m, m.SourceBranch, target).IID)})
		return
	case target != m.TargetBranch && !g.branchesExist(w, m.SourceBranch, target):
		return
	case hasDesc && !g.descriptionFits(w, desc):
		return
	}
	if hasTitle {
		m.Title = title
	}
	if hasDesc {
		m.Description = desc
	}
	m.TargetBranch, m.State = target, state
	if v, ok := in["labels"]; ok {
		delete(g.labels, m.IID)
		g.addMRLabels(m.IID, labelList(v))
	}
	g.addMRLabels(m.IID, labelList(in["add_labels"]))
	for _, l := range labelList(in["remove_labels"]) {
		if i := slices.Index(g.labels[m.IID], l); i >= 0 {
			g.labels[m.IID] = slices.Delete(g.labels[m.IID], i, i+1)
		}
	}
	if v, ok := in["remove_source_branch"]; ok {
		m.ForceRemoveSourceBranch = truthy(v)
	}
	m.Updates++
	m.UpdatedAt = g.tick()
	writeJSON(w, http.StatusOK, g.mrJSON(m))
}

// branchesExist answers GitLab's 400 for branches the project does not
// have.
func (g *GitLab) branchesExist(w http.ResponseWriter, source, target string) bool {
	bad := map[string][]string{}
	if !g.branchExists(source) {
		bad["source_branch"] = []string{"does not exist"}
	}
	if !g.branchExists(target) {
		bad["target_branch"] = []string{"does not exist"}
	}
	if len(bad) == 0 {
		return true
	}
	glErr(w, http.StatusBadRequest, bad)
	return false
}

func stringOf(v any) string { s, _ := v.(string); return s }

// truthy reads a boolean parameter sent as JSON or as a form value.
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}
