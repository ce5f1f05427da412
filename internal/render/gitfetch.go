package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// GitFetcher gives rendering the files of another Git repository (charts
// of helmChart.gitRemote).
type GitFetcher interface {
	// Fetch writes the tree of remote at ref (a branch, a tag or a commit)
	// to a new local directory and returns it; the directory holds at least
	// the subtree sub ("" for all of it). cleanup removes it.
	Fetch(ctx context.Context, remote, ref, sub string) (dir string, cleanup func(), err error)
}

// GoGitFetcher is the GitFetcher pipe uses: go-git, in-process. A remote
// that is a local path or a file:// URL is read in place; any other is
// cloned (bare, shallow when ref is a branch or a tag) into a temporary
// directory.
type GoGitFetcher struct {
	// TempDir holds the clones and trees; "" means the system's.
	TempDir string
	// Auth returns the credentials for a remote; nil, or a nil result,
	// means none.
	Auth func(remote string) (transport.AuthMethod, error)
}

var hashLikeRe = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// Fetch implements GitFetcher.
func (f *GoGitFetcher) Fetch(ctx context.Context, remote, ref, sub string) (string, func(), error) {
	if ref == "" {
		return "", nil, errors.New("no ref given")
	}
	tmp, err := os.MkdirTemp(f.TempDir, "pipe-git-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	dir, err := f.fetch(ctx, tmp, remote, ref, sub)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

func (f *GoGitFetcher) fetch(ctx context.Context, tmp, remote, ref, sub string) (string, error) {
	var (
		repo *git.Repository
		err  error
	)
	if local, ok := localRemote(remote); ok {
		repo, err = git.PlainOpenWithOptions(local, &git.PlainOpenOptions{})
		if err != nil {
			return "", fmt.Errorf("open %s: %w", redactURL(remote), err)
		}
	} else {
		repo, err = f.clone(ctx, filepath.Join(tmp, "repo.git"), remote, ref)
		if err != nil {
			return "", err
		}
	}
	hash, err := resolveRef(repo, ref)
	if err != nil {
		return "", fmt.Errorf("ref %q: %w", ref, err)
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return "", err
	}
	t, err := commit.Tree()
	if err != nil {
		return "", err
	}
	if sub, err = cleanSub(sub); err != nil {
		return "", err
	}
	if sub != "" {
		if t, err = t.Tree(sub); err != nil {
			return "", fmt.Errorf("%s: no such directory at %s", sub, ref)
		}
	}
	out := filepath.Join(tmp, "tree")
	if err := writeTree(ctx, t, out, sub); err != nil {
		return "", err
	}
	return out, nil
}

// cleanSub cleans a slash-separated path inside a repository; "" is the root.
func cleanSub(sub string) (string, error) {
	c := path.Clean(filepath.ToSlash(sub))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q points outside the repository", sub)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// localRemote returns the directory of a remote that is a local path or a
// file:// URL.
func localRemote(remote string) (string, bool) {
	if strings.HasPrefix(remote, "file://") {
		u, err := url.Parse(remote)
		if err != nil {
			return "", false
		}
		return filepath.FromSlash(u.Path), true
	}
	if filepath.IsAbs(remote) {
		return remote, true
	}
	return "", false
}

// clone clones remote bare into dir: shallow at the branch or tag ref when
// it is one, else everything (ref is then a commit).
func (f *GoGitFetcher) clone(ctx context.Context, dir, remote, ref string) (*git.Repository, error) {
	var auth transport.AuthMethod
	if f.Auth != nil {
		a, err := f.Auth(remote)
		if err != nil {
			return nil, err
		}
		auth = a
	}
	var names []plumbing.ReferenceName
	if !hashLikeRe.MatchString(ref) {
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, n := range names {
		repo, err := git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{
			URL: remote, Auth: auth, ReferenceName: n, SingleBranch: true, Depth: 1, Tags: git.NoTags,
		})
		if err == nil {
			return repo, nil
		}
		_ = os.RemoveAll(dir)
		if !isRefNotFound(err) {
			return nil, fmt.Errorf("clone %s: %w", redactURL(remote), redact.Error(err))
		}
	}
	repo, err := git.PlainCloneContext(ctx, dir, true, &git.CloneOptions{URL: remote, Auth: auth, Tags: git.AllTags})
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", redactURL(remote), redact.Error(err))
	}
	return repo, nil
}

func isRefNotFound(err error) bool {
	var nm git.NoMatchingRefSpecError
	return errors.Is(err, plumbing.ErrReferenceNotFound) || errors.As(err, &nm) ||
		strings.Contains(err.Error(), "couldn't find remote ref")
}

// resolveRef finds ref as a commit, a local or remote-tracking branch, or a tag.
func resolveRef(repo *git.Repository, ref string) (plumbing.Hash, error) {
	for _, rev := range []string{ref, "origin/" + ref, "refs/tags/" + ref} {
		if h, err := repo.ResolveRevision(plumbing.Revision(rev)); err == nil {
			return *h, nil
		}
	}
	// A shallow single-ref clone may hold the ref only as FETCH_HEAD-less HEAD.
	if h, err := repo.Head(); err == nil {
		for _, n := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)} {
			if r, err := repo.Reference(n, true); err == nil && r.Hash() == h.Hash() {
				return h.Hash(), nil
			}
		}
	}
	return plumbing.ZeroHash, errors.New("no such branch, tag or commit")
}

