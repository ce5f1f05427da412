package fakes

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pullJSON is GitHub's pull request representation (GET
// /repos/{o}/{r}/pulls/{n}) without what needs commits, which the fake
// does not know: head.sha and base.sha, merge_commit_sha, the diff counts.
// Called with g.mu held.
func (g *GitHub) pullJSON(p *GitHubPull, base string) map[string]any {
	owner, name, _ := strings.Cut(p.Repo, "/")
	api := fmt.Sprintf("%s/repos/%s", strings.TrimRight(base, "/"), p.Repo)
	web := fmt.Sprintf("https://github.example/%s/pull/%d", p.Repo, p.Number)
	user := map[string]any{"login": owner, "type": "Organization"}
	repo := map[string]any{"id": 4242, "name": name, "full_name": p.Repo, "private": false, "owner": user,
		"html_url": "https://github.example/" + p.Repo, "url": api}
	ref := func(branch string) map[string]any {
		return map[string]any{"label": owner + ":" + branch, "ref": branch, "user": user, "repo": repo}
	}
	labels := []map[string]any{}
	for _, l := range g.labels[p.Number] {
		labels = append(labels, map[string]any{"name": l, "color": "ededed", "default": false, "description": nil,
			"url": api + "/labels/" + url.PathEscape(l)})
	}
	var closedAt any
	if p.State == "closed" {
		closedAt = p.Updated.UTC().Format(time.RFC3339)
	}
	comments := 0
	for _, c := range g.comments {
		if c.Issue == p.Number {
			comments++
		}
	}
	return map[string]any{
		"id": 100000 + p.Number, "number": p.Number, "state": p.State, "locked": false,
		"title": p.Title, "body": p.Body, "draft": false,
		"url": fmt.Sprintf("%s/pulls/%d", api, p.Number), "html_url": web,
		"diff_url": web + ".diff", "patch_url": web + ".patch",
		"issue_url":    fmt.Sprintf("%s/issues/%d", api, p.Number),
		"comments_url": fmt.Sprintf("%s/issues/%d/comments", api, p.Number),
		"user":         map[string]any{"login": "github-actions[bot]", "type": "Bot"},
		"labels":       labels, "milestone": nil, "assignee": nil, "assignees": []any{},
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"head": ref(p.Head), "base": ref(p.Base),
		"created_at": p.Created.UTC().Format(time.RFC3339), "updated_at": p.Updated.UTC().Format(time.RFC3339),
		"closed_at": closedAt, "merged_at": nil, "merged": false, "mergeable": nil, "merged_by": nil,
		"comments": comments, "maintainer_can_modify": false, "author_association": "CONTRIBUTOR", "auto_merge": nil,
	}
}

// ghPage picks page ("page", "per_page": 30 by default, at most PerPage or
// 100) of n items and writes GitHub's Link header; it returns the slice
// bounds of the page.
func (g *GitHub) ghPage(w http.ResponseWriter, r *http.Request, base string, n int) (start, end int) {
	q := r.URL.Query()
	per := atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if maxPer := g.PerPage; maxPer > 0 && per > maxPer {
		per = maxPer
	} else if per > 100 {
		per = 100
	}
	page := max(atoi(q.Get("page")), 1)
	start = min((page-1)*per, n)
	end = min(start+per, n)
	last := max((n+per-1)/per, 1)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, base, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return start, end
}
