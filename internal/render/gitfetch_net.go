package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// gitNetworkTimeout bounds each network operation of a Git fetch (one
// ls-remote, one fetch) unless the caller's context ends earlier.
const gitNetworkTimeout = 10 * time.Minute

// errGitTimeout marks a network operation that ran out of its time.
var errGitTimeout = errors.New("timed out")

// gitSession is the network side of fetching from one remote: its
// credentials, the proxy and the time bound, applied to every operation.
type gitSession struct {
	remote  string
	auth    transport.AuthMethod
	proxy   transport.ProxyOptions
	timeout time.Duration
}

func (f *GoGitFetcher) session(remote string) (*gitSession, error) {
	auth, err := f.auth(remote)
	if err != nil {
		return nil, err
	}
	s := &gitSession{remote: remote, auth: auth, timeout: f.timeout}
	if s.timeout <= 0 {
		s.timeout = gitNetworkTimeout
	}
	if f.ProxyURL != "" && isHTTPRemote(remote) {
		s.proxy = transport.ProxyOptions{URL: f.ProxyURL}
	}
	return s, nil
}

// isHTTPRemote reports whether remote is reached over http(s), which is
// what the proxy carries.
func isHTTPRemote(remote string) bool {
	l := strings.ToLower(remote)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// do runs a network operation within the session's time bound (ctx's
// deadline when it is earlier).
func (s *gitSession) do(ctx context.Context, op func(context.Context) error) error {
	nctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := op(nctx)
	if err != nil && ctx.Err() == nil && errors.Is(nctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: no complete answer within %v (pipe bounds each Git network operation in time)", errGitTimeout, s.timeout)
	}
	return err
}

// list returns the references the remote advertises (git ls-remote).
func (s *gitSession) list(ctx context.Context, rem *git.Remote) ([]*plumbing.Reference, error) {
	var refs []*plumbing.Reference
	err := s.do(ctx, func(ctx context.Context) (err error) {
		refs, err = rem.ListContext(ctx, &git.ListOptions{Auth: s.auth, ProxyOptions: s.proxy})
		return err
	})
	return refs, err
}

// fetch fetches refspecs, depth commits deep (0: all of their history).
func (s *gitSession) fetch(ctx context.Context, rem *git.Remote, depth int, specs ...string) error {
	rs := make([]config.RefSpec, len(specs))
	for i, spec := range specs {
		rs[i] = config.RefSpec(spec)
	}
	err := s.do(ctx, func(ctx context.Context) error {
		return rem.FetchContext(ctx, &git.FetchOptions{RefSpecs: rs, Depth: depth, Auth: s.auth, ProxyOptions: s.proxy, Tags: git.NoTags})
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// fetchAll fetches every branch and tag, with their whole history.
func (s *gitSession) fetchAll(ctx context.Context, rem *git.Remote) error {
	return s.fetch(ctx, rem, 0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
}

// refetchAll replaces the shallow repository dir with a full one, fetched
// beside it and renamed into place.
func (s *gitSession) refetchAll(ctx context.Context, dir string) (*git.Repository, error) {
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
	if err := s.fetchAll(ctx, newOrigin(repo, s.remote)); err != nil {
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

// newOrigin is remote as repo's origin, in memory: nothing about it is
// written to the repository.
func newOrigin(repo *git.Repository, remote string) *git.Remote {
	return git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{remote}})
}

// canFetchAll reports whether a failed fetch of one commit may be followed
// by a fetch of everything: not when the remote cannot be read at all, or
// did not answer in time.
func canFetchAll(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	for _, e := range []error{transport.ErrRepositoryNotFound, transport.ErrAuthenticationRequired,
		transport.ErrAuthorizationFailed, transport.ErrEmptyRemoteRepository, transport.ErrInvalidAuthMethod, errGitTimeout} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}