// writeTree writes the tree t, found at sub ("" for the root), below
// dir/sub: directories, regular and executable files, and symlinks that
// stay inside dir; submodules are left out. The tree may be crafted (two
// entries with one name, a symlink and then files below it, a symlink out
// of the tree): nothing is ever written through a symlink or outside dir,
// and such an entry is an error naming it.
func writeTree(ctx context.Context, t *object.Tree, dir, sub string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w, err := fsafe.NewTreeWriter(dir)
	if err != nil {
		return err
	}
	w.Budget = maxFetchedTree
	defer w.Close()
	base := ""
	if sub != "" {
		for _, part := range strings.Split(sub, "/") {
			base = path.Join(base, part)
			if err := w.Mkdir(base); err != nil {
				return err
			}
		}
	}
	walker := object.NewTreeWalker(t, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(base, name)
		switch e.Mode {
		case filemode.Dir:
			err = w.Mkdir(p)
		case filemode.Symlink:
			var target string
			if target, err = blobText(t, e, p); err == nil {
				err = w.Symlink(target, p)
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			err = writeBlob(w, t, e, p)
		default:
			// Submodules: not part of the chart.
		}
		if err != nil {
			return err
		}
	}
	return w.Finish()
}

// maxSymlinkTarget bounds what a symlink's blob may hold.
const maxSymlinkTarget = 4096

func blobText(t *object.Tree, e object.TreeEntry, name string) (string, error) {
	f, err := t.TreeEntryFile(&e)
	if err != nil {
		return "", fmt.Errorf("tree entry %s: %w", name, err)
	}
	if f.Size > maxSymlinkTarget {
		return "", fmt.Errorf("symlink %s: its target is %d bytes long", name, f.Size)
	}
	return f.Contents()
}

func writeBlob(w *fsafe.TreeWriter, t *object.Tree, e object.TreeEntry, name string) error {
	f, err := t.TreeEntryFile(&e)
	if err != nil {
		return fmt.Errorf("tree entry %s: %w", name, err)
	}
	r, err := f.Reader()
	if err != nil {
		return fmt.Errorf("tree entry %s: %w", name, err)
	}
	defer r.Close()
	return w.WriteFile(name, r, e.Mode == filemode.Executable)
}

// maxFetchedTree caps what a chart fetched from Git may write: Helm reads
// at most 100 MiB of a chart, and a small pack can hold gigabytes.
const maxFetchedTree = 256 << 20

// gitChart loads a chart from another Git repository through r.Git.
func (r *Renderer) gitChart(ctx context.Context, remote, ref, sub string) (*helmChart, func(), error) {
	noop := func() {}
	desc := redactURL(remote) + "@" + ref + ":" + sub
	if _, err := cleanSub(sub); err != nil {
		return nil, noop, fmt.Errorf("chart %s: helmChart.path: %w", desc, err)
	}
	if r.Git == nil {
		return nil, noop, fmt.Errorf("chart %s: no Git fetcher was given to rendering", desc)
	}
	dir, cleanup, err := r.Git.Fetch(ctx, remote, ref, sub)
	if err != nil {
		return nil, noop, fmt.Errorf("chart %s: %w", desc, err)
	}
	t, err := newTree(dir)
	if err != nil {
		cleanup()
		return nil, noop, err
	}
	if sub == "" {
		sub = "."
	}
	cdir, err := t.resolve(t.root, sub)
	if err != nil {
		cleanup()
		return nil, noop, fmt.Errorf("chart %s: helmChart.path: %w", desc, err)
	}
	c, err := loadChartDir(t, cdir)
	if err != nil {
		cleanup()
		return nil, noop, fmt.Errorf("chart %s: %w", desc, err)
	}
	return &helmChart{chart: c, desc: desc}, cleanup, nil
}
