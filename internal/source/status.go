package source

import (
	"fmt"
	"sort"

	git "github.com/go-git/go-git/v5"
)

// DirtyPaths lists the repo-relative paths whose working-tree content
// differs from HEAD (modified, added, deleted or untracked, ignored files
// excepted), sorted. pipe deploys commits: a sync refuses to deploy an
// application whose files are dirty, since the record would name a commit
// that is not what was applied.
func (r *Repo) DirtyPaths() ([]string, error) {
	plain, err := git.PlainOpenWithOptions(r.root, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", r.root, err)
	}
	wt, err := plain.Worktree()
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", r.root, err)
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", r.root, err)
	}
	var out []string
	for p, s := range st {
		if s.Worktree != git.Unmodified || s.Staging != git.Unmodified {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
