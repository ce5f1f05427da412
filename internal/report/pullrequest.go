package report

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// PullRequestSpec is a change proposed from branch Head into Base.
type PullRequestSpec struct {
	Head, Base  string // branch names (no refs/heads/)
	Title, Body string
	// Labels are created when missing: GitLab creates them itself; on
	// GitHub they are added to the pull request's issue, which creates
	// them too.
	Labels []string
}

// PullRequest is an open pull/merge request.
type PullRequest struct {
	Number  int    // PR number / MR iid
	URL     string // web URL
	Created bool   // opened by this call (false: an existing open one was updated)
}

// PullRequester opens or updates the open PR/MR from Head to Base.
// Implementations: *GitHub and *GitLabPullRequester.
type PullRequester interface {
	// EnsurePullRequest opens the pull request of s or, when one from Head
	// into Base is already open, brings its title and body to those of s
	// and adds the labels it lacks (labels are never removed: people may
	// have added their own). Running it again for the same s changes
	// nothing. A race with another job opening the same pull request at
	// the same moment ends with that one updated.
	EnsurePullRequest(ctx context.Context, s PullRequestSpec) (PullRequest, error)
}

var (
	_ PullRequester = (*GitHub)(nil)
	_ PullRequester = (*GitLabPullRequester)(nil)
)

// normalize returns s with "refs/heads/" dropped from its branches and
// its labels trimmed and deduplicated, or what is wrong with it.
func (s PullRequestSpec) normalize() (PullRequestSpec, error) {
	s.Head = strings.TrimPrefix(strings.TrimSpace(s.Head), "refs/heads/")
	s.Base = strings.TrimPrefix(strings.TrimSpace(s.Base), "refs/heads/")
	for _, b := range []struct{ what, name string }{{"head", s.Head}, {"base", s.Base}} {
		if b.name == "" {
			return s, fmt.Errorf("the pull request has no %s branch", b.what)
		}
		if err := plumbing.NewBranchReferenceName(b.name).Validate(); err != nil || strings.ContainsAny(b.name, ": ") {
			return s, fmt.Errorf("the %s branch %q of the pull request is not a valid branch name", b.what, b.name)
		}
	}
	if s.Head == s.Base {
		return s, fmt.Errorf("the pull request would merge branch %q into itself: its head and base must differ", s.Head)
	}
	s.Title = strings.TrimSpace(s.Title)
	if s.Title == "" {
		return s, fmt.Errorf("the pull request from %q into %q has no title", s.Head, s.Base)
	}
	var labels []string
	for _, l := range s.Labels {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	s.Labels = labels
	return s, nil
}

// missingLabels returns the labels of want that have lacks, in order;
// case is ignored, so that "Deploy" is not added next to "deploy".
func missingLabels(want, have []string) []string {
	var out []string
	for _, l := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, l) }) {
			out = append(out, l)
		}
	}
	return out
}
