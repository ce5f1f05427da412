package fakes

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AddCommentAt adds a comment by user created at the given time.
func (g *GitHub) AddCommentAt(issue int, user, body string, created time.Time) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	g.comments = append(g.comments, &GitHubComment{ID: g.nextID, Issue: issue, Body: body, User: user,
		Created: created.UTC(), Updated: created.UTC()})
	return g.nextID
}

// EditComment replaces a comment's body as its author would (updated_at
// moves, created_at stays).
func (g *GitHub) EditComment(id int64, body string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.IndexFunc(g.comments, func(c *GitHubComment) bool { return c.ID == id })
	if i < 0 {
		panic(fmt.Sprintf("fakes: no comment %d", id))
	}
	g.comments[i].Body = body
	g.comments[i].Edited++
	g.comments[i].Updated = time.Now().UTC()
}

// SetPermission sets user's role on the repositories: admin, maintain,
// write, triage or read ("" removes it; users without one get 404 from
// the permission API, as unknown users do on GitHub).
func (g *GitHub) SetPermission(user, role string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.permissions == nil {
		g.permissions = map[string]string{}
	}
	if role == "" {
		delete(g.permissions, user)
		return
	}
	g.permissions[user] = role
}

// permission answers GET /repos/{o}/{r}/collaborators/{user}/permission in
// GitHub's shape: the legacy "permission" (maintain reads as write, triage
// as read) and the "role_name". Called with g.mu held.
func (g *GitHub) permission(w http.ResponseWriter, base, user string) {
	user, _ = url.PathUnescape(user)
	role, ok := g.permissions[user]
	if !ok {
		ghErr(w, http.StatusNotFound, "Not Found")
		return
	}
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	if legacy == "" {
		legacy = "none"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"permission": legacy, "role_name": role,
		"user": map[string]any{"login": user, "type": "User", "url": strings.TrimRight(base, "/") + "/users/" + user,
			"permissions": map[string]bool{"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
				"push": legacy == "admin" || legacy == "write", "triage": legacy != "none", "pull": legacy != "none"}},
	})
}

// commentTimes adds created_at and updated_at (RFC 3339, UTC) to a
// comment's JSON.
func commentTimes(m map[string]any, c *GitHubComment) {
	if !c.Created.IsZero() {
		m["created_at"] = c.Created.UTC().Format(time.RFC3339)
	}
	if !c.Updated.IsZero() {
		m["updated_at"] = c.Updated.UTC().Format(time.RFC3339)
	}
}
