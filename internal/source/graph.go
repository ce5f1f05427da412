package source

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// CommitNode is what a walk of the history needs of one commit.
func (r *Repo) CommitNode(hash string) (parents []string, committed time.Time, err error) {
	if !plumbing.IsHash(hash) {
		return nil, time.Time{}, fmt.Errorf("%q is not a commit hash", hash)
	}
	h := plumbing.NewHash(hash)
	c, err := r.readCommitHeader(h)
	if err != nil {
		return nil, time.Time{}, r.walkError(hash, hash, h, err)
	}
	parents = make([]string, len(c.parents))
	for i, p := range c.parents {
		parents[i] = p.String()
	}
	return parents, time.Unix(c.when, 0).UTC(), nil
}
