package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// sync makes the bare repository dir (created when missing) hold the
// commit ref names, and returns it:
//   - a full commit hash dir already holds is used without the network;
//   - offline, ref resolves from what dir holds, or is a miss naming it;
//   - any other ref is first looked up among the remote's tags and
//     branches (tags first, like git fetch), even when it looks like a
//     hash ("deadbeef", "20240101"), and its commit fetched alone (depth
//     1) unless dir holds it;
//   - a full commit hash is fetched alone (depth 1) when the server
//     allows asking for a commit;
//   - an abbreviated hash that names no tag or branch resolves from what
//     dir holds (two commits sharing it are an error);
//   - else, unless Untrusted, every branch and tag is fetched with its
//     history (a shallow dir is then replaced by a full one: a shallow
//     fetch cannot deepen it).
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
	if isFullHash(ref) && hasCommit(repo, plumbing.NewHash(ref)) {
		return repo, plumbing.NewHash(ref), nil
	}
	if f.Offline {
		h, ok, err := localRef(repo, ref)
		switch {
		case err != nil:
			return nil, plumbing.ZeroHash, fmt.Errorf("ref %q in the download cache of %s: %w", ref, redactURL(remote), err)
		case ok:
			return repo, h, nil
		}
		return nil, plumbing.ZeroHash, f.offlineMiss(dir, remote, ref)
	}
	s, err := f.session(remote)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	rem := newOrigin(repo, remote)
	fail := func(err error) (*git.Repository, plumbing.Hash, error) {
		err = redact.Error(err)
		if msg := err.Error(); strings.HasSuffix(msg, ": ") {
			err = errors.New(strings.TrimSuffix(msg, ": ")) // go-git's "repository not found: "
		}
		return nil, plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", redactURL(remote), err)
	}
	if !isFullHash(ref) {
		refs, err := f.listRefs(ctx, s, rem, remote)
		if err != nil {
			return fail(err)
		}
		if adv := advertised(refs, ref); adv != nil {
			name := adv.Name()
			fetched := false
			if repo.Storer.HasEncodedObject(adv.Hash()) == nil {
				// Already here: record where the ref points now.
				if err := repo.Storer.SetReference(plumbing.NewHashReference(name, adv.Hash())); err != nil {
					return nil, plumbing.ZeroHash, err
				}
			} else if err := s.fetch(ctx, rem, 1, "+"+name.String()+":"+name.String()); err != nil {
				return fail(err)
			} else {
				fetched = true
			}
			if h, err := repo.ResolveRevision(plumbing.Revision(name)); err == nil && hasCommit(repo, *h) {
				if fetched && *h != adv.Hash() {
					// Fetched by name, the ref may have moved since it was
					// listed: the run's later calls take it where it was
					// fetched (already here), not where it is then.
					f.relist(remote, plumbing.NewHashReference(name, *h))
				}
				return repo, *h, nil
			}
			return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: %s sent no commit for %s", ref, redactURL(remote), name)
		}
		if !abbreviated(ref) {
			also := ""
			if hashLikeRe().MatchString(ref) {
				also = " (nor a commit hash: pipe reads SHA-1 repositories, whose commit hashes are 40 hex digits)"
			}
			return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such tag or branch in %s%s", ref, redactURL(remote), also)
		}
		if h, ok, err := abbrevCommit(repo, ref); err != nil || ok {
			if err != nil {
				return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such tag or branch in %s, and %w", ref, redactURL(remote), err)
			}
			return repo, h, nil
		}
		if f.Untrusted {
			return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such tag or branch in %s, and no commit known here starts with it: "+
				"on a pull request's plan pipe does not fetch every branch and tag of a repository to find an abbreviated commit hash: "+
				"give the full commit hash (40 hex digits), a tag or a branch", ref, redactURL(remote))
		}
	} else {
		err := s.fetch(ctx, rem, 1, ref+":refs/pipe/commits/"+ref)
		switch {
		case err == nil && hasCommit(repo, plumbing.NewHash(ref)):
			return repo, plumbing.NewHash(ref), nil
		case err != nil && !canFetchAll(ctx, err):
			return fail(err)
		case f.Untrusted:
			why := "it sent no such commit"
			if err != nil {
				why = "asked for it by hash, it answered: " + redact.Error(err).Error()
			}
			return nil, plumbing.ZeroHash, fmt.Errorf("commit %s: %s did not send it (%s), and on a pull request's plan pipe does not fetch every branch and tag of a repository to find a commit: "+
				"check the hash, or give a tag or a branch (servers such as GitHub and GitLab send a commit by hash; git http-backend needs uploadpack.allowReachableSHA1InWant)",
				ref, redactURL(remote), why)
		}
	}
	if shallow, _ := repo.Storer.Shallow(); len(shallow) > 0 {
		repo, err = s.refetchAll(ctx, dir)
	} else {
		err = s.fetchAll(ctx, rem)
	}
	if err != nil {
		return fail(err)
	}
	h, ok, err := plumbing.ZeroHash, false, error(nil)
	if isFullHash(ref) {
		h, ok = plumbing.NewHash(ref), hasCommit(repo, plumbing.NewHash(ref))
	} else {
		h, ok, err = abbrevCommit(repo, ref)
	}
	switch {
	case err != nil:
		return nil, plumbing.ZeroHash, fmt.Errorf("ref %q in %s: %w", ref, redactURL(remote), err)
	case !ok:
		return nil, plumbing.ZeroHash, fmt.Errorf("ref %q: no such branch, tag or commit in %s", ref, redactURL(remote))
	}
	return repo, h, nil
}

// listRefs returns the refs remote advertises: listed on the first call
// of the fetcher, remembered for the others (with the commits of refs
// fetched by name since, see relist).
func (f *GoGitFetcher) listRefs(ctx context.Context, s *gitSession, rem *git.Remote, remote string) ([]*plumbing.Reference, error) {
	f.memoMu.Lock()
	refs, ok := f.lists[remote]
	f.memoMu.Unlock()
	if ok {
		return refs, nil
	}
	refs, err := s.list(ctx, rem)
	if err != nil {
		return nil, err
	}
	f.memoMu.Lock()
	if f.lists == nil {
		f.lists = map[string][]*plumbing.Reference{}
	}
	f.lists[remote] = refs
	f.memoMu.Unlock()
	return refs, nil
}

// relist replaces, in the refs remembered for remote, the one named like
// ref by ref.
func (f *GoGitFetcher) relist(remote string, ref *plumbing.Reference) {
	f.memoMu.Lock()
	defer f.memoMu.Unlock()
	old := f.lists[remote]
	refs := make([]*plumbing.Reference, len(old))
	for i, r := range old {
		if r.Name() == ref.Name() {
			r = ref
		}
		refs[i] = r
	}
	f.lists[remote] = refs
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
