package fakes

import (
	"fmt"
	"time"
)

// mrJSON is GitLab's merge request representation (GET
// /projects/:id/merge_requests/:iid) without what needs commits, which the
// fake does not know (sha, merge_commit_sha, diff_refs, changes_count).
// Called with g.mu held.
func (g *GitLab) mrJSON(m *GitLabMR) map[string]any {
	labels := g.labels[m.IID]
	if labels == nil {
		labels = []string{}
	}
	notes := 0
	for _, n := range g.notes {
		if n.MR == m.IID && !n.System {
			notes++
		}
	}
	var closedAt, closedBy any
	if m.State == "closed" {
		closedAt, closedBy = m.UpdatedAt.Format(time.RFC3339Nano), glUser()
	}
	api := fmt.Sprintf("http://gitlab.example/api/v4/projects/%d", g.ProjectID)
	ref := fmt.Sprintf("!%d", m.IID)
	return map[string]any{
		"id": m.ID, "iid": m.IID, "project_id": g.ProjectID,
		"title": m.Title, "description": m.Description, "state": m.State,
		"created_at": m.CreatedAt.Format(time.RFC3339Nano), "updated_at": m.UpdatedAt.Format(time.RFC3339Nano),
		"merged_by": nil, "merge_user": nil, "merged_at": nil, "closed_by": closedBy, "closed_at": closedAt,
		"source_branch": m.SourceBranch, "target_branch": m.TargetBranch,
		"source_project_id": g.ProjectID, "target_project_id": g.ProjectID,
		"user_notes_count": notes, "upvotes": 0, "downvotes": 0,
		"author": glUser(), "assignees": []any{}, "assignee": nil, "reviewers": []any{},
		"labels": labels, "draft": false, "work_in_progress": false, "milestone": nil,
		"merge_when_pipeline_succeeds": false, "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
		"sha": nil, "merge_commit_sha": nil, "squash_commit_sha": nil, "discussion_locked": nil,
		"should_remove_source_branch": nil, "force_remove_source_branch": m.ForceRemoveSourceBranch,
		"squash": false, "squash_on_merge": false, "has_conflicts": false, "blocking_discussions_resolved": true,
		"reference":              ref,
		"references":             map[string]any{"short": ref, "relative": ref, "full": g.Project + ref},
		"web_url":                fmt.Sprintf("https://gitlab.example/%s/-/merge_requests/%d", g.Project, m.IID),
		"time_stats":             map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"_links":                 map[string]any{"self": fmt.Sprintf("%s/merge_requests/%d", api, m.IID), "project": api},
	}
}
