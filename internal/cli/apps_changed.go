package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/source"
)

// changedApps keeps the entries whose apps the change base..head touches,
// with the reason. The apps are those of the working tree, which CI checks
// out at head.
func (a *app) changedApps(root string, repo *config.Repo, entries []appEntry, opts *appsOptions) ([]appEntry, error) {
	src, err := source.Open(root)
	if err != nil {
		return nil, sourceError(err)
	}
	defer src.Close()
	return a.changedAppsIn(src, repo, entries, opts)
}

func (a *app) changedAppsIn(src *source.Repo, repo *config.Repo, entries []appEntry, opts *appsOptions) ([]appEntry, error) {
	head, err := src.ResolveRevision(opts.head)
	if err != nil {
		return nil, sourceError(err)
	}
	base, baseWhy, err := a.changeBase(src, head, opts.base)
	if err != nil {
		return nil, err
	}
	if base == nil {
		// A repository's first commit, or a branch's first push: every
		// application is new.
		why := "first commit of the repository"
		if zeroRevision(opts.base) {
			why = "first push of the branch (the base is the all-zero SHA)"
			fmt.Fprintf(a.err, "note: --base %s is the all-zero SHA GitHub and GitLab give a branch's first push: no base, every application is selected\n", opts.base)
		}
		for i := range entries {
			entries[i].Reason = why
		}
		return entries, nil
	}
	fmt.Fprintf(a.err, "comparing %s (%s) with %s\n", base.Short(), baseWhy, head.Short())
	files, err := src.ChangedFiles(*base, head)
	if err != nil {
		return nil, sourceError(err)
	}
	changes, err := source.ChangedApps(repo.Apps, files)
	if err != nil {
		// An app with an invalid trigger pattern is reported, not guessed.
		return nil, &Error{Code: ExitUsage, Summary: "cannot tell which apps the change touches", Detail: err.Error(),
			Hint: "fix the pattern (run `pipe validate`)"}
	}
	reasons := map[*config.App]string{}
	for _, c := range changes {
		reasons[c.App] = c.Reason
	}
	var out []appEntry
	for _, e := range entries {
		for ap, why := range reasons {
			if ap.File == e.File {
				e.Reason = why
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// changeBase picks the base revision: --base when given; in a pull/merge
// request, the merge base with the target branch; otherwise head's first
// parent. It returns nil for a root commit with no --base.
func (a *app) changeBase(src *source.Repo, head source.Revision, flag string) (*source.Revision, string, error) {
	if zeroRevision(flag) {
		return nil, "", nil
	}
	if flag != "" {
		rev, err := src.ResolveRevision(flag)
		if err != nil {
			return nil, "", sourceError(err)
		}
		return &rev, "--base " + flag, nil
	}
	if target := a.ci.BaseBranch; target != "" {
		for _, name := range []string{"origin/" + target, target} {
			t, err := src.ResolveRevision(name)
			if err != nil {
				continue
			}
			mb, err := src.MergeBase(t, head)
			if err != nil {
				return nil, "", sourceError(err)
			}
			return &mb, "merge base with " + name, nil
		}
		return nil, "", &Error{Code: ExitUsage, Summary: fmt.Sprintf("the pull request's target branch %q is not in this clone", target),
			Hint: "fetch it (actions/checkout with fetch-depth: 0) or pass --base"}
	}
	parent, err := src.ResolveRevision(head.Hash + "~1")
	if err != nil {
		if errors.Is(err, source.ErrRevisionNotFound) {
			info, ierr := src.CommitInfo(head)
			if ierr == nil && len(info.Parents) == 0 {
				return nil, "", nil
			}
		}
		return nil, "", sourceError(err)
	}
	return &parent, "parent of " + head.Short(), nil
}

// zeroRevision reports whether rev is the all-zero SHA (SHA-1 or SHA-256)
// that GitHub's push event (before) and GitLab's CI_COMMIT_BEFORE_SHA give
// for a branch's first push: "no base", not a commit to look up.
func zeroRevision(rev string) bool {
	if len(rev) != 40 && len(rev) != 64 {
		return false
	}
	return strings.Trim(rev, "0") == ""
}

// sourceError turns a source error into the user-facing shape, keeping its hint.
func sourceError(err error) error {
	var se *source.Error
	if errors.As(err, &se) {
		code := ExitFailed
		if errors.Is(err, source.ErrNotRepository) || errors.Is(err, source.ErrRevisionNotFound) || errors.Is(err, source.ErrInvalidRevision) {
			code = ExitUsage
		}
		return &Error{Code: code, Summary: se.Error(), Hint: se.Hint, Err: err}
	}
	return err
}
