package fakes

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// createPull opens a pull request, refusing what GitHub refuses with its
// 422 shapes: missing fields, a branch that does not exist, a head equal
// to the base, a second open pull request from the same head into the
// same base, a body over the limit.
func (g *GitHub) createPull(w http.ResponseWriter, base, owner, full string, body []byte) {
	var in struct{ Title, Head, Base, Body *string }
	if json.Unmarshal(body, &in) != nil {
		ghErr(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var errs []map[string]string
	for _, f := range []struct {
		name string
		v    *string
	}{{"title", in.Title}, {"head", in.Head}, {"base", in.Base}} {
		if f.v == nil || strings.TrimSpace(*f.v) == "" {
			errs = append(errs, map[string]string{"resource": "PullRequest", "field": f.name, "code": "missing_field"})
		}
	}
	if len(errs) > 0 {
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", errs...)
		return
	}
	head, baseRef := *in.Head, *in.Base
	headOK := true
	if o, b, ok := strings.Cut(head, ":"); ok {
		head, headOK = b, strings.EqualFold(o, owner)
	}
	if !g.branchExists(baseRef) {
		errs = append(errs, map[string]string{"resource": "PullRequest", "field": "base", "code": "invalid"})
	}
	if !headOK || !g.branchExists(head) {
		errs = append(errs, map[string]string{"resource": "PullRequest", "field": "head", "code": "invalid"})
	}
	if len(errs) > 0 {
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", errs...)
		return
	}
	if !g.pullAllowed(w, nil, full, owner, head, baseRef) || !g.pullBodyFits(w, in.Body) {
		return
	}
	now := time.Now().UTC()
	p := &GitHubPull{Number: g.nextIssueNumber(), Repo: full, Head: head, Base: baseRef, Title: *in.Title,
		State: "open", Created: now, Updated: now}
	if in.Body != nil {
		p.Body = *in.Body
	}
	g.pulls = append(g.pulls, p)
	writeJSON(w, http.StatusCreated, g.pullJSON(p, base))
}

// editPull changes the title, body, state or base of p.
func (g *GitHub) editPull(w http.ResponseWriter, base, owner string, p *GitHubPull, body []byte) {
	var in struct{ Title, Body, State, Base *string }
	if json.Unmarshal(body, &in) != nil {
		ghErr(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	switch {
	case in.Title != nil && strings.TrimSpace(*in.Title) == "":
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "field": "title", "code": "missing_field"})
		return
	case in.State != nil && *in.State != "open" && *in.State != "closed":
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "field": "state", "code": "invalid"})
		return
	case in.Base != nil && !g.branchExists(*in.Base):
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "field": "base", "code": "invalid"})
		return
	}
	state, baseRef := cmp.Or(ptrValue(in.State), p.State), cmp.Or(ptrValue(in.Base), p.Base)
	if (state == "open" && !g.pullAllowed(w, p, p.Repo, owner, p.Head, baseRef)) || !g.pullBodyFits(w, in.Body) {
		return
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	p.State, p.Base = state, baseRef
	p.Updates++
	p.Updated = time.Now().UTC()
	writeJSON(w, http.StatusOK, g.pullJSON(p, base))
}

// pullAllowed answers GitHub's 422 when head equals base or another open
// pull request than self goes from head into base.
func (g *GitHub) pullAllowed(w http.ResponseWriter, self *GitHubPull, full, owner, head, baseRef string) bool {
	if head == baseRef {
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "code": "custom",
			"message": fmt.Sprintf("No commits between %s and %s", baseRef, head)})
		return false
	}
	for _, o := range g.pulls {
		if o != self && o.State == "open" && strings.EqualFold(o.Repo, full) && o.Head == head && o.Base == baseRef {
			ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "code": "custom",
				"message": fmt.Sprintf("A pull request already exists for %s:%s.", owner, head)})
			return false
		}
	}
	return true
}

func (g *GitHub) pullBodyFits(w http.ResponseWriter, body *string) bool {
	limit := cmp.Or(g.BodyLimit, 65536)
	if body == nil || utf8.RuneCountInString(*body) <= limit {
		return true
	}
	ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "code": "custom", "field": "body",
		"message": fmt.Sprintf("body is too long (maximum is %d characters)", limit)})
	return false
}

func ptrValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
