package fakes

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

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
