package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// sync makes the bare repository dir (created when missing) hold the
// commit ref names, and returns it:
//   - a full commit hash dir already holds is used without the network;
//   - offline, ref resolves from what dir holds, or is a miss naming it;
//   - a tag or a branch (tags first, like git fetch) is looked up on the
//     remote, and its commit fetched alone (depth 1) unless dir holds it;
//   - a commit hash is fetched alone (depth 1) when the server allows
//     asking for a commit, else with every branch and tag (a shallow dir
//     is then replaced by a full one: a shallow fetch cannot deepen it).
//
// Nothing about the remote (its URL, its credentials) is written to dir.
func (f *GoGitFetcher) sync(ctx context.Context, dir, remote, ref string) (*git.Repository, plumbing.Hash, error) {
	repo, err := git.PlainOpen(dir)
	switch {
	case err == nil:
	case f.Offline:
		return nil, plumbing.ZeroHash, f.offlineMiss(dir, remote, ref)
	default:
		// Missing, or left unusable by an interrupted run: start afresh.
		if rerr := os.RemoveAll(dir); rerr != nil {
			return nil, plumbing.ZeroHash, rerr
		}
		if repo, err = git.PlainInit(dir, true); err != nil {
			return nil, plumbing.ZeroHash, err
		}
	}
	if plumbing.IsHash(ref) && hasCommit(repo, plumbing.NewHash(ref)) {
		return repo, plumbing.NewHash(ref), nil
	}
	if f.Offline {
		if h, ok := localRef(repo, ref); ok {
			return repo, h, nil
		}
		return nil, plumbing.ZeroHash, f.offlineMiss(dir, remote, ref)
	}
	auth, err := f.auth(remote)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{remote}})
	fail := func(err error) (*git.Repository, plumbing.Hash, error) {
		err = redact.Error(err)
		if msg := err.Error(); strings.HasSuffix(msg, ": ") {
			err = errors.New(strings.TrimSuffix(msg, ": ")) // go-git's "repository not found: "
		}
		return nil, plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", redactURL(remote), err)
	}
	if !hashLikeRe.MatchString(ref) {
		refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
		if err != nil {
			return fail(err)
		}
		adv := advertised(refs, ref)
		if adv == nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such tag or branch in %s", ref, redactURL(remote))
		}
		name := adv.Name()
		if repo.Storer.HasEncodedObject(adv.Hash()) == nil {
			// Already here: record where the ref points now.
			if err := repo.Storer.SetReference(plumbing.NewHashReference(name, adv.Hash())); err != nil {
				return nil, plumbing.ZeroHash, err
			}
		} else if err := fetchRefs(ctx, rem, auth, 1, "+"+name.String()+":"+name.String()); err != nil {
			return fail(err)
		}
		if h, err := repo.ResolveRevision(plumbing.Revision(name)); err == nil && hasCommit(repo, *h) {
			return repo, *h, nil
		}
		return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: %s sent no commit for %s", ref, redactURL(remote), name)
	}
	if h, ok := localRef(repo, ref); ok {
		return repo, h, nil
	}
	if plumbing.IsHash(ref) {
		err := fetchRefs(ctx, rem, auth, 1, ref+":refs/pipe/commits/"+ref)
		switch {
		case err == nil && hasCommit(repo, plumbing.NewHash(ref)):
			return repo, plumbing.NewHash(ref), nil
		case err != nil && !canFetchAll(ctx, err):
			return fail(err)
		}
	}
	if shallow, _ := repo.Storer.Shallow(); len(shallow) > 0 {
		repo, err = refetchAll(ctx, dir, remote, auth)
	} else {
		err = fetchAll(ctx, rem, auth)
	}
	if err != nil {
		return fail(err)
	}
	if h, ok := localRef(repo, ref); ok {
		return repo, h, nil
	}
	return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such branch, tag or commit in %s", ref, redactURL(remote))
}

func (f *GoGitFetcher) auth(remote string) (transport.AuthMethod, error) {
	if f.Auth == nil {
		return nil, nil
	}
	return f.Auth(remote)
}

// tagFirst lists the names a ref may have on a remote, in the order git
// fetch matches them.
func tagFirst(ref string) []plumbing.ReferenceName {
	names := []plumbing.ReferenceName{plumbing.NewTagReferenceName(ref), plumbing.NewBranchReferenceName(ref)}
	if strings.HasPrefix(ref, "refs/") {
		names = append([]plumbing.ReferenceName{plumbing.ReferenceName(ref)}, names...)
	}
	return names
}

// advertised finds ref among the remote's references.
func advertised(refs []*plumbing.Reference, ref string) *plumbing.Reference {
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	for _, n := range tagFirst(ref) {
		if r := byName[n]; r != nil && r.Type() == plumbing.HashReference {
			return r
		}
	}
	return nil
}

// localRef resolves ref (a tag, a branch or a commit hash, full or
// abbreviated) in repo, to a commit repo holds with its tree.
func localRef(repo *git.Repository, ref string) (plumbing.Hash, bool) {
	revs := make([]string, 0, 4)
	for _, n := range tagFirst(ref) {
		revs = append(revs, n.String())
	}
	if hashLikeRe.MatchString(ref) {
		revs = append(revs, ref)
	}
	for _, rev := range revs {
		if h, err := repo.ResolveRevision(plumbing.Revision(rev)); err == nil && hasCommit(repo, *h) {
			return *h, true
		}
	}
	return plumbing.ZeroHash, false
}

// hasCommit reports whether repo holds commit h and its root tree.
func hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	c, err := repo.CommitObject(h)
	if err != nil {
		return false
	}
	_, err = c.Tree()
	return err == nil
}

func fetchRefs(ctx context.Context, rem *git.Remote, auth transport.AuthMethod, depth int, specs ...string) error {
	rs := make([]config.RefSpec, len(specs))
	for i, s := range specs {
		rs[i] = config.RefSpec(s)
	}
	err := rem.FetchContext(ctx, &git.FetchOptions{RefSpecs: rs, Depth: depth, Auth: auth, Tags: git.NoTags})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// fetchAll fetches every branch and tag, with their whole history.
func fetchAll(ctx context.Context, rem *git.Remote, auth transport.AuthMethod) error {
	return fetchRefs(ctx, rem, auth, 0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
}

// canFetchAll reports whether a failed fetch of one commit may be followed
// by a fetch of everything: not when the remote cannot be read at all.
func canFetchAll(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	for _, e := range []error{transport.ErrRepositoryNotFound, transport.ErrAuthenticationRequired,
		transport.ErrAuthorizationFailed, transport.ErrEmptyRemoteRepository, transport.ErrInvalidAuthMethod} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// refetchAll replaces the shallow repository dir with a full one, fetched
// beside it and renamed into place.
func refetchAll(ctx context.Context, dir, remote string, auth transport.AuthMethod) (*git.Repository, error) {
	parent, base := filepath.Split(dir)
	fresh, err := os.MkdirTemp(parent, base+".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(fresh)
	repo, err := git.PlainInit(fresh, true)
	if err != nil {
		return nil, err
	}
	if err := fetchAll(ctx, git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{remote}}), auth); err != nil {
		return nil, err
	}
	old, err := os.MkdirTemp(parent, base+".old-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(old)
	if err := os.Rename(dir, filepath.Join(old, "repo")); err != nil {
		return nil, err
	}
	if err := os.Rename(fresh, dir); err != nil {
		return nil, err
	}
	return git.PlainOpen(dir)
}
