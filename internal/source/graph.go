package source

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// CommitNode is what a walk of the history needs of one commit: its
// parents, its committer time and its root tree (for DiffTrees).
func (r *Repo) CommitNode(hash string) (parents []string, committed time.Time, tree string, err error) {
	if !plumbing.IsHash(hash) {
		return nil, time.Time{}, "", fmt.Errorf("%q is not a commit hash", hash)
	}
	h := plumbing.NewHash(hash)
	c, err := r.readCommitHeader(h)
	if err != nil {
		return nil, time.Time{}, "", r.walkError(hash, hash, h, err)
	}
	parents = make([]string, len(c.parents))
	for i, p := range c.parents {
		parents[i] = p.String()
	}
	return parents, time.Unix(c.when, 0).UTC(), c.tree.String(), nil
}

// DiffTrees lists the paths that differ between two root trees (as
// ChangedFiles does between two commits).
func (r *Repo) DiffTrees(a, b string) ([]string, error) {
	if !plumbing.IsHash(a) || !plumbing.IsHash(b) {
		return nil, fmt.Errorf("%q or %q is not a tree hash", a, b)
	}
	d := differ{r: r}
	if err := d.diff(plumbing.NewHash(a), plumbing.NewHash(b)); err != nil {
		return nil, fmt.Errorf("compare trees %s and %s: %w", a, b, err)
	}
	return d.out, nil
}
