package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectCacheSize bounds each object cache of a Repo (the pack reader's and
// go-git's). Trees and commits are small; 64 MiB holds the trees of large
// diffs and the delta bases they are rebuilt from.
const objectCacheSize = 64 * cache.MiByte

// Repo is a Git repository opened for reading. It is not safe for concurrent
// use; Close releases the pack file descriptors it keeps open.
type Repo struct {
	root  string
	st    *filesystem.Storage
	packs *packSet // nil: go-git reads every object
	trees treeCache
	// changes are the working tree's changes ExportWorkTree copies, read
	// once (a status walks and hashes the whole working tree).
	changes *workTreeChanges
}

// Open opens the repository containing dir (dir or any parent holding .git,
// linked worktrees included).
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	plain, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, &Error{Subject: abs, Msg: "not inside a git repository", Err: ErrNotRepository,
			Hint: "run pipe inside a clone of the repository, or pass --repo <path to the clone>"}
	}
	if err != nil {
		return nil, &Error{Subject: abs, Msg: "cannot open the git repository", Err: err}
	}
	wt, err := plain.Worktree()
	if err != nil {
		return nil, &Error{Subject: abs, Msg: "the repository has no working tree", Err: err,
			Hint: "pipe reads configuration from a checkout: run it in a non-bare clone"}
	}
	fsStorage, ok := plain.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("open repository %s: unexpected storage %T", abs, plain.Storer)
	}
	// Commits and trees are read from the mapped packs (packs.go); go-git's
	// storage reads references and the objects no pack holds. Reopen it with
	// pack descriptors kept open: go-git otherwise reopens a pack per object.
	st := filesystem.NewStorageWithOptions(fsStorage.Filesystem(), cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{KeepDescriptors: true})
	packs, err := openPacks(objectsDir(fsStorage.Filesystem().Root()))
	if err != nil {
		packs = nil // go-git reads them, slower
	}
	return &Repo{root: wt.Filesystem.Root(), st: st, packs: packs}, nil
}

// objectsDir is the objects directory of a git directory: a linked
// worktree's is in the main repository ("commondir").
func objectsDir(gitDir string) string {
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		return filepath.Join(common, "objects")
	}
	return filepath.Join(gitDir, "objects")
}

// Root is the absolute path of the working tree's top directory.
func (r *Repo) Root() string { return r.root }

// Close releases the open pack files.
func (r *Repo) Close() error {
	err := r.st.Close()
	if r.packs != nil {
		err = errors.Join(err, r.packs.close())
		r.packs = nil
	}
	return err
}

// Shallow reports whether the clone's history is truncated (a shallow CI
// checkout); revisions and merge bases beyond its boundary cannot be found.
func (r *Repo) Shallow() bool {
	hs, err := r.st.Shallow()
	return err == nil && len(hs) > 0
}

// missingHint is the hint for an object or reference not in the clone.
func (r *Repo) missingHint() string {
	if r.Shallow() {
		return "this clone is shallow. " + hintFullHistory
	}
	return hintFullHistory
}

func isNotFound(err error) bool {
	return errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, plumbing.ErrReferenceNotFound)
}
