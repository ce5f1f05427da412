package render

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// GitFetcher gives rendering the files of another Git repository: charts
// of helmChart.gitRemote, remote bases of kustomizations.
type GitFetcher interface {
	// Fetch writes the tree of remote at ref (a branch, a tag or a commit)
	// to a new local directory and returns it; the directory holds at least
	// the subtree sub ("" for all of it). cleanup removes it.
	Fetch(ctx context.Context, remote, ref, sub string) (dir string, cleanup func(), err error)
}

// GoGitFetcher is the GitFetcher pipe uses: go-git, in-process. A remote
// that is a local path or a file:// URL is read in place. Any other is
// fetched into a bare repository: with a CacheDir, one per remote kept
// across runs (see sync for what is fetched when); without, a temporary
// one. Only the ref asked for is fetched, shallow when it is a branch or a
// tag, each network operation within gitNetworkTimeout (10 minutes).
type GoGitFetcher struct {
	// TempDir holds the trees written (and the clones, without CacheDir);
	// "" means the system's.
	TempDir string
	// CacheDir is pipe's download cache directory (Renderer.CacheDir): the
	// bare repositories are kept below it, in git/<sha256 of the remote
	// URL without credentials>.git, shared by concurrent pipe processes
	// (each takes a lock on the repository it updates). "" caches nothing.
	CacheDir string
	// Offline forbids the network: refs resolve from CacheDir only, and
	// what is not there is an error naming it.
	Offline bool
	// Auth returns the credentials for a remote; nil, or a nil result,
	// means none.
	Auth func(remote string) (transport.AuthMethod, error)
	// ProxyURL, when set, is the HTTP proxy (http://host:port, answering
	// CONNECT and absolute-form requests) that every request to an
	// http(s) remote goes through: go-git has its own HTTP client, which
	// the guards of Renderer.HTTP do not reach. Other remotes (ssh://,
	// git://) do not use it.
	ProxyURL string
	// Untrusted is set on a pull request's plan, whose change chooses the
	// remotes and refs: a commit is then only ever fetched alone, never
	// by fetching every branch and tag of the remote with their history
	// (which is how a commit the server does not send by hash, or an
	// abbreviated hash the cache lacks, is found otherwise); those fail
	// asking for a full hash, a tag or a branch.
	Untrusted bool

	// timeout bounds each network operation; 0 means gitNetworkTimeout.
	timeout time.Duration

	// lists are the refs each remote advertised, listed once per fetcher
	// (a run), a ref fetched by name then set to the commit fetched: the
	// applications of a monorepo that name one remote cost one ls-remote,
	// and, with a CacheDir, all render a branch at the same commit.
	memoMu sync.Mutex
	lists  map[string][]*plumbing.Reference
}

// Fetch implements GitFetcher.
func (f *GoGitFetcher) Fetch(ctx context.Context, remote, ref, sub string) (string, func(), error) {
	if ref == "" {
		return "", nil, errors.New("no ref given")
	}
	sub, err := cleanSub(sub)
	if err != nil {
		return "", nil, err
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
	out := filepath.Join(tmp, "tree")
	if local, ok := localRemote(remote); ok {
		repo, err := git.PlainOpenWithOptions(local, &git.PlainOpenOptions{})
		if err != nil {
			return "", fmt.Errorf("open %s: %w", redactURL(remote), err)
		}
		hash, err := resolveRef(repo, ref)
		if err != nil {
			return "", fmt.Errorf("ref %q: %w", ref, err)
		}
		return out, checkout(ctx, repo, hash, ref, sub, out)
	}
	if f.CacheDir != "" {
		dir, unlock, err := f.lockCached(ctx, remote)
		switch {
		case err == nil:
			defer unlock()
			repo, hash, err := f.sync(ctx, dir, remote, ref)
			if err != nil {
				return "", err
			}
			return out, checkout(ctx, repo, hash, ref, sub, out)
		case f.Offline || ctx.Err() != nil:
			return "", err
		}
		// A cache that cannot be written: fetch without it.
	} else if f.Offline {
		return "", fmt.Errorf("%s at %s: offline, and there is no download cache to read it from: render once with the network and a cache directory, then offline with that cache", redactURL(remote), ref)
	}
	repo, hash, err := f.sync(ctx, filepath.Join(tmp, "repo.git"), remote, ref)
	if err != nil {
		return "", err
	}
	return out, checkout(ctx, repo, hash, ref, sub, out)
}

// checkout writes the tree of commit hash (ref names it in messages),
// or its subtree sub, to out (see writeTree).
func checkout(ctx context.Context, repo *git.Repository, hash plumbing.Hash, ref, sub, out string) error {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return fmt.Errorf("ref %q: commit %s: %w", ref, hash, err)
	}
	t, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("ref %q: commit %s: %w", ref, hash, err)
	}
	if sub != "" {
		if t, err = t.Tree(sub); err != nil {
			return fmt.Errorf("%s: no such directory at %s", sub, ref)
		}
	}
	return writeTree(ctx, t, out, sub)
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

// resolveRef finds ref in a repository read in place: a full commit hash;
// a tag, a local or remote-tracking branch, or a revision (HEAD, main~1);
// else an abbreviated commit hash, which two commits sharing is an error.
func resolveRef(repo *git.Repository, ref string) (plumbing.Hash, error) {
	if isFullHash(ref) {
		if h := plumbing.NewHash(ref); hasCommit(repo, h) {
			return h, nil
		}
		return plumbing.ZeroHash, errors.New("no such commit")
	}
	revs := []string{"refs/tags/" + ref, "refs/heads/" + ref, "refs/remotes/origin/" + ref}
	if !abbreviated(ref) {
		revs = append([]string{ref, "origin/" + ref}, revs...)
	}
	for _, rev := range revs {
		if h, err := repo.ResolveRevision(plumbing.Revision(rev)); err == nil {
			return *h, nil
		}
	}
	// A branch or tag whose name go-git's revision syntax rejects (one
	// holding "@", which Git allows) resolves when HEAD is at it.
	if h, err := repo.Head(); err == nil {
		for _, n := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)} {
			if r, err := repo.Reference(n, true); err == nil && r.Hash() == h.Hash() {
				return h.Hash(), nil
			}
		}
	}
	if abbreviated(ref) {
		h, ok, err := abbrevCommit(repo, ref)
		if err != nil || ok {
			return h, err
		}
	}
	return plumbing.ZeroHash, errors.New("no such branch, tag or commit")
}

// gitChart loads a chart from another Git repository through r.Git.
func (r *Renderer) gitChart(ctx context.Context, remote, ref, sub string) (*helmChart, func(), error) {
	noop := func() {}
	// Kustomize's form (remote//path?ref=): "remote@ref" would read as
	// user info in an URL.
	desc := redactURL(remote) + "//" + strings.TrimPrefix(sub, "/") + "?ref=" + ref
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
	return &helmChart{chart: c, desc: desc, tree: t, dir: cdir}, cleanup, nil
}
