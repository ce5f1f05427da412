package fakes

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitHubPull is a pull request held by the GitHub fake. Pull requests
// share their numbers with issues, as on GitHub, so the issue endpoints
// (labels, comments) work on them.
type GitHubPull struct {
	Number int
	// Repo is the repository, "owner/name"; the head branch is one of its
	// branches (the fake has no forks).
	Repo        string
	Head, Base  string
	Title, Body string
	// State is "open" or "closed".
	State string
	// Labels are the labels of the pull request's issue.
	Labels []string
	// Updates counts the PATCH requests that edited it.
	Updates          int
	Created, Updated time.Time
}

// AddPullRequest adds a pull request (one a person or another job opened)
// and returns its number. Repo, Head and Base are required; Number 0 takes
// the next free one, State "" means open.
func (g *GitHub) AddPullRequest(p GitHubPull) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.Repo == "" || p.Head == "" || p.Base == "" {
		panic("fakes: AddPullRequest needs Repo, Head and Base")
	}
	if p.Number == 0 {
		p.Number = g.nextIssueNumber()
	}
	if p.State == "" {
		p.State = "open"
	}
	if p.Created.IsZero() {
		p.Created = time.Now().UTC()
	}
	if p.Updated.IsZero() {
		p.Updated = p.Created
	}
	for _, l := range p.Labels {
		if !slices.Contains(g.labels[p.Number], l) {
			g.labels[p.Number] = append(g.labels[p.Number], l)
		}
	}
	p.Labels = nil
	g.pulls = append(g.pulls, &p)
	return p.Number
}

// PullRequests returns every pull request, by number, with its labels.
func (g *GitHub) PullRequests() []GitHubPull {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GitHubPull, 0, len(g.pulls))
	for _, p := range g.pulls {
		c := *p
		c.Labels = slices.Clone(g.labels[p.Number])
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b GitHubPull) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

// nextIssueNumber is the number after every issue and pull request number
// the fake knows of. Called with g.mu held.
func (g *GitHub) nextIssueNumber() int {
	n := 0
	for _, c := range g.comments {
		n = max(n, c.Issue)
	}
	for k := range g.labels {
		n = max(n, k)
	}
	for _, prs := range g.pullsOfCommit {
		for _, p := range prs {
			n = max(n, p)
		}
	}
	for _, p := range g.pulls {
		n = max(n, p.Number)
	}
	return n + 1
}

func (g *GitHub) branchExists(b string) bool { return g.BranchExists == nil || g.BranchExists(b) }

// servePulls answers /repos/{owner}/{repo}/pulls[/{number}] (rest is what
// follows "pulls"). Called with g.mu held.
func (g *GitHub) servePulls(w http.ResponseWriter, r *http.Request, base, owner, repo string, rest []string, body []byte) {
	full := owner + "/" + repo
	if r.Method != http.MethodGet && g.PullsPermission == "read" {
		ghErr(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			g.listPulls(w, r, base, full)
		case http.MethodPost:
			g.createPull(w, base, owner, full, body)
		default:
			ghErr(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	n, err := strconv.Atoi(rest[0])
	i := slices.IndexFunc(g.pulls, func(p *GitHubPull) bool { return p.Number == n && strings.EqualFold(p.Repo, full) })
	if err != nil || i < 0 {
		ghErr(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, g.pullJSON(g.pulls[i], base))
	case http.MethodPatch:
		g.editPull(w, base, owner, g.pulls[i], body)
	default:
		ghErr(w, http.StatusNotFound, "Not Found")
	}
}

// listPulls filters by state (open by default), head ("owner:branch"; as
// on GitHub, a head without an owner filters nothing) and base; sorts by
// created (newest first) or updated; and paginates with Link headers.
func (g *GitHub) listPulls(w http.ResponseWriter, r *http.Request, base, full string) {
	q := r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	if !slices.Contains([]string{"open", "closed", "all"}, state) {
		ghErr(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "field": "state", "code": "invalid"})
		return
	}
	headOwner, headRef, byHead := strings.Cut(q.Get("head"), ":")
	var all []*GitHubPull
	for _, p := range g.pulls {
		owner, _, _ := strings.Cut(p.Repo, "/")
		switch {
		case !strings.EqualFold(p.Repo, full), state != "all" && p.State != state,
			byHead && (!strings.EqualFold(headOwner, owner) || p.Head != headRef),
			q.Get("base") != "" && p.Base != q.Get("base"):
			continue
		}
		all = append(all, p)
	}
	sortBy := cmp.Or(q.Get("sort"), "created")
	dir := q.Get("direction")
	if dir == "" {
		dir = map[bool]string{true: "desc", false: "asc"}[sortBy == "created"]
	}
	slices.SortStableFunc(all, func(a, b *GitHubPull) int {
		c := cmp.Compare(a.Number, b.Number)
		if sortBy == "updated" {
			c = a.Updated.Compare(b.Updated)
		}
		if dir == "desc" {
			return -c
		}
		return c
	})
	start, end := g.ghPage(w, r, base, len(all))
	out := []map[string]any{}
	for _, p := range all[start:end] {
		out = append(out, g.pullJSON(p, base))
	}
	writeJSON(w, http.StatusOK, out)
}
