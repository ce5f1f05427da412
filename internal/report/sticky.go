package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Comment is a comment on a pull request (GitHub) or a note on a merge
// request (GitLab).
type Comment struct {
	ID   int64
	Body string
	URL  string
}

// Commenter posts on one pull/merge request. Implementations:
// GitHubCommenter (go-github) and GitLabCommenter (REST).
type Commenter interface {
	// List returns every comment of the request, following pagination.
	List(ctx context.Context) ([]Comment, error)
	Create(ctx context.Context, body string) (Comment, error)
	Update(ctx context.Context, id int64, body string) (Comment, error)
	Delete(ctx context.Context, id int64) error
	// Limit is the largest body the service accepts.
	Limit() int
}

// ErrBodyTooLong is returned (wrapped) by a Commenter when the service
// refused a body as too long (GitHub's 422 "body is too long").
var ErrBodyTooLong = errors.New("comment body is too long")

// StickyResult says what Upsert did.
type StickyResult struct {
	// URL is the first part's comment.
	URL                       string
	Created, Updated, Deleted int
}

// Upsert makes the comments of the request marked with markerPrefix hold
// exactly parts, in order: the existing ones are updated in place (the
// first part keeps its comment, so its link stays valid), missing ones are
// created, and parts left over from a longer previous content are deleted,
// so that nothing stale remains to mislead. A marker is a part's first
// line; markerPrefix is what the markers of all parts start with.
func Upsert(ctx context.Context, c Commenter, markerPrefix string, parts []string) (StickyResult, error) {
	var res StickyResult
	all, err := c.List(ctx)
	if err != nil {
		return res, fmt.Errorf("listing comments: %w", err)
	}
	// existing[i] is the comment of part i+1 (by its marker line).
	byMarker := map[string]Comment{}
	var extra []Comment
	for _, cm := range all {
		first, _, _ := strings.Cut(cm.Body, "\n")
		first = strings.TrimSpace(first)
		if !strings.HasPrefix(first, markerPrefix) {
			continue
		}
		if _, dup := byMarker[first]; dup {
			extra = append(extra, cm)
			continue
		}
		byMarker[first] = cm
	}
	used := map[int64]bool{}
	for i, body := range parts {
		marker, _, _ := strings.Cut(body, "\n")
		marker = strings.TrimSpace(marker)
		var got Comment
		if old, ok := byMarker[marker]; ok {
			used[old.ID] = true
			if old.Body == body {
				got = old
			} else if got, err = c.Update(ctx, old.ID, body); err != nil {
				return res, fmt.Errorf("updating comment %d: %w", old.ID, err)
			} else {
				res.Updated++
			}
		} else {
			if got, err = c.Create(ctx, body); err != nil {
				return res, fmt.Errorf("creating a comment: %w", err)
			}
			res.Created++
		}
		if i == 0 {
			res.URL = got.URL
		}
	}
	for _, cm := range byMarker {
		if !used[cm.ID] {
			extra = append(extra, cm)
		}
	}
	for _, cm := range extra {
		if err := c.Delete(ctx, cm.ID); err != nil {
			return res, fmt.Errorf("deleting stale comment %d: %w", cm.ID, err)
		}
		res.Deleted++
	}
	return res, nil
}

// PostPlan posts the plan comment of r on the request: one sticky comment
// (or several parts) per title. When the service still refuses a body as
// too long (it counts differently), the plan is cut again at half the
// size. With skipNoChanges, a quiet plan posts nothing new, but an existing
// comment is still updated so that an old plan does not mislead.
func PostPlan(ctx context.Context, c Commenter, r *PlanReport, red *Redactor, skipNoChanges bool) (StickyResult, error) {
	prefix := strings.TrimSuffix(PlanMarker(r.Title, 1), " -->")
	if skipNoChanges && r.Quiet() {
		all, err := c.List(ctx)
		if err != nil {
			return StickyResult{}, fmt.Errorf("listing comments: %w", err)
		}
		if !hasMarked(all, prefix) {
			return StickyResult{}, nil
		}
	}
	limit := c.Limit()
	for {
		parts := red.RedactAll(PlanComment(r, limit, DefaultMaxParts))
		res, err := Upsert(ctx, c, prefix, parts)
		if errors.Is(err, ErrBodyTooLong) && limit > 4096 {
			limit /= 2
			continue
		}
		return res, err
	}
}

// hasMarked reports whether a comment starts with the marker prefix.
func hasMarked(all []Comment, prefix string) bool {
	for _, cm := range all {
		if strings.HasPrefix(strings.TrimSpace(cm.Body), prefix) {
			return true
		}
	}
	return false
}
